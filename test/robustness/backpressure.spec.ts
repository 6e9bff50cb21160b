/* eslint-disable no-console */
/**
 * ROBUSTNESS 12–14: backpressure both ways and byte-exact delivery. Fast sizes
 * here; the 1 GiB transfers run in full-scale.slow.ts.
 */
import { expect } from 'chai'
import { pEvent } from 'p-event'
import { Bench } from './fixtures/bench.js'
import { lastJson, runScript } from './fixtures/child.js'
import { OPCODE, frame } from './fixtures/frames.js'
import { RawPeer } from './fixtures/net.js'
import { slowConsumer } from './fixtures/scenarios.js'
import { chaoticSizes, prng, receiveAll, sendAll } from './fixtures/transfer.js'
import { recordingUpgrader } from './fixtures/upgrader.js'
import type { MultiaddrConnection } from '@libp2p/interface'

const MiB = 1024 * 1024

describe('ROBUSTNESS backpressure and integrity', function () {
  this.timeout(60_000)
  let bench: Bench

  beforeEach(() => { bench = new Bench() })
  afterEach(async () => { await bench.release() })

  describe('12. slow consumer', () => {
    it('a reader taking 256 KiB every 10 ms gets 64 MiB in order with < 32 MiB RSS growth; the sender waits for drain', async () => {
      const { sent, received, exit } = await slowConsumer(64 * MiB, 256 * 1024, 10)
      console.log(`      receiver RSS growth ${(received.rssGrowth / MiB).toFixed(1)} MiB, at most ${(received.peakHeld / MiB).toFixed(1)} MiB unread, sender waited for drain ${sent.waits} times`)

      expect(received.bytes).to.equal(sent.bytes)
      expect(received.sha256).to.equal(sent.sha256)
      expect(received.rssGrowth).to.be.lessThan(32 * MiB)
      expect(received.peakHeld, 'bytes held unread by the receiver').to.be.lessThan(8 * MiB)
      expect(sent.waits, 'the sender saw backpressure').to.be.greaterThan(0)
      expect(exit).to.equal(0)
    })
  })

  describe('13. stalled peer', () => {
    it('stops at maxBufferedAmount + one message, waits for drain, and abort() frees the memory and the socket', async () => {
      const run = await runScript('stalled-writer.js', [JSON.stringify({ impl: 'ours', total: 1024 * MiB, chunk: MiB, maxBufferedAmount: 4 * MiB })], { exposeGc: true, timeoutMs: 30_000 })
      expect(run.code, run.stderr).to.equal(0)
      const result = lastJson(run.stdout)
      console.log(`      ${JSON.stringify(result)}`)

      expect(result.stalled, 'the writer waited for a drain that never came').to.equal(true)
      expect(result.sent).to.be.lessThan(64 * MiB)
      expect(result.maxBuffered).to.be.at.most(result.limit + result.message + 1024)
      expect(result.socketsAfterAbort, 'our socket handle is gone right after abort()').to.equal(result.socketsWhileOpen - 1)
      expect(result.afterAbortGrowth, 'memory left after abort()').to.be.lessThan(MiB)
      expect(result.peerSawEndAfterMs, 'the peer sees the end once it reads again').to.be.a('number')
    })
  })

  describe('14. chaotic chunking', () => {
    it('delivers 400 random-size writes (0 B – 1 MiB) each way over 16 connections byte-exact', async () => {
      const CONNECTIONS = 16
      const WRITES_PER_DIRECTION = 400
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

      const plans = pairs.map(() => ({
        out: [...chaoticSizes(Math.ceil(WRITES_PER_DIRECTION / CONNECTIONS), MiB, random)],
        in: [...chaoticSizes(Math.ceil(WRITES_PER_DIRECTION / CONNECTIONS), MiB, random)]
      }))
      const sum = (sizes: number[]): number => sizes.reduce((a, b) => a + b, 0)

      const results = await Promise.all(pairs.map(async ({ outbound, inbound }, i) => {
        const [sentOut, sentIn, gotIn, gotOut] = await Promise.all([
          sendAll(outbound, plans[i].out, random),
          sendAll(inbound, plans[i].in, random),
          receiveAll(inbound, sum(plans[i].out)),
          receiveAll(outbound, sum(plans[i].in))
        ])
        return { sentOut, sentIn, gotIn, gotOut }
      }))

      const total = results.reduce((n, r) => n + r.sentOut.bytes + r.sentIn.bytes, 0)
      console.log(`      seed ${seed}: ${(total / MiB).toFixed(1)} MiB in ${2 * WRITES_PER_DIRECTION} writes, ${plans.flatMap(p => [...p.out, ...p.in]).filter(s => s === 0).length} of them empty`)

      for (const r of results) {
        expect(r.gotIn.sha256, `seed ${seed}`).to.equal(r.sentOut.sha256)
        expect(r.gotOut.sha256, `seed ${seed}`).to.equal(r.sentIn.sha256)
      }

      expect(pairs.every(p => p.outbound.status === 'open' && p.inbound.status === 'open'), 'zero-length writes ended no stream').to.equal(true)
    })

    it('an empty binary frame from the remote ends nothing; the next one arrives', async () => {
      const listening = await bench.listen({}, recordingUpgrader())
      const next = listening.upgrader.nextInbound()
      const peer = await RawPeer.upgraded(listening.addr, bench.peers)
      const inbound = await next
      const message = pEvent<'message', any>(inbound, 'message')
      peer.socket.write(Buffer.concat([frame(OPCODE.BINARY, Buffer.alloc(0)), frame(OPCODE.BINARY, Buffer.alloc(0), { fin: false }), frame(OPCODE.CONTINUATION, Buffer.alloc(0)), frame(OPCODE.BINARY, Buffer.from('after'))]))
      expect(Buffer.from((await message).data.subarray()).toString()).to.equal('after')
      expect(inbound.status).to.equal('open')
    })
  })
})
