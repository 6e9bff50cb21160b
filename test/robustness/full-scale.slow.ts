/* eslint-disable no-console */
/**
 * The ROBUSTNESS cases at their full sizes (npm run test:robustness):
 * 500 silent sockets, 200 slowloris, a 1 GiB slow consumer, 1 000 chaotic
 * writes of up to 1 MiB each way, 1 000 aborted dials, 500 racing closes and
 * the 10 000-cycle churn soak.
 */
import { expect } from 'chai'
import { silentSockets, slowloris } from './fixtures/attacks.js'
import { Bench, eventually } from './fixtures/bench.js'
import { lastJson, runScript } from './fixtures/child.js'
import { RawPeer } from './fixtures/net.js'
import { abortEveryPhase, clientHandles, closeRaces, closeUnderLoad, slowConsumer } from './fixtures/scenarios.js'
import { attackTarget } from './fixtures/target.js'
import { prng, receiveAll, sendAll } from './fixtures/transfer.js'
import { recordingUpgrader } from './fixtures/upgrader.js'
import type { MultiaddrConnection } from '@libp2p/interface'

const MiB = 1024 * 1024

describe('ROBUSTNESS at full size', function () {
  this.timeout(600_000)
  let bench: Bench

  beforeEach(() => { bench = new Bench() })
  afterEach(async () => { await bench.release() })

  it('1. destroys 500 silent sockets at the handshake timeout (+200 ms) and still serves', async () => {
    const HANDSHAKE_TIMEOUT_MS = 1500
    const listening = await bench.listen({ handshakeTimeout: HANDSHAKE_TIMEOUT_MS })
    const result = await silentSockets(attackTarget(bench, listening), bench, { count: 500, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS })
    console.log(`      ${JSON.stringify(result)}`)

    expect(result.servedInMs).to.be.lessThan(1000)
    expect(result.openAfterDeadline).to.equal(0)
    expect(result.earliestCloseMs).to.be.at.least(HANDSHAKE_TIMEOUT_MS - 50)
    expect(await eventually(() => listening.socketCount() === 0, 1000)).to.equal(true)
  })

  it('1. close() resolves in < 1 s during an attack of 500 silent sockets', async () => {
    const listening = await bench.listen({ handshakeTimeout: 60_000 })
    const peers: RawPeer[] = []
    const benchPeers = bench.peers
    for (let i = 0; i < 500; i += 50) {
      peers.push(...await Promise.all(Array.from({ length: 50 }, async () => RawPeer.connect(listening.addr, benchPeers))))
    }
    await eventually(() => listening.socketCount() === 500, 3000)
    const start = Date.now()
    await listening.listener.close()
    expect(Date.now() - start).to.be.lessThan(1000)
    expect((await Promise.all(peers.map(async peer => peer.closedWithin(1000)))).filter(ms => ms == null)).to.have.lengthOf(0)
  })

  it('2. closes 200 slowloris sockets (a byte every 250 ms) at the handshake timeout and still serves', async () => {
    const HANDSHAKE_TIMEOUT_MS = 2000
    const listening = await bench.listen({ handshakeTimeout: HANDSHAKE_TIMEOUT_MS })
    const result = await slowloris(attackTarget(bench, listening), bench, { count: 200, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, byteEveryMs: 250 })
    console.log(`      ${JSON.stringify(result)}`)

    expect(result.bytesDripped).to.be.greaterThan(200 * 4)
    expect(result.servedInMs).to.be.lessThan(1000)
    expect(result.openAfterDeadline).to.equal(0)
    expect(result.earliestCloseMs).to.be.at.least(HANDSHAKE_TIMEOUT_MS - 50)
  })

  it('12. a reader taking 64 KiB every 10 ms gets 1 GiB in order with < 32 MiB RSS growth', async () => {
    const { sent, received, exit } = await slowConsumer(1024 * MiB, 64 * 1024, 10)
    console.log(`      receiver RSS growth ${(received.rssGrowth / MiB).toFixed(1)} MiB, at most ${(received.peakHeld / MiB).toFixed(1)} MiB unread, sender waited ${sent.waits} times`)

    expect(received.bytes).to.equal(1024 * MiB)
    expect(received.sha256).to.equal(sent.sha256)
    expect(received.rssGrowth).to.be.lessThan(32 * MiB)
    expect(sent.waits).to.be.greaterThan(0)
    expect(exit).to.equal(0)
  })

  it('14. delivers 1 000 writes of 0 B – 1 MiB each way over 16 connections byte-exact', async () => {
    const CONNECTIONS = 16
    const WRITES = 1000
    const seed = Date.now() % 1_000_000
    const random = prng(seed)
    const listening = await bench.listen({}, recordingUpgrader())
    const transport = bench.transport()
    const pairs: Array<{ outbound: MultiaddrConnection, inbound: MultiaddrConnection }> = []

    for (let i = 0; i < CONNECTIONS; i++) {
      const inbound = listening.upgrader.nextInbound()
      const outbound = await bench.dial(transport, listening.addr, recordingUpgrader())
      pairs.push({ outbound, inbound: await inbound })
    }

    const uniform = (count: number): number[] => Array.from({ length: count }, () => random() < 0.05 ? 0 : Math.floor(random() * (MiB + 1)))
    const plans = pairs.map(() => ({ out: uniform(Math.ceil(WRITES / CONNECTIONS)), in: uniform(Math.ceil(WRITES / CONNECTIONS)) }))
    const sum = (sizes: number[]): number => sizes.reduce((a, b) => a + b, 0)

    const results = await Promise.all(pairs.map(async ({ outbound, inbound }, i) => {
      const [sentOut, sentIn, gotIn, gotOut] = await Promise.all([
        sendAll(outbound, plans[i].out, random),
        sendAll(inbound, plans[i].in, random),
        receiveAll(inbound, sum(plans[i].out), 300_000),
        receiveAll(outbound, sum(plans[i].in), 300_000)
      ])
      return { sentOut, sentIn, gotIn, gotOut }
    }))

    console.log(`      seed ${seed}: ${(results.reduce((n, r) => n + r.sentOut.bytes + r.sentIn.bytes, 0) / MiB).toFixed(0)} MiB in ${2 * CONNECTIONS * Math.ceil(WRITES / CONNECTIONS)} writes`)
    for (const r of results) {
      expect(r.gotIn.sha256, `seed ${seed}`).to.equal(r.sentOut.sha256)
      expect(r.gotOut.sha256, `seed ${seed}`).to.equal(r.sentIn.sha256)
    }
  })

  it('15. rejects 1 000 dials aborted at every phase with AbortError at once and leaves nothing behind', async () => {
    const baseline = clientHandles()
    const run = await abortEveryPhase(bench, 250)
    console.log(`      ${JSON.stringify(run)}`)

    expect(run.aborted).to.equal(1000)
    expect(run.notAbortError).to.deep.equal([])
    expect(run.slowestRejectMs).to.be.lessThan(250)
    expect(run.leftOnServers).to.equal(0)
    expect(run.listenerSockets).to.equal(0)
    expect(run.listenersOnSharedSignal).to.equal(0)
    expect(await eventually(() => clientHandles() <= baseline, 3000)).to.equal(true)
  })

  it('17. closes under load (100 upgraded, 50 mid-upgrade, 50 silent, 50 slowloris) in < 1 s, once', async () => {
    const result = await closeUnderLoad(bench)
    console.log(`      ${JSON.stringify(result)}`)
    expect(result.tracked).to.equal(250)
    expect(result.closeMs).to.be.lessThan(1000)
    expect(result.closeEvents).to.equal(1)
    expect(result.openOutbound + result.openRawPeers).to.equal(0)
    expect(result.rebound).to.equal(true)
  })

  it('18. 500 connections closed, aborted, reset and left unanswered at random: one close each, within closeTimeout', async () => {
    const CLOSE_TIMEOUT_MS = 500
    const seed = Date.now() % 1_000_000
    const result = await closeRaces(bench, 500, seed, CLOSE_TIMEOUT_MS)
    console.log(`      seed ${seed}: ${JSON.stringify({ ...result, silentClosedAfterMs: undefined, abortedAfterCloseMs: undefined })}`)

    expect(Object.keys(result.closeEventCounts), `seed ${seed}`).to.deep.equal(['1'])
    expect(result.slowestCloseMs).to.be.lessThan(CLOSE_TIMEOUT_MS + 500)
    expect(result.rawStillOpen).to.equal(0)
    expect(result.listenerSockets).to.equal(0)
    expect(Math.max(...result.abortedAfterCloseMs)).to.be.lessThan(100)
  })

  it('20. the churn soak: 10 000 cycles + 2 000 aborted + 2 000 malformed, heap < 5 MiB growth, handles at baseline, p99 within 20 %', async () => {
    const run = await runScript('../soak.js', [], { exposeGc: true, timeoutMs: 580_000 })
    const report = lastJson(run.stdout)
    console.log(run.stdout.split('\n').filter(line => !line.startsWith('{')).map(line => `      ${line}`).join('\n'))

    expect(report.unexpected).to.deep.equal([])
    expect(report.heapGrowthMiB).to.be.lessThan(5)
    expect(report.handlesEnd).to.deep.equal(report.handlesStart)
    expect(report.connectP99LastMs).to.be.at.most(report.connectP99FirstMs * 1.2)
    expect(run.code).to.equal(0)
  })
})
