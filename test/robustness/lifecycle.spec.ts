/**
 * ROBUSTNESS 17–19: close under load, close/abort races, connection limits.
 * Close under load runs at full size here; the races with 200 connections
 * (500 in full-scale.slow.ts).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { Bench, eventually } from './fixtures/bench.js'
import { OPCODE, closePayload, frame, parseFrames } from './fixtures/frames.js'
import { RawPeer, hostPort, sleep, upgradeRequest } from './fixtures/net.js'
import { prng } from './fixtures/transfer.js'
import { recordingUpgrader } from './fixtures/upgrader.js'
import type { MultiaddrConnection } from '@libp2p/interface'

export interface CloseUnderLoad {
  closeMs: number
  closeEvents: number
  openOutbound: number
  openRawPeers: number
  inFlightSignalsAborted: number
  addrsAfter: number
  rebound: boolean
}

/** ROBUSTNESS 17 */
export async function closeUnderLoad (bench: Bench, n = { upgraded: 100, inFlight: 50, silent: 50, slowloris: 50 }): Promise<CloseUnderLoad> {
  const upgrader = recordingUpgrader({ inbound: 'pass' })
  const listening = await bench.listen({ handshakeTimeout: 60_000 }, upgrader)
  const transport = bench.transport()
  const outbound: MultiaddrConnection[] = []

  for (let i = 0; i < n.upgraded; i += 25) {
    outbound.push(...await Promise.all(Array.from({ length: Math.min(25, n.upgraded - i) }, async () => bench.dial(transport, listening.addr, recordingUpgrader()))))
  }

  upgrader.inboundMode = 'hang'
  const inFlight = await Promise.all(Array.from({ length: n.inFlight }, async () => RawPeer.upgraded(listening.addr, bench.peers)))
  const silent = await Promise.all(Array.from({ length: n.silent }, async () => RawPeer.connect(listening.addr, bench.peers)))
  const slow = await Promise.all(Array.from({ length: n.slowloris }, async () => RawPeer.connect(listening.addr, bench.peers)))
  slow.forEach(peer => peer.socket.write('GET / HTTP/1.1\r\nHost: x\r\n'))
  const drip = setInterval(() => { slow.forEach(peer => { if (!peer.socket.destroyed) peer.socket.write('a') }) }, 50)

  try {
    const total = n.upgraded + n.inFlight + n.silent + n.slowloris
    expect(await eventually(() => listening.socketCount() === total, 5000), `tracked ${listening.socketCount()}/${total}`).to.equal(true)
    await sleep(100)

    let closeEvents = 0
    listening.listener.addEventListener('close', () => { closeEvents++ })
    const start = Date.now()
    await Promise.all([listening.listener.close(), listening.listener.close()])
    const closeMs = Date.now() - start

    const rawPeers = [...inFlight, ...silent, ...slow]
    await Promise.all(rawPeers.map(async peer => peer.closedWithin(1000)))
    await eventually(() => outbound.every(conn => conn.status !== 'open'), 1000)
    const port = hostPort(listening.addr).port
    const again = bench.transport().createListener({ upgrader: recordingUpgrader() })
    bench.defer(async () => again.close())
    const rebound = await again.listen(multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws`)).then(() => true, () => false)

    return {
      closeMs,
      closeEvents,
      openOutbound: outbound.filter(conn => conn.status === 'open').length,
      openRawPeers: rawPeers.filter(peer => !peer.closed).length,
      inFlightSignalsAborted: upgrader.inboundSignals.slice(n.upgraded).filter(signal => signal.aborted).length,
      addrsAfter: listening.listener.getAddrs().length,
      rebound
    }
  } finally {
    clearInterval(drip)
  }
}

export interface CloseRaces {
  connections: number
  closeEventCounts: Record<string, number>
  slowestCloseMs: number
  rawStillOpen: number
  silentClosedAfterMs: number[]
  abortedAfterCloseMs: number[]
  listenerSockets: number
}

/**
 * ROBUSTNESS 18: half the connections are ours on both sides, half have a raw
 * remote; each gets one random mix of close(), abort(), FIN, RST, a Close
 * frame, or silence.
 */
export async function closeRaces (bench: Bench, connections: number, seed: number, closeTimeoutMs = 500): Promise<CloseRaces> {
  const random = prng(seed)
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]
  const upgrader = recordingUpgrader()
  const listening = await bench.listen({ closeTimeout: closeTimeoutMs }, upgrader)
  const transport = bench.transport({ closeTimeout: closeTimeoutMs })
  const counts = new Map<MultiaddrConnection, number>()
  const watch = (conn: MultiaddrConnection): void => {
    counts.set(conn, 0)
    conn.addEventListener('close', () => { counts.set(conn, (counts.get(conn) ?? 0) + 1) })
  }
  const actions: Array<Promise<number>> = []
  const silentClosedAfterMs: number[] = []
  const abortedAfterCloseMs: number[] = []
  const rawPeers: RawPeer[] = []

  const closedWhen = async (conn: MultiaddrConnection): Promise<number> => {
    const start = Date.now()
    await eventually(() => (counts.get(conn) ?? 0) > 0, closeTimeoutMs + 5000, 5)
    return Date.now() - start
  }

  const ourPairs = Math.ceil(connections / 2)

  for (let i = 0; i < ourPairs; i++) {
    const next = upgrader.nextInbound()
    const outbound = await bench.dial(transport, listening.addr, recordingUpgrader())
    const inbound = await next
    watch(outbound)
    watch(inbound)
    const [a, b] = random() < 0.5 ? [outbound, inbound] : [inbound, outbound]
    const action = pick(['close', 'abort', 'both close', 'close then abort', 'abort and remote close', 'abort both'])
    const error = new Error(`race ${action}`)

    switch (action) {
      case 'close': a.close().catch(() => {}); break
      case 'abort': a.abort(error); break
      case 'both close': a.close().catch(() => {}); b.close().catch(() => {}); break
      case 'close then abort': a.close().catch(() => {}); setTimeout(() => { a.abort(error) }, Math.floor(random() * 5)); break
      case 'abort and remote close': a.abort(error); b.close().catch(() => {}); break
      case 'abort both': a.abort(error); b.abort(error); break
    }

    actions.push(closedWhen(a), closedWhen(b))
  }

  for (let i = ourPairs; i < connections; i++) {
    const next = upgrader.nextInbound()
    const peer = await RawPeer.upgraded(listening.addr, bench.peers)
    rawPeers.push(peer)
    const inbound = await next
    watch(inbound)
    const action = pick(['RST', 'FIN', 'Close frame', 'silent while we close', 'silent, close then abort'])

    switch (action) {
      case 'RST': peer.socket.resetAndDestroy(); break
      case 'FIN': peer.socket.end(); break
      case 'Close frame': peer.socket.write(frame(OPCODE.CLOSE, closePayload(1000))); break
      case 'silent while we close': {
        const start = Date.now()
        inbound.close().catch(() => {})
        actions.push(peer.closedWithin(closeTimeoutMs + 5000).then(() => {
          silentClosedAfterMs.push(Date.now() - start)
          return Date.now() - start
        }))
        break
      }
      case 'silent, close then abort': {
        inbound.close().catch(() => {})
        const abortIn = 20 + Math.floor(random() * 50)
        setTimeout(() => {
          const start = Date.now()
          inbound.abort(new Error('gave up waiting for the Close frame'))
          actions.push(peer.closedWithin(closeTimeoutMs + 5000).then(() => {
            abortedAfterCloseMs.push(Date.now() - start)
            return Date.now() - start
          }))
        }, abortIn)
        break
      }
    }

    actions.push(closedWhen(inbound))
  }

  let slowestCloseMs = 0
  // actions pushed by timers land a little later
  await sleep(100)
  for (const ms of await Promise.all(actions)) {
    slowestCloseMs = Math.max(slowestCloseMs, ms)
  }

  await Promise.all(rawPeers.map(async peer => peer.closedWithin(closeTimeoutMs + 2000)))
  await eventually(() => listening.socketCount() === 0, closeTimeoutMs + 2000)
  // late duplicate close events would show up here
  await sleep(100)

  const closeEventCounts: Record<string, number> = {}
  for (const count of counts.values()) {
    closeEventCounts[count] = (closeEventCounts[count] ?? 0) + 1
  }

  return {
    connections,
    closeEventCounts,
    slowestCloseMs,
    rawStillOpen: rawPeers.filter(peer => !peer.closed).length,
    silentClosedAfterMs,
    abortedAfterCloseMs,
    listenerSockets: listening.socketCount()
  }
}

describe('ROBUSTNESS lifecycle and limits', function () {
  this.timeout(60_000)
  let bench: Bench

  beforeEach(() => { bench = new Bench() })
  afterEach(async () => { await bench.release() })

  describe('17. close under load', () => {
    it('with 100 upgraded, 50 mid-upgrade, 50 silent and 50 slowloris sockets, two concurrent close() resolve in < 1 s and close once', async () => {
      const result = await closeUnderLoad(bench)
      console.log(`      ${JSON.stringify(result)}`)

      expect(result.closeMs).to.be.lessThan(1000)
      expect(result.closeEvents).to.equal(1)
      expect(result.openOutbound, 'upgraded connections still open').to.equal(0)
      expect(result.openRawPeers, 'raw sockets still open').to.equal(0)
      expect(result.inFlightSignalsAborted, 'in-flight upgrades aborted').to.equal(50)
      expect(result.addrsAfter).to.equal(0)
      expect(result.rebound, 'a new listen() on the same port').to.equal(true)
    })
  })

  describe('18. close/abort races', () => {
    it('200 connections closed, aborted, reset and left unanswered at random: one close each, within closeTimeout', async () => {
      const CLOSE_TIMEOUT_MS = 500
      const seed = Date.now() % 1_000_000
      const result = await closeRaces(bench, 200, seed, CLOSE_TIMEOUT_MS)
      console.log(`      seed ${seed}: ${JSON.stringify({ ...result, silentClosedAfterMs: undefined, abortedAfterCloseMs: undefined })}`)
      console.log(`      silent remotes destroyed after ${Math.min(...result.silentClosedAfterMs)}–${Math.max(...result.silentClosedAfterMs)} ms; aborts after an unanswered close took ${Math.min(...result.abortedAfterCloseMs)}–${Math.max(...result.abortedAfterCloseMs)} ms`)

      expect(Object.keys(result.closeEventCounts), `seed ${seed}: close events per connection`).to.deep.equal(['1'])
      expect(result.slowestCloseMs, `seed ${seed}`).to.be.lessThan(CLOSE_TIMEOUT_MS + 500)
      expect(result.rawStillOpen).to.equal(0)
      expect(result.listenerSockets).to.equal(0)
      expect(result.silentClosedAfterMs.length).to.be.greaterThan(0)
      expect(Math.min(...result.silentClosedAfterMs)).to.be.at.least(CLOSE_TIMEOUT_MS - 50)
      expect(Math.max(...result.silentClosedAfterMs)).to.be.lessThan(CLOSE_TIMEOUT_MS + 500)
      expect(result.abortedAfterCloseMs.length).to.be.greaterThan(0)
      expect(Math.max(...result.abortedAfterCloseMs), 'abort() destroys the socket at once').to.be.lessThan(100)
    })

    it('abort() on a connection whose remote never answers our Close frame destroys the socket at once', async () => {
      const listening = await bench.listen({ closeTimeout: 30_000 })
      const next = listening.upgrader.nextInbound()
      const peer = await RawPeer.upgraded(listening.addr, bench.peers)
      const inbound = await next
      const closing = inbound.close()
      await sleep(50)
      expect(peer.closed).to.equal(false)
      const start = Date.now()
      inbound.abort(new Error('no answer'))
      expect(await peer.closedWithin(1000)).to.be.a('number')
      expect(Date.now() - start).to.be.lessThan(100)
      await closing
      expect(parseFrames(peer.body()).frames.some(f => f.opcode === OPCODE.CLOSE), 'our Close frame was sent').to.equal(true)
    })
  })

  describe('19. connection limits', () => {
    it('with maxConnections 10, drops sockets 11–20 before parsing a byte; 1–10 upgrade', async () => {
      const listening = await bench.listen({ maxConnections: 10 })
      const { host, port } = hostPort(listening.addr)
      const peers: RawPeer[] = []

      for (let i = 0; i < 20; i++) {
        peers.push(await RawPeer.connect(listening.addr, bench.peers))
        await eventually(() => listening.socketCount() === Math.min(i + 1, 10), 500, 2)
      }

      peers.forEach(peer => { if (!peer.socket.destroyed) peer.socket.write(upgradeRequest(host, port)) })
      const kept = peers.slice(0, 10)
      const dropped = peers.slice(10)

      expect(await Promise.all(kept.map(async peer => peer.responseHead(2000).then(head => head?.split('\r\n')[0])))).to.deep.equal(kept.map(() => 'HTTP/1.1 101 Switching Protocols'))
      expect((await Promise.all(dropped.map(async peer => peer.closedWithin(1000)))).filter(ms => ms == null), 'dropped sockets still open').to.have.lengthOf(0)
      expect(dropped.map(peer => peer.data().length), 'bytes sent to dropped sockets').to.deep.equal(dropped.map(() => 0))
      expect(listening.upgrader.inbound).to.have.lengthOf(10)
    })

    it('closeServerOnMaxConnections stops listening at closeAbove 10 and listens again below 5; a real dial then succeeds', async () => {
      const listening = await bench.listen({ closeServerOnMaxConnections: { closeAbove: 10, listenBelow: 5 } })
      const addrs = listening.listener.getAddrs().map(String)
      const peers = await Promise.all(Array.from({ length: 10 }, async () => RawPeer.connect(listening.addr)))
      bench.peers.push(...peers)
      await eventually(() => listening.socketCount() === 10, 1000)

      const refused = await RawPeer.connect(listening.addr).then(peer => { peer.destroy(); return false }, (err: any) => err.code === 'ECONNREFUSED')
      expect(refused, 'refused while paused').to.equal(true)
      expect(listening.listener.getAddrs().map(String), 'addresses kept while paused').to.deep.equal(addrs)

      peers.slice(0, 6).forEach(peer => { peer.destroy() })
      let served = false
      const deadline = Date.now() + 3000
      while (!served && Date.now() < deadline) {
        served = await bench.timeToServe(listening).then(() => true, () => false)
        if (!served) await sleep(20)
      }
      expect(served, 'a dial after dropping below listenBelow').to.equal(true)
    })
  })
})
