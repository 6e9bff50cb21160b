/* eslint-disable no-console */
/**
 * ROBUSTNESS 7–11: hostile framing after the upgrade. The listener runs in a
 * child process: a frame that crashed it would show as a non-zero exit and a
 * stack on stderr, and its memory is measured there after `gc()`.
 */
import http from 'node:http'
import { multiaddr } from '@multiformats/multiaddr'
import { assert, expect } from 'chai'
import { webSockets } from '../../src/index.js'
import { components } from '../fixtures/upgrader.js'
import { ListenerChild } from './fixtures/child.js'
import { OPCODE, closeCodeIn, frame, parseFrames } from './fixtures/frames.js'
import { MALFORMED_FRAMES } from './fixtures/malformed.js'
import { RawPeer, sleep } from './fixtures/net.js'
import { recordingUpgrader } from './fixtures/upgrader.js'
import type { AddressInfo } from 'node:net'

const MiB = 1024 * 1024

/** Sends `data` and resolves once the kernel has taken it */
async function write (peer: RawPeer, data: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    peer.socket.write(data, (err) => { err == null ? resolve() : reject(err) })
  })
}

/** Concatenated payloads of the data frames the server sent after the 101 */
function messageBytes (peer: RawPeer): Buffer {
  const frames = parseFrames(peer.body()).frames.filter(f => f.opcode === OPCODE.BINARY || f.opcode === OPCODE.CONTINUATION || f.opcode === OPCODE.TEXT)
  return Buffer.concat(frames.map(f => f.payload))
}

