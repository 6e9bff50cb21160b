import tls from 'node:tls'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { pEvent } from 'p-event'
import { webSockets } from '../../src/index.js'
import { remoteMultiaddr } from '../../src/transport/listener.js'
import { selfSignedCertificate } from '../fixtures/certificate.js'
import { closed, hostPort, rawSocket, upgradedSocket, upgradeRequest } from '../fixtures/sockets.js'
import { components, stubUpgrader } from '../fixtures/upgrader.js'
import type { WebSocketsInit } from '../../src/index.js'
import type { StubUpgrader } from '../fixtures/upgrader.js'
import type { Listener } from '@libp2p/interface'
import type net from 'node:net'

const LOCAL_WS = multiaddr('/ip4/127.0.0.1/tcp/0/ws')

describe('WebSocketListener', function () {
  this.timeout(10_000)

  let listeners: Listener[]
  let sockets: net.Socket[]
  let upgrader: StubUpgrader

  function createListener (init: WebSocketsInit = {}, up: StubUpgrader = upgrader, comps = components()): Listener {
    const listener = webSockets(init)(comps).createListener({ upgrader: up })
    listeners.push(listener)
    return listener
  }

  beforeEach(() => {
    listeners = []
    sockets = []
    upgrader = stubUpgrader()
  })

  afterEach(async () => {
    sockets.forEach(socket => socket.destroy())
    await Promise.all(listeners.map(async listener => listener.close()))
  })

  describe('#getAddrs', () => {
    it('returns [] before listen()', () => {
      expect(createListener().getAddrs()).to.deep.equal([])
    })

    it('returns [] synchronously after listen() is called, before the bind completes', async () => {
      const listener = createListener()
      const listening = listener.listen(LOCAL_WS)
      expect(listener.getAddrs()).to.deep.equal([])
      await listening
      expect(listener.getAddrs()).to.have.lengthOf(1)
    })

    it('returns [] after a failed listen() that rejected with ListenError (EADDRINUSE)', async () => {
      const first = createListener()
      await first.listen(LOCAL_WS)
      const taken = first.getAddrs()[0]

      const second = createListener()
      const err = await second.listen(taken).then(() => undefined, (err: Error) => err)
      expect(err?.name).to.equal('ListenError')
      expect((err?.cause as any)?.code).to.equal('EADDRINUSE')
      expect(second.getAddrs()).to.deep.equal([])
    })

    it('returns [] after close()', async () => {
      const listener = createListener()
      await listener.listen(LOCAL_WS)
      await listener.close()
      expect(listener.getAddrs()).to.deep.equal([])
    })

    it('has the bound address readable when listening is dispatched', async () => {
      const listener = createListener()
      let seen: string[] = []
      listener.addEventListener('listening', () => {
        seen = listener.getAddrs().map(String)
      })
      await listener.listen(LOCAL_WS)
      expect(seen).to.have.lengthOf(1)
      expect(seen[0]).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/[1-9]\d*\/ws$/)
    })

    it('resolves port 0 and strips /p2p from the listen address', async () => {
      const listener = createListener()
      await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0/ws/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'))
      const [addr] = listener.getAddrs()
      expect(addr.toString()).to.not.include('/p2p')
      expect(hostPort(addr).port).to.be.greaterThan(0)
    })

    it('expands 0.0.0.0 to interface addresses, skipping link-local', async () => {
      const listener = createListener()
      await listener.listen(multiaddr('/ip4/0.0.0.0/tcp/0/ws'))
      const addrs = listener.getAddrs().map(String)
      expect(addrs).to.include(`/ip4/127.0.0.1/tcp/${hostPort(listener.getAddrs()[0]).port}/ws`)
      expect(addrs.every(a => !a.includes('/0.0.0.0/') && !a.includes('/169.254.'))).to.equal(true)
    })

    it('listens on /ip4/0.0.0.0 and /ip6/:: on the same port', async function () {
      const v4 = createListener()
      await v4.listen(multiaddr('/ip4/0.0.0.0/tcp/0/ws'))
      const port = hostPort(v4.getAddrs()[0]).port
      const v6 = createListener()

      try {
        await v6.listen(multiaddr(`/ip6/::/tcp/${port}/ws`))
      } catch (err: any) {
        if (err.cause?.code === 'EADDRNOTAVAIL' || err.cause?.code === 'EAFNOSUPPORT') {
          this.skip() // no IPv6 on this host
        }
        throw err
      }

      expect(v6.getAddrs().every(ma => ma.toString().startsWith('/ip6/'))).to.equal(true)
      expect(v6.getAddrs().every(ma => hostPort(ma).port === port)).to.equal(true)
    })

    it('listens on [::1], reports an ip6 address and an ip6 remote address for inbound connections', async () => {
      const listener = createListener()
      await listener.listen(multiaddr('/ip6/::1/tcp/0/ws'))
      expect(listener.getAddrs()[0].toString()).to.match(/^\/ip6\/::1\/tcp\/\d+\/ws$/)

      const inbound = upgrader.nextInbound()
      const outbound = await webSockets()(components()).dial(listener.getAddrs()[0], { upgrader, signal: AbortSignal.timeout(5000) }) as any
      const remote = await inbound
      expect(remote.remoteAddr.toString()).to.match(/^\/ip6\/::1\/tcp\/\d+\/ws$/)
      outbound.abort(new Error('done'))
    })

    it('listens on a dns4 name and reports it', async () => {
      const listener = createListener()
      await listener.listen(multiaddr('/dns4/localhost/tcp/0/ws'))
      expect(listener.getAddrs()[0].toString()).to.match(/^\/dns4\/localhost\/tcp\/\d+\/ws$/)
    })

    it('reports /tls/ws for a secure listener, given as /wss or /tls/ws', async () => {
      const https = await selfSignedCertificate()

      for (const addr of ['/ip4/127.0.0.1/tcp/0/wss', '/ip4/127.0.0.1/tcp/0/tls/ws']) {
        const listener = createListener({ https })
        await listener.listen(multiaddr(addr))
        expect(listener.getAddrs()[0].toString()).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/ws$/)
      }
    })

    it('refuses a secure listen address without a certificate', async () => {
      const err = await createListener().listen(multiaddr('/ip4/127.0.0.1/tcp/0/tls/ws')).catch((err: Error) => err)
      expect(err?.name).to.equal('InvalidParametersError')
    })
  })

  describe('#close', () => {
    it('dispatches close once for two concurrent close() calls', async () => {
      const listener = createListener()
      await listener.listen(LOCAL_WS)
      let closes = 0
      listener.addEventListener('close', () => { closes++ })
      await Promise.all([listener.close(), listener.close()])
      await listener.close()
      expect(closes).to.equal(1)
    })

    it('is safe before listen()', async () => {
      const listener = createListener()
      await listener.close()
      expect(listener.getAddrs()).to.deep.equal([])
    })

    it('resolves promptly while a client never sends a byte', async () => {
      const listener = createListener()
      await listener.listen(LOCAL_WS)
      const silent = await rawSocket(listener.getAddrs()[0], sockets)
      const start = Date.now()
      await listener.close()
      expect(Date.now() - start).to.be.lessThan(1000)
      await closed(silent)
    })

    it('resolves mid-upgrade and aborts the upgrade signal', async () => {
      const hanging = stubUpgrader({ hang: true })
      const listener = createListener({}, hanging)
      await listener.listen(LOCAL_WS)
      const next = hanging.nextInbound()
      const { socket } = await upgradedSocket(listener.getAddrs()[0], sockets)
      await next
      await listener.close()
      expect(hanging.inboundSignals[0].aborted).to.equal(true)
      await closed(socket)
    })

    it('frees the port so a new listener can bind it', async () => {
      const listener = createListener()
      await listener.listen(LOCAL_WS)
      const addr = listener.getAddrs()[0]
      await listener.close()
      const again = createListener()
      await again.listen(addr)
      expect(again.getAddrs()[0].toString()).to.equal(addr.toString())
    })

    it('closes while listen() is still binding and leaves nothing bound', async () => {
      const listener = createListener()
      const listening = listener.listen(LOCAL_WS)
      await listener.close()
      await listening
      expect(listener.getAddrs()).to.deep.equal([])
    })
  })

  describe('events', () => {
    it('dispatches error for a server error after listening', async () => {
      const listener = createListener()
      await listener.listen(LOCAL_WS)
      const error = pEvent(listener, 'error')
      ;(listener as any).server.emit('error', new Error('boom'))
      expect((await error as CustomEvent<Error>).detail.message).to.equal('boom')
    })
  })

  describe('handshake timeout', () => {
    it('destroys a socket that never sends a byte', async () => {
      const listener = createListener({ handshakeTimeout: 200 })
      await listener.listen(LOCAL_WS)
      const socket = await rawSocket(listener.getAddrs()[0], sockets)
      const took = await closed(socket)
      expect(took).to.be.within(100, 1000)
    })

    it('is not reset by a client dripping one header byte at a time', async () => {
      const listener = createListener({ handshakeTimeout: 300 })
      await listener.listen(LOCAL_WS)
      const socket = await rawSocket(listener.getAddrs()[0], sockets)
      const request = upgradeRequest('127.0.0.1', 1)
      let i = 0
      const drip = setInterval(() => { socket.write(request[i++ % request.length]) }, 20)

      try {
        const took = await closed(socket)
        expect(took).to.be.within(200, 1000)
      } finally {
        clearInterval(drip)
      }
    })

    it('is disarmed once the WebSocket upgrade completes', async () => {
      const listener = createListener({ handshakeTimeout: 200 })
      await listener.listen(LOCAL_WS)
      const { socket } = await upgradedSocket(listener.getAddrs()[0], sockets)
      await new Promise(resolve => setTimeout(resolve, 400))
      expect(socket.destroyed).to.equal(false)
    })
  })

  describe('limits', () => {
    it('drops sockets past maxConnections before reading them', async () => {
      const listener = createListener({ maxConnections: 2 })
      await listener.listen(LOCAL_WS)
      const addr = listener.getAddrs()[0]
      const kept = [await rawSocket(addr, sockets), await rawSocket(addr, sockets)]
      const dropped = await rawSocket(addr, sockets)
      await closed(dropped)
      expect(kept.every(s => !s.destroyed)).to.equal(true)
    })

    it('pauses above closeAbove and listens again below listenBelow', async () => {
      const listener = createListener({ closeServerOnMaxConnections: { closeAbove: 2, listenBelow: 1 } })
      await listener.listen(LOCAL_WS)
      const addr = listener.getAddrs()[0]
      const { port } = hostPort(addr)
      const first = await rawSocket(addr, sockets)
      await rawSocket(addr, sockets)
      await new Promise(resolve => setTimeout(resolve, 50))

      const refused = await rawSocket(addr).then(s => { s.destroy(); return false }, (err: any) => err.code === 'ECONNREFUSED')
      expect(refused).to.equal(true)
      expect(listener.getAddrs()).to.have.lengthOf(1)

      sockets.forEach(s => s.destroy())
      await closed(first)
      const deadline = Date.now() + 2000
      let accepted = false
      while (!accepted && Date.now() < deadline) {
        accepted = await rawSocket(multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws`), sockets).then(() => true, () => false)
        if (!accepted) { await new Promise(resolve => setTimeout(resolve, 20)) }
      }
      expect(accepted).to.equal(true)
    })
  })

  describe('auto-TLS', () => {
    it('serves /tls/ws on the same port after certificate:provision and dispatches listening again', async () => {
      const comps = components()
      const listener = createListener({}, upgrader, comps)
      await listener.listen(LOCAL_WS)
      expect(listener.getAddrs().map(String).some(a => a.includes('/tls/ws'))).to.equal(false)

      const listening = pEvent(listener, 'listening')
      comps.events.safeDispatchEvent('certificate:provision', { detail: await selfSignedCertificate() })
      await listening

      const addrs = listener.getAddrs().map(String)
      expect(addrs).to.have.lengthOf(2)
      const plain = addrs.find(a => a.endsWith('/ws') && !a.includes('/tls'))
      const secure = addrs.find(a => a.endsWith('/tls/ws'))
      expect(hostPort(multiaddr(plain)).port).to.equal(hostPort(multiaddr(secure)).port)
    })

    it('accepts TLS and plaintext WebSocket upgrades on the one port after certificate:provision', async () => {
      const comps = components()
      const listener = createListener({}, upgrader, comps)
      await listener.listen(LOCAL_WS)
      const certificate = await selfSignedCertificate()
      comps.events.safeDispatchEvent('certificate:provision', { detail: certificate })

      const dialer = webSockets({ websocket: { ca: certificate.cert } })(components())
      const addrs = listener.getAddrs()

      for (const addr of addrs) {
        const inbound = upgrader.nextInbound()
        const outbound = await dialer.dial(addr, { upgrader, signal: AbortSignal.timeout(5000) }) as any
        const remote = await inbound
        expect(remote.remoteAddr.toString().endsWith('/tls/ws')).to.equal(addr.toString().endsWith('/tls/ws'))
        outbound.abort(new Error('done'))
      }

      expect(addrs).to.have.lengthOf(2)
    })

    it('serves the renewed certificate after certificate:renew', async () => {
      const comps = components()
      const https = await selfSignedCertificate('first.example')
      const listener = createListener({ https }, upgrader, comps)
      await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0/tls/ws'))
      const { port } = hostPort(listener.getAddrs()[0])
      const peerCertificateName = async (): Promise<string | undefined> => new Promise((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          resolve(socket.getPeerCertificate().subject?.CN as string | undefined)
          socket.destroy()
        })
        socket.on('error', reject)
      })

      expect(await peerCertificateName()).to.equal('first.example')
      comps.events.safeDispatchEvent('certificate:renew', { detail: await selfSignedCertificate('second.example') })
      expect(await peerCertificateName()).to.equal('second.example')
    })

    it('removes its certificate listeners on close()', async () => {
      const comps = components()
      const listener = createListener({}, upgrader, comps)
      await listener.listen(LOCAL_WS)
      expect(comps.events.listenerCount('certificate:provision')).to.equal(1)
      expect(comps.events.listenerCount('certificate:renew')).to.equal(1)
      await listener.close()
      expect(comps.events.listenerCount('certificate:provision')).to.equal(0)
      expect(comps.events.listenerCount('certificate:renew')).to.equal(0)
    })
  })
})

describe('remoteMultiaddr', () => {
  const cases: Array<[family: string, address: string, secure: boolean, expected: string]> = [
    ['IPv4', '127.0.0.1', false, '/ip4/127.0.0.1/tcp/40123/ws'],
    ['IPv4', '10.1.2.3', true, '/ip4/10.1.2.3/tcp/40123/tls/ws'],
    ['IPv6', '::1', false, '/ip6/::1/tcp/40123/ws'],
    ['IPv6', '2001:DB8:0:0:0:0:0:1', true, '/ip6/2001:DB8:0:0:0:0:0:1/tcp/40123/tls/ws'],
    ['IPv6', '::ffff:127.0.0.1', false, '/ip6/::ffff:127.0.0.1/tcp/40123/ws']
  ]

  for (const [family, address, secure, expected] of cases) {
    it(`builds the same address as parsing ${expected}`, () => {
      const built = remoteMultiaddr(family, address, 40123, secure)
      const parsed = multiaddr(expected)

      expect(built.toString()).to.equal(parsed.toString())
      expect(built.bytes).to.deep.equal(parsed.bytes)
      expect(built.equals(parsed)).to.equal(true)
    })
  }

  it('shares no mutable state between addresses', () => {
    const a = remoteMultiaddr('IPv4', '127.0.0.1', 1, true)
    a.getComponents()[2].name = 'changed'
    expect(remoteMultiaddr('IPv4', '127.0.0.2', 2, true).toString()).to.equal('/ip4/127.0.0.2/tcp/2/tls/ws')
    expect(a.toString()).to.equal('/ip4/127.0.0.1/tcp/1/tls/ws')
  })
})
