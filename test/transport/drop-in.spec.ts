/**
 * tolerant-ws next to the published `@libp2p/websockets` 10, in real libp2p 3
 * nodes (noise + yamux): each dials and pings the other, over ws and wss; and
 * the Promise.all start-up race of js-libp2p#2902.
 */
import { webSockets as referenceWebSockets } from '@libp2p/websockets'
import { assert, expect } from 'chai'
import { pEvent } from 'p-event'
import { webSockets } from '../../src/index.js'
import { selfSignedCertificate } from '../fixtures/certificate.js'
import { createNode } from '../fixtures/nodes.js'
import type { Certificate } from '../fixtures/certificate.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { Listener } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

describe('drop-in for @libp2p/websockets', function () {
  this.timeout(20_000)
  const nodes: TestNode[] = []
  let https: Certificate

  before(async () => {
    https = await selfSignedCertificate()
  })

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async node => node.stop()))
  })

  async function node (transport: any, listen: string[] = []): Promise<TestNode> {
    const n = await createNode({ transports: [transport], addresses: { listen } })
    nodes.push(n)
    return n
  }

  function addrOf (n: TestNode, suffix: RegExp): Multiaddr {
    const addr = n.getMultiaddrs().find(ma => suffix.test(ma.toString()))
    assert.exists(addr, `an address matching ${suffix} in ${n.getMultiaddrs().join(', ')}`)
    return addr as Multiaddr
  }

  it('ours dials and pings the reference over /ws', async () => {
    const listener = await node(referenceWebSockets(), ['/ip4/127.0.0.1/tcp/0/ws'])
    const dialer = await node(webSockets())
    expect(await dialer.services.ping.ping(addrOf(listener, /\/ws\/p2p\//))).to.be.a('number')
  })

  it('the reference dials and pings ours over /ws', async () => {
    const listener = await node(webSockets(), ['/ip4/127.0.0.1/tcp/0/ws'])
    const dialer = await node(referenceWebSockets())
    expect(await dialer.services.ping.ping(addrOf(listener, /\/ws\/p2p\//))).to.be.a('number')
  })

  it('ours dials and pings the reference over /tls/ws', async () => {
    const listener = await node(referenceWebSockets({ https }), ['/ip4/127.0.0.1/tcp/0/tls/ws'])
    const dialer = await node(webSockets({ websocket: { ca: https.cert } }))
    expect(await dialer.services.ping.ping(addrOf(listener, /\/tls\/ws\/p2p\//))).to.be.a('number')
  })

  it('the reference dials and pings ours over /tls/ws', async () => {
    const listener = await node(webSockets({ https }), ['/ip4/127.0.0.1/tcp/0/tls/ws'])
    const dialer = await node(referenceWebSockets())
    // the reference dials with the global WebSocket, which takes no CA option
    const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'

    try {
      expect(await dialer.services.ping.ping(addrOf(listener, /\/tls\/ws\/p2p\//))).to.be.a('number')
    } finally {
      if (previous == null) {
        delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
      } else {
        process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous
      }
    }
  })
})

describe('the start-up race of js-libp2p#2902', function () {
  this.timeout(20_000)
  let node: TestNode | undefined

  afterEach(async () => {
    await node?.stop()
  })

  it('a component reading addresses in afterStart before the bind gets [], and transport:listening brings the real one', async () => {
    const seen: { listeners?: number, addrs?: Multiaddr[] } = {}
    let listening: Promise<unknown> | undefined

    node = await createNode({
      start: false,
      services: {
        probe: (components: any) => ({
          start () {
            listening = pEvent(components.events, 'transport:listening')
          },
          afterStart () {
            // runs in the same Promise.all as the transport manager's afterStart
            seen.listeners = components.transportManager.getListeners().length
            seen.addrs = components.transportManager.getAddrs()
          },
          stop () {},
          [Symbol.toStringTag]: 'probe'
        })
      } as any
    })

    await node.start()
    expect(seen.listeners).to.equal(1, 'the listener exists but is still binding')
    expect(seen.addrs).to.deep.equal([])

    const evt = await listening
    const addrs = (evt as CustomEvent<Listener>).detail.getAddrs().map(String)
    expect(addrs).to.have.lengthOf(1)
    expect(addrs[0]).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/[1-9]\d*\/ws$/)
  })
})
