/* eslint-disable no-console */
/**
 * ROBUSTNESS 15, 16, 21: the dial side, and error hygiene on both sides.
 * Fast sizes here (200 aborted dials); 1 000 run in full-scale.slow.ts.
 */
import tls from 'node:tls'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { pEvent } from 'p-event'
import { selfSignedCertificate } from '../fixtures/certificate.js'
import { Bench, eventually } from './fixtures/bench.js'
import { OPCODE, frame } from './fixtures/frames.js'
import { RawPeer, handMadeServer, hostPort, sleep, upgradeRequest } from './fixtures/net.js'
import { abortEveryPhase, clientHandles } from './fixtures/scenarios.js'
import { liar, tarpit } from './fixtures/servers.js'
import { recordingUpgrader } from './fixtures/upgrader.js'
import type { HostileServer } from './fixtures/servers.js'
import type { MultiaddrConnection, StreamCloseEvent } from '@libp2p/interface'

describe('ROBUSTNESS dial side and error hygiene', function () {
  this.timeout(60_000)
  let bench: Bench

  beforeEach(() => { bench = new Bench() })
  afterEach(async () => { await bench.release() })

  describe('15. abort at every phase', () => {
    it('rejects 160 dials aborted before connect, before the 101, mid-TLS and mid-upgrade with AbortError at once, and leaves nothing behind', async () => {
      const baseline = clientHandles()
      const run = await abortEveryPhase(bench, 40)
      console.log(`      ${JSON.stringify(run)}`)

      expect(run.aborted).to.equal(160)
      expect(run.notAbortError).to.deep.equal([])
      expect(run.slowestRejectMs, 'slowest rejection after abort()').to.be.lessThan(250)
      expect(run.leftOnServers, 'server sockets still open').to.equal(0)
      expect(run.listenerSockets).to.equal(0)
      expect(run.listenersOnSharedSignal, 'listeners left on a signal shared by 40 dials').to.equal(0)
      expect(await eventually(() => clientHandles() <= baseline, 2000), `handles: ${process.getActiveResourcesInfo().join(', ')}`).to.equal(true)
    })
  })

  describe('16. tarpits and liars', () => {
    async function failedDial (addr: ReturnType<HostileServer['addr']>, init = {}): Promise<{ err: any, ms: number }> {
      const start = Date.now()
      const err = await bench.transport({ handshakeTimeout: 400, ...init }).dial(addr, { upgrader: recordingUpgrader(), signal: AbortSignal.timeout(10_000) })
        .then((conn) => { (conn as unknown as MultiaddrConnection).abort(new Error('unexpected')); return undefined }, (err: Error) => err)
      return { err, ms: Date.now() - start }
    }

    const liars: Array<[string, string, (socket: import('node:net').Socket) => void]> = [
      ['a 101 with a wrong Sec-WebSocket-Accept', 'UpgradeRejectedError', s => { s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm9wZQ==\r\n\r\n') }],
      ['a 101 without an Upgrade header', 'UpgradeRejectedError', s => { s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n') }],
      ['a 200 with a body', 'UpgradeRejectedError', s => { s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello') }],
      ['a 101 status line and no headers, ever', 'TimeoutError', s => { s.write('HTTP/1.1 101 Switching Protocols\r\n') }],
      ['garbage instead of HTTP', 'ConnectionFailedError', s => { s.write('SSH-2.0-OpenSSH_9.6\r\n\r\n') }],
      ['a 101 with 64 KiB of headers', 'ConnectionFailedError', s => { s.write(`HTTP/1.1 101 Switching Protocols\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`) }],
      ['a reset as soon as the request arrives', 'ConnectionFailedError', s => { s.resetAndDestroy() }]
    ]

    async function failsAgainstLiar (expected: string, respond: (socket: import('node:net').Socket) => void): Promise<void> {
      const server = await liar((req, socket) => { respond(socket) })
      bench.defer(async () => server.close())
      const { err, ms } = await failedDial(server.addr())

      expect(err?.name).to.equal(expected)
      expect(ms).to.be.lessThan(1500)
      expect(await eventually(() => server.closedCount() === server.accepted.length, 1000), 'server-side socket closed').to.equal(true)
    }

    for (const [name, expected, respond] of liars) {
      it(`fails a dial answered with ${name} with ${expected}, and closes the socket`, async () => {
        await failsAgainstLiar(expected, respond)
      })
    }

    async function doesNotFollowRedirect (status: number): Promise<void> {
      const target = await liar((req, socket) => { socket.destroy() })
      bench.defer(async () => target.close())
      const server = await liar((req, socket) => {
        socket.end(`HTTP/1.1 ${status} Moved\r\nLocation: ws://127.0.0.1:${target.port}/\r\nContent-Length: 0\r\n\r\n`)
      })
      bench.defer(async () => server.close())
      const { err } = await failedDial(server.addr())

      expect(err?.name).to.equal('UpgradeRejectedError')
      expect(err?.statusCode).to.equal(status)
      await sleep(100)
      expect(target.accepted, 'connections to the redirect target').to.have.lengthOf(0)
    }

    for (const status of [301, 302, 307, 308]) {
      it(`does not follow a ${status} redirect to a live server`, async () => {
        await doesNotFollowRedirect(status)
      })
    }

    const hostileFrames: Array<[string, Buffer, string, number]> = [
      ['a reserved opcode', frame(0x3, Buffer.from('x'), { mask: false }), 'WS_ERR_INVALID_OPCODE', 1002],
      ['a masked server frame', frame(OPCODE.BINARY, Buffer.from('x'), { mask: true }), 'WS_ERR_UNEXPECTED_MASK', 1002],
      ['a message larger than maxPayload', frame(OPCODE.BINARY, Buffer.alloc(70_000), { mask: false }), 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009]
    ]

    async function closesOnHostileFrame (bytes: Buffer, code: string, closeCode: number): Promise<void> {
      const server = await handMadeServer((socket) => {
        socket.resume()
        socket.write(bytes)
      })
      bench.defer(async () => server.close())
      const conn = await bench.dial(bench.transport({ maxPayload: 65_536, closeTimeout: 200 }), multiaddr(`/ip4/127.0.0.1/tcp/${server.port}/ws`), recordingUpgrader())
      const evt = conn.status === 'open' ? await pEvent<'close', StreamCloseEvent>(conn, 'close') : undefined
      expect((evt?.error as any)?.name).to.equal('WebSocketProtocolError')
      expect((evt?.error as any)?.code).to.equal(code)
      expect((evt?.error as any)?.closeCode).to.equal(closeCode)
    }

    for (const [name, bytes, code, closeCode] of hostileFrames) {
      it(`closes an outbound connection on ${name} from the server with ${closeCode} and a typed error`, async () => {
        await closesOnHostileFrame(bytes, code, closeCode)
      })
    }

    it('fails a dial to a TLS tarpit (no ServerHello) with TimeoutError at handshakeTimeout and closes the socket', async () => {
      const pit = await tarpit()
      bench.defer(async () => pit.close())
      const { err, ms } = await failedDial(pit.addr('/tls/ws'))

      expect(err?.name).to.equal('TimeoutError')
      expect(ms).to.be.within(350, 1500)
      expect(await eventually(() => pit.closedCount() === 1, 1000)).to.equal(true)
    })

    it('rejects dials to a closed port and to an unreachable address (ENETUNREACH) with ConnectionFailedError', async () => {
      const pit = await tarpit()
      const closedPort = pit.addr()
      await pit.close()

      for (const addr of [closedPort, multiaddr('/ip4/224.0.0.1/tcp/80/ws')]) {
        const { err, ms } = await failedDial(addr)
        expect(err?.name, addr.toString()).to.equal('ConnectionFailedError')
        expect(ms).to.be.lessThan(1000)
      }
    })
  })

  describe('21. error hygiene', () => {
    it('logs and closes 50 sockets reset mid-handshake (ECONNRESET), half-way through the request', async () => {
      const listening = await bench.listen()
      const { host, port } = hostPort(listening.addr)
      const request = upgradeRequest(host, port)

      await Promise.all(Array.from({ length: 50 }, async (_, i) => {
        const peer = await RawPeer.connect(listening.addr, bench.peers)
        peer.socket.write(request.slice(0, i % 2 === 0 ? 20 : request.length - 10))
        await sleep(5)
        peer.socket.resetAndDestroy()
      }))

      expect(await eventually(() => listening.socketCount() === 0, 1000)).to.equal(true)
      expect(listening.upgrader.inbound).to.have.lengthOf(0)
      expect(await bench.timeToServe(listening)).to.be.lessThan(1000)
    })

    it('survives writes after the remote reset the connection (EPIPE/ECONNRESET) and closes once', async () => {
      const listening = await bench.listen()
      const conns: MultiaddrConnection[] = []
      const peers: RawPeer[] = []

      for (let i = 0; i < 20; i++) {
        const next = listening.upgrader.nextInbound()
        peers.push(await RawPeer.upgraded(listening.addr, bench.peers))
        conns.push(await next)
      }

      const closes = conns.map(() => 0)
      conns.forEach((conn, i) => conn.addEventListener('close', () => { closes[i]++ }))
      peers.forEach(peer => peer.socket.resetAndDestroy())

      // keep writing into the dead sockets until each notices
      const chunk = new Uint8Array(64 * 1024)
      const deadline = Date.now() + 2000
      while (conns.some(conn => conn.status === 'open') && Date.now() < deadline) {
        conns.filter(conn => conn.status === 'open').forEach(conn => {
          try {
            conn.send(chunk)
          } catch (err: any) {
            // a closing stream refuses writes with a typed error; that is fine
            expect(err.name).to.equal('StreamStateError')
          }
        })
        await sleep(1)
      }

      expect(conns.filter(conn => conn.status === 'open')).to.have.lengthOf(0)
      await sleep(50)
      expect(closes).to.deep.equal(conns.map(() => 1))
      expect(await eventually(() => listening.socketCount() === 0, 1000)).to.equal(true)
    })

    it('closes a TLS handshake the client ends with an alert (unknown CA), and still serves TLS', async () => {
      const https = await selfSignedCertificate()
      const listening = await bench.listen({ https }, recordingUpgrader(), '/ip4/127.0.0.1/tcp/0/tls/ws')
      const { host, port } = hostPort(listening.addr)

      for (let i = 0; i < 10; i++) {
        const client = tls.connect({ host, port, servername: 'localhost' }) // no CA: the client rejects the certificate with an alert
        const err = await pEvent(client, 'error') as Error & { code?: string }
        expect(err.code).to.be.a('string')
        client.destroy()
      }

      expect(await eventually(() => listening.socketCount() === 0, 1000)).to.equal(true)
      const next = listening.upgrader.nextInbound()
      const conn = await bench.dial(bench.transport({ websocket: { ca: https.cert } }), listening.addr, recordingUpgrader())
      await next
      expect(conn.status).to.equal('open')
    })

    it('a remote that resets after sending a Close frame ends the connection once, with no error escaping', async () => {
      const listening = await bench.listen()
      const next = listening.upgrader.nextInbound()
      const peer = await RawPeer.upgraded(listening.addr, bench.peers)
      const conn = await next
      const closed = pEvent<'close', StreamCloseEvent>(conn, 'close')
      peer.socket.write(frame(OPCODE.CLOSE, Buffer.from([0x03, 0xe8])))
      peer.socket.resetAndDestroy()
      await closed
      expect(conn.status).to.be.oneOf(['closed', 'reset', 'aborted'])
    })
  })
})
