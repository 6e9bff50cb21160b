/**
 * ROBUSTNESS 3: clients complete the WebSocket upgrade and then never send a
 * libp2p byte. The real libp2p 3 upgrader (noise + yamux) bounds that with its
 * inbound upgrade timeout; the listener must then destroy the socket at once.
 */
import { assert, expect } from 'chai'
import { webSockets } from '../../src/index.js'
import { LOOPBACK_ALLOW, createNode } from '../fixtures/nodes.js'
import { eventually } from './fixtures/bench.js'
import { RawPeer } from './fixtures/net.js'
import type { TestNode } from '../fixtures/nodes.js'

describe('ROBUSTNESS 3. stalled after 101', function () {
  this.timeout(30_000)
  const nodes: TestNode[] = []
  const peers: RawPeer[] = []

  afterEach(async () => {
    peers.splice(0).forEach(peer => { peer.destroy() })
    await Promise.all(nodes.splice(0).map(async node => node.stop()))
  })

  it('aborts each stalled upgrade at the inbound upgrade timeout, fires its signal once, destroys the socket, still serves', async () => {
    const INBOUND_UPGRADE_TIMEOUT_MS = 600
    const STALLED = 20
    const node = await createNode({
      transports: [webSockets({ handshakeTimeout: 5000 })],
      connectionManager: { allow: LOOPBACK_ALLOW, inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS }
    })
    nodes.push(node)
    const dialer = await createNode({ addresses: { listen: [] } })
    nodes.push(dialer)

    // watch the signal the real upgrader derives for every inbound upgrade
    const components = (node as any).components
    const upgrader = components.upgrader
    const signals: AbortSignal[] = []
    const aborts: number[] = []
    const createInboundAbortSignal = upgrader.createInboundAbortSignal.bind(upgrader)
    upgrader.createInboundAbortSignal = (signal: AbortSignal) => {
      const derived = createInboundAbortSignal(signal)
      const index = signals.push(derived) - 1
      aborts.push(0)
      derived.addEventListener('abort', () => { aborts[index]++ })
      return derived
    }
    const listener = components.transportManager.getListeners()[0]
    const addr = node.getMultiaddrs().find(ma => ma.toString().includes('/ws'))
    assert.exists(addr)

    const stalled = await Promise.all(Array.from({ length: STALLED }, async () => RawPeer.upgraded(addr!, peers)))

    // a real dial + noise + yamux upgrade completes meanwhile
    const start = Date.now()
    await dialer.dial(addr!)
    const servedInMs = Date.now() - start

    const closedAfter = await Promise.all(stalled.map(async peer => peer.closedWithin(INBOUND_UPGRADE_TIMEOUT_MS + 1000)))

    expect(servedInMs, 'a real dial during the attack').to.be.lessThan(1000)
    expect(closedAfter.filter(ms => ms == null), 'stalled sockets still open').to.have.lengthOf(0)
    expect(Math.min(...closedAfter as number[]), 'closed before the timeout').to.be.at.least(INBOUND_UPGRADE_TIMEOUT_MS - 50)
    expect(Math.max(...closedAfter as number[])).to.be.lessThan(INBOUND_UPGRADE_TIMEOUT_MS + 500)
    // STALLED stalled upgrades plus the one real dial
    expect(signals).to.have.lengthOf(STALLED + 1)
    expect(aborts.filter(count => count === 1), 'signals fired exactly once').to.have.lengthOf(STALLED)
    expect(aborts.filter(count => count > 1), 'signals fired more than once').to.have.lengthOf(0)
    // only the real connection is left
    expect(await eventually(() => listener.socketCount === 1, 1000)).to.equal(true)
  })
})