describe('ROBUSTNESS framing after the upgrade', function () {
  this.timeout(30_000)
  const peers: RawPeer[] = []

  afterEach(() => {
    peers.splice(0).forEach(peer => { peer.destroy() })
  })

  describe('7. malformed frames (listener in a child process)', () => {
    const CLOSE_TIMEOUT_MS = 300
    let child: ListenerChild
    let healthy: RawPeer

    // started by the first test rather than in before(), so the root hook
    // does not count the child's pipes against the previous file
    async function ready (): Promise<ListenerChild> {
      if (child == null) {
        child = await ListenerChild.start({ init: { closeTimeout: CLOSE_TIMEOUT_MS }, echo: true })
        healthy = await RawPeer.upgraded(child.addr!)
      }

      return child
    }

    after(() => {
      healthy?.destroy()
      child?.kill()
    })

    for (const malformed of MALFORMED_FRAMES) {
      it(`closes on ${malformed.name} with ${malformed.closeCode} and ${malformed.code}`, async () => {
        const listener = await ready()
        const peer = await RawPeer.upgraded(listener.addr!, peers, malformed.headers)
        peer.socket.write(malformed.bytes())

        const closedAfterMs = await peer.closedWithin(CLOSE_TIMEOUT_MS + 2000)
        const report = await listener.closeOf(peer.localPort)

        expect(listener.alive, `the listener process died: ${listener.stderr}`).to.equal(true)
        expect(closeCodeIn(peer.body()), 'close code on the wire').to.equal(malformed.closeCode)
        expect(closedAfterMs, 'the socket is destroyed after closeTimeout').to.be.a('number')
        expect(report?.error?.name).to.equal('WebSocketProtocolError')
        expect(report?.error?.code).to.equal(malformed.code)
        expect(report?.error?.closeCode).to.equal(malformed.closeCode)
      })
    }

    it('keeps the other connection working and exits 0 with nothing on stderr', async () => {
      await ready()
      healthy.socket.write(frame(OPCODE.BINARY, Buffer.from('still here')))
      expect(await healthy.waitFor(() => messageBytes(healthy).toString() === 'still here', 2000)).to.equal(true)
      healthy.destroy()

      const exit = await child.exit()
      expect(exit.exitedByItself, `still running: ${exit.resources?.join(', ')}`).to.equal(true)
      expect(exit.code).to.equal(0)
      expect(exit.signal).to.equal(null)
      expect(exit.stderr).to.equal('')
    })
  })

  describe('8. payload limit', () => {
    it('delivers 65 537 B and 256 KiB messages intact and closes maxPayload + 1 with 1009', async () => {
      const child = await ListenerChild.start({ echo: true })

      try {
        for (const size of [65_537, 256 * 1024]) {
          const peer = await RawPeer.upgraded(child.addr!, peers)
          const payload = Buffer.alloc(size, size % 251).map((_, i) => i % 253)
          peer.socket.write(frame(OPCODE.BINARY, payload))
          expect(await peer.waitFor(() => messageBytes(peer).length >= size, 5000), `echo of ${size} B`).to.equal(true)
          expect(messageBytes(peer).equals(payload)).to.equal(true)
          peer.destroy()
        }

        const peer = await RawPeer.upgraded(child.addr!, peers)
        peer.socket.write(frame(OPCODE.BINARY, Buffer.alloc(MiB + 1)))
        expect(await peer.closedWithin(5000)).to.be.a('number')
        expect(closeCodeIn(peer.body())).to.equal(1009)
        const report = await child.closeOf(peer.localPort)
        expect(report?.error?.code).to.equal('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
        expect(report?.error?.closeCode).to.equal(1009)

        const exit = await child.exit()
        expect(exit.code).to.equal(0)
        expect(exit.stderr).to.equal('')
      } finally {
        child.kill()
      }
    })

    it('holds 20 unfinished maxPayload − 1 messages in ≤ 1.5 × 20 × maxPayload and frees them at the upgrade timeout', async function () {
      // usually under 5 s; once, in a CI run, it ran past 30 s after its
      // measurement had finished. The phase times below say where it goes
      this.timeout(60_000)
      const MAX_PAYLOAD = MiB
      const CONNECTIONS = 20
      const INBOUND_UPGRADE_TIMEOUT_MS = 2500
      const began = Date.now()
      const child = await ListenerChild.start({ upgrader: 'libp2p', inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS, init: { maxPayload: MAX_PAYLOAD } }, { exposeGc: true })
      const started = Date.now()

      try {
        const before = await child.memory()
        expect(before.gc).to.equal(true)
        const partial = frame(OPCODE.BINARY, Buffer.alloc(MAX_PAYLOAD - 2, 7), { declaredLength: BigInt(MAX_PAYLOAD - 1) })
        const holders = await Promise.all(Array.from({ length: CONNECTIONS }, async () => RawPeer.upgraded(child.addr!, peers)))
        await Promise.all(holders.map(async peer => write(peer, partial)))
        await sleep(500)
        const held = await child.memory()

        const closed = await Promise.all(holders.map(async peer => peer.closedWithin(INBOUND_UPGRADE_TIMEOUT_MS + 2000)))
        await sleep(200)
        const after = await child.memory()

        const growth = (m: typeof before): number => m.heapUsed + m.external - before.heapUsed - before.external
        console.log(`      held ${(growth(held) / MiB).toFixed(1)} MiB for ${CONNECTIONS} × ${MAX_PAYLOAD - 2} B, ${(growth(after) / MiB).toFixed(1)} MiB after the timeout (child start ${started - began} ms, measurement ${Date.now() - started} ms)`)
        expect(growth(held), 'held while unfinished').to.be.at.most(1.5 * CONNECTIONS * MAX_PAYLOAD)
        expect(growth(held), 'the measurement sees the buffered bytes').to.be.at.least(0.5 * CONNECTIONS * MAX_PAYLOAD)
        expect(closed.filter(ms => ms == null), 'still open after the upgrade timeout').to.have.lengthOf(0)
        expect(growth(after), 'left after the timeout').to.be.lessThan(0.1 * CONNECTIONS * MAX_PAYLOAD)

        const exiting = Date.now()
        const exit = await child.exit()
        console.log(`      child exit ${Date.now() - exiting} ms (${exit.exitedByItself ? 'by itself' : 'killed'})`)
        expect(exit.code).to.equal(0)
        expect(exit.stderr).to.equal('')
      } finally {
        child.kill()
      }
    })
  })

  describe('9. fragment flood', () => {
    it('holds 10 open messages of maxFragments − 1 tiny fragments in < 2 MiB of heap per connection', async () => {
      const CONNECTIONS = 10
      const MAX_FRAGMENTS = 1024
      const child = await ListenerChild.start({ init: { maxFragments: MAX_FRAGMENTS } }, { exposeGc: true })

      try {
        const before = await child.memory()
        const open = Buffer.concat([
          frame(OPCODE.BINARY, Buffer.from('a'), { fin: false }),
          ...Array.from({ length: MAX_FRAGMENTS - 2 }, () => frame(OPCODE.CONTINUATION, Buffer.from('a'), { fin: false }))
        ])
        const holders = await Promise.all(Array.from({ length: CONNECTIONS }, async () => RawPeer.upgraded(child.addr!, peers)))
        await Promise.all(holders.map(async peer => write(peer, open)))
        await sleep(300)
        const held = await child.memory()
        const perConnection = (held.heapUsed + held.external - before.heapUsed - before.external) / CONNECTIONS

        console.log(`      ${(perConnection / 1024).toFixed(0)} KiB held per connection`)
        expect(holders.every(peer => !peer.closed), 'under the limit, nothing is closed').to.equal(true)
        expect(perConnection).to.be.lessThan(2 * MiB)
        expect((await child.exit()).code).to.equal(0)
      } finally {
        child.kill()
      }
    })

    it('closes a FIN=0 frame and 100 000 continuations with 1008 once maxFragments is passed, on 10 connections at once', async () => {
      const CONNECTIONS = 10
      const child = await ListenerChild.start({ init: { maxFragments: 1024 } }, { exposeGc: true })

      try {
        const flood = Buffer.concat([
          frame(OPCODE.BINARY, Buffer.from('a'), { fin: false }),
          ...Array.from({ length: 100_000 }, () => frame(OPCODE.CONTINUATION, Buffer.from('a'), { fin: false }))
        ])
        const flooders = await Promise.all(Array.from({ length: CONNECTIONS }, async () => RawPeer.upgraded(child.addr!, peers)))
        await child.request('sample-start', 'sample-start')
        flooders.forEach(peer => peer.socket.write(flood))
        const closed = await Promise.all(flooders.map(async peer => peer.closedWithin(5000)))
        const { peakGrowth } = await child.request('sample-stop', 'sample')

        // the peak includes the flood's own bytes (7 MB in all) before gc
        console.log(`      peak heap + external growth ${(peakGrowth / MiB).toFixed(2)} MiB for ${CONNECTIONS} connections`)
        expect(closed.filter(ms => ms == null), 'still open').to.have.lengthOf(0)
        expect(flooders.map(peer => closeCodeIn(peer.body()))).to.deep.equal(flooders.map(() => 1008))

        for (const peer of flooders) {
          const report = await child.closeOf(peer.localPort)
          expect(report?.error?.code).to.equal('WS_ERR_TOO_MANY_BUFFERED_PARTS')
          expect(report?.error?.closeCode).to.equal(1008)
        }

        expect(peakGrowth / CONNECTIONS).to.be.lessThan(4 * MiB)
        const exit = await child.exit()
        expect(exit.code).to.equal(0)
        expect(exit.stderr).to.equal('')
      } finally {
        child.kill()
      }
    })

    it('delivers a valid fragmented message sent one TCP byte at a time', async () => {
      const child = await ListenerChild.start({ echo: true })

      try {
        const peer = await RawPeer.upgraded(child.addr!, peers)
        peer.socket.setNoDelay(true)
        const message = Buffer.from('one byte at a time, in three fragments')
        const bytes = Buffer.concat([
          frame(OPCODE.BINARY, message.subarray(0, 10), { fin: false }),
          frame(OPCODE.PING, Buffer.from('p')),
          frame(OPCODE.CONTINUATION, message.subarray(10, 20), { fin: false }),
          frame(OPCODE.CONTINUATION, message.subarray(20))
        ])

        for (const byte of bytes) {
          await write(peer, Buffer.from([byte]))
          await sleep(1)
        }

        expect(await peer.waitFor(() => messageBytes(peer).length >= message.length, 3000)).to.equal(true)
        expect(messageBytes(peer).toString()).to.equal(message.toString())
        expect(parseFrames(peer.body()).frames.some(f => f.opcode === OPCODE.PONG && f.payload.toString() === 'p')).to.equal(true)
        expect((await child.exit()).code).to.equal(0)
      } finally {
        child.kill()
      }
    })
  })

  describe('10. compression refused', () => {
    it('our dialer never offers permessage-deflate, even when the websocket options ask for it', async () => {
      const server = http.createServer()
      const offered = new Promise<http.IncomingHttpHeaders>(resolve => {
        server.on('upgrade', (req, socket) => {
          socket.destroy()
          resolve(req.headers)
        })
      })
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))

      try {
        const port = (server.address() as AddressInfo).port
        const dialing = webSockets({ websocket: { perMessageDeflate: true } })(components())
          .dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws`), { upgrader: recordingUpgrader(), signal: AbortSignal.timeout(5000) })
          .catch((err: Error) => err)
        const headers = await offered
        expect(headers['sec-websocket-extensions']).to.equal(undefined)
        expect((await dialing as Error).name).to.equal('ConnectionFailedError')
      } finally {
        server.closeAllConnections()
        await new Promise(resolve => server.close(resolve))
      }
    })
  })

  describe('11. ping flood without reading', () => {
    it('resets a peer that sends 200 000 pings and never reads, before the pongs pile up', async () => {
      const PINGS = 200_000
      const BATCH = 1000
      const child = await ListenerChild.start({}, { exposeGc: true })

      try {
        const peer = await RawPeer.upgraded(child.addr!, peers)
        await child.request('sample-start', 'sample-start')
        peer.socket.pause() // never read a pong
        const batch = Buffer.concat(Array.from({ length: BATCH }, () => frame(OPCODE.PING, Buffer.alloc(125, 1))))
        let sent = 0

        while (sent < PINGS && !peer.closed && !peer.socket.destroyed) {
          sent += BATCH

          if (!peer.socket.write(batch)) {
            await Promise.race([
              new Promise(resolve => peer.socket.once('drain', resolve)),
              peer.closedWithin(5000)
            ])
          }
        }

        const closedAfterMs = await peer.closedWithin(10_000)
        const { peakGrowth } = await child.request('sample-stop', 'sample')
        const report = await child.closeOf(peer.localPort)
        console.log(`      reset after ${sent} pings written, peak heap + external growth ${(peakGrowth / MiB).toFixed(1)} MiB`)

        expect(closedAfterMs, 'the listener reset the connection').to.be.a('number')
        assert.exists(report, 'the connection reported its close')
        expect(peakGrowth, 'pongs queued in memory').to.be.lessThan(16 * MiB)
        expect((await child.exit()).code).to.equal(0)
      } finally {
        child.kill()
      }
    })
  })
})
