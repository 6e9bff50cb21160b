/* eslint-disable no-console */
/**
 * ROBUSTNESS 17–19: close under load, close/abort races, connection limits.
 * Close under load runs at full size here; the races with 200 connections
 * (500 in full-scale.slow.ts).
 */
import { expect } from 'chai'
import { Bench, eventually } from './fixtures/bench.js'
import { OPCODE, parseFrames } from './fixtures/frames.js'
import { RawPeer, hostPort, sleep, upgradeRequest } from './fixtures/net.js'
import { closeRaces, closeUnderLoad } from './fixtures/scenarios.js'

/** The status line the peer was answered with within `ms`, if any */
async function statusLine (peer: RawPeer, ms: number): Promise<string | undefined> {
  return peer.responseHead(ms).then(head => head?.split('\r\n')[0])
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

      expect(result.tracked, 'every socket tracked before close()').to.equal(250)
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

      peers.forEach(peer => { if (!peer.socket.destroyed) { peer.socket.write(upgradeRequest(host, port)) } })
      const kept = peers.slice(0, 10)
      const dropped = peers.slice(10)

      expect(await Promise.all(kept.map(async peer => statusLine(peer, 2000)))).to.deep.equal(kept.map(() => 'HTTP/1.1 101 Switching Protocols'))
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
        if (!served) { await sleep(20) }
      }
      expect(served, 'a dial after dropping below listenBelow').to.equal(true)
    })
  })
})
