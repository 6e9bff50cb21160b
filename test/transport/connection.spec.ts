import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { pEvent } from 'p-event'
import { Uint8ArrayList } from 'uint8arraylist'
import { webSockets } from '../../src/index.js'
import { COALESCE_BYTES, coalesce } from '../../src/transport/connection.js'
import { clientFrame, closed, serverCloseCode, upgradedSocket } from '../fixtures/sockets.js'
import { components, stubUpgrader } from '../fixtures/upgrader.js'
import type { WebSocketsInit } from '../../src/index.js'
import type { StubUpgrader } from '../fixtures/upgrader.js'
import type { Listener, MultiaddrConnection, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type net from 'node:net'

describe('WebSocketConnection', function () {
  this.timeout(10_000)

  let listener: Listener
  let upgrader: StubUpgrader
  let sockets: net.Socket[]
  let conns: MultiaddrConnection[]

  async function pair (init: WebSocketsInit = {}): Promise<{ outbound: MultiaddrConnection, inbound: MultiaddrConnection }> {
    listener = webSockets(init)(components()).createListener({ upgrader })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0/ws'))
    const next = upgrader.nextInbound()
    const outbound = await webSockets(init)(components()).dial(listener.getAddrs()[0], { upgrader, signal: AbortSignal.timeout(5000) }) as unknown as MultiaddrConnection
    const inbound = await next
    conns.push(outbound, inbound)
    return { outbound, inbound }
  }

  /** Our listener, and a raw TCP socket that completed the upgrade by hand, with its inbound connection */
  async function rawPair (init: WebSocketsInit = {}): Promise<{ socket: net.Socket, inbound: MultiaddrConnection }> {
    listener = webSockets(init)(components()).createListener({ upgrader })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0/ws'))
    const next = upgrader.nextInbound()
    const { socket } = await upgradedSocket(listener.getAddrs()[0], sockets)
    return { socket, inbound: await next }
  }

  beforeEach(() => {
    upgrader = stubUpgrader()
    sockets = []
    conns = []
  })

  afterEach(async () => {
    sockets.forEach(s => s.destroy())
    conns.forEach(c => { c.abort(new Error('test over')) })
    await listener?.close()
  })

  it('abort() destroys the socket at once and the remote sees a reset', async () => {
    const { outbound, inbound } = await pair()
    const remoteClose = pEvent<'close', StreamCloseEvent>(inbound, 'close')
    const start = Date.now()
    outbound.abort(new Error('bye'))
    const evt = await remoteClose
    expect(Date.now() - start).to.be.lessThan(200)
    expect(evt.error?.name).to.equal('StreamResetError')
    expect(outbound.status).to.equal('aborted')
  })

  it('abort() sends a TCP reset, so a peer that stopped reading does not hold our unsent bytes', async () => {
    const { socket, inbound } = await rawPair()
    socket.pause() // the client reads nothing: our writes pile up in the kernel
    const errored = pEvent<'error', NodeJS.ErrnoException>(socket, 'error')
    inbound.send(new Uint8Array(4 * 1024 * 1024))
    inbound.abort(new Error('bye'))
    socket.resume()
    expect((await errored).code).to.equal('ECONNRESET')
  })

  it('close() is a clean close for both sides', async () => {
    const { outbound, inbound } = await pair()
    const remoteClose = pEvent<'close', StreamCloseEvent>(inbound, 'close')
    await outbound.close()
    const evt = await remoteClose
    expect(evt.error).to.equal(undefined)
    expect(outbound.status).to.equal('closed')
    expect(inbound.status).to.equal('closed')
    expect(outbound.timeline.close).to.be.a('number')
  })

  it('close() destroys the socket after closeTimeout when the remote never answers the Close frame', async () => {
    const { socket, inbound } = await rawPair({ closeTimeout: 200 })
    socket.pause() // the client reads nothing and never answers
    const start = Date.now()
    await inbound.close()
    expect(Date.now() - start).to.be.within(150, 1000)
    socket.resume()
    await closed(socket)
  })

  it('delivers every byte in order when writes outrun the socket (write backpressure)', async () => {
    const { outbound, inbound } = await pair({ maxBufferedAmount: 64 * 1024 })
    const chunk = new Uint8Array(256 * 1024).map((_, i) => i % 251)
    const total = 32 * chunk.byteLength
    let received = 0
    let ok = true
    const done = new Promise<void>(resolve => {
      inbound.addEventListener('message', (evt) => {
        for (const buf of evt.data instanceof Uint8Array ? [evt.data] : evt.data) {
          for (let i = 0; i < buf.byteLength; i++) {
            if (buf[i] !== (received + i) % chunk.byteLength % 251) { ok = false }
          }
          received += buf.byteLength
        }
        if (received >= total) { resolve() }
      })
    })

    let sawBackpressure = false
    for (let i = 0; i < 32; i++) {
      if (!outbound.send(chunk)) {
        sawBackpressure = true
        await pEvent(outbound, 'drain')
      }
    }

    await done
    expect(sawBackpressure).to.equal(true)
    expect(received).to.equal(total)
    expect(ok).to.equal(true)
  })

  it('hands the messages of one socket read on together: small ones joined, a large one as it is', async () => {
    const { socket, inbound } = await rawPair()
    const large = Buffer.alloc(COALESCE_BYTES, 7)
    const received = pEvent<'message', StreamMessageEvent>(inbound, 'message')

    // one TCP write, so one socket read: four binary messages
    socket.write(Buffer.concat([
      clientFrame(2, Buffer.from([1, 2])),
      clientFrame(2, large),
      clientFrame(2, Buffer.from([3, 4, 5])),
      clientFrame(2, Buffer.from([6]))
    ]))

    const { data } = await received
    expect(data).to.be.an.instanceOf(Uint8ArrayList)
    const chunks = [...data as Uint8ArrayList]
    expect(chunks.map(c => c.byteLength)).to.deep.equal([2, COALESCE_BYTES, 4])
    expect([...chunks[0], ...chunks[2]]).to.deep.equal([1, 2, 3, 4, 5, 6])
    expect(Buffer.from(chunks[1]).equals(large)).to.equal(true)
  })

  it('pauses the socket while the reader is paused (read backpressure)', async () => {
    const { outbound, inbound } = await pair()
    inbound.pause()
    const chunk = new Uint8Array(64 * 1024)
    while (outbound.send(chunk)) {
      // keep sending until send() reports backpressure
    }
    await new Promise(resolve => setTimeout(resolve, 100))
    // the sender is held back by TCP rather than buffering everything remotely
    expect(outbound.writableNeedsDrain).to.equal(true)
    expect(inbound.readBufferLength).to.be.lessThan(4 * 1024 * 1024)
    const drained = pEvent(outbound, 'drain')
    inbound.resume()
    await drained
  })

  it('closes with 1002 and a WebSocketProtocolError on a reserved opcode, and other connections carry on', async () => {
    listener = webSockets()(components()).createListener({ upgrader })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0/ws'))
    const addr = listener.getAddrs()[0]
    const nextBad = upgrader.nextInbound()
    const bad = await upgradedSocket(addr, sockets)
    const badConn = await nextBad
    const nextGood = upgrader.nextInbound()
    const good = await upgradedSocket(addr, sockets)
    const goodConn = await nextGood

    const closeEvent = pEvent<'close', StreamCloseEvent>(badConn, 'close')
    const received: Buffer[] = []
    bad.socket.on('data', (d: Buffer) => received.push(d))
    bad.socket.write(Buffer.from([0x83, 0x80, 0x01, 0x02, 0x03, 0x04]))
    const evt = await closeEvent
    expect(evt.error?.name).to.equal('WebSocketProtocolError')
    expect((evt.error as any).code).to.equal('WS_ERR_INVALID_OPCODE')
    expect((evt.error as any).closeCode).to.equal(1002)
    await closed(bad.socket)
    expect(serverCloseCode(Buffer.concat(received))).to.equal(1002)

    const message = pEvent<'message', any>(goodConn, 'message')
    good.socket.write(clientFrame(0x2, Buffer.from('still here')))
    expect(Buffer.from((await message).data.subarray()).toString()).to.equal('still here')
  })

  it('closes with 1009 on a message larger than maxPayload', async () => {
    const { socket, inbound: conn } = await rawPair({ maxPayload: 1024 })
    const closeEvent = pEvent<'close', StreamCloseEvent>(conn, 'close')
    const received: Buffer[] = []
    socket.on('data', (d: Buffer) => received.push(d))
    socket.write(clientFrame(0x2, Buffer.alloc(1025)))
    expect(((await closeEvent).error as any)?.closeCode).to.equal(1009)
    await closed(socket)
    expect(serverCloseCode(Buffer.concat(received))).to.equal(1009)
  })
})

describe('coalesce', () => {
  const small = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)

  it('returns a single chunk and a run of one chunk as they are', () => {
    const a = small(10, 1)
    expect(coalesce([a])[0]).to.equal(a)
    const large = small(COALESCE_BYTES, 2)
    const out = coalesce([a, large])
    expect(out[0]).to.equal(a)
    expect(out[1]).to.equal(large)
  })

  it('never copies a chunk of COALESCE_BYTES or more, and joins the small ones around it in order', () => {
    const large = small(COALESCE_BYTES * 2, 9)
    const out = coalesce([small(1, 1), small(2, 2), large, small(3, 3), small(4, 4)])
    expect(out.map(c => c.byteLength)).to.deep.equal([3, COALESCE_BYTES * 2, 7])
    expect(out[1]).to.equal(large)
    expect([...out[0], ...out[2]]).to.deep.equal([1, 2, 2, 3, 3, 3, 4, 4, 4, 4])
  })

  it('starts a new joined chunk once a run reaches COALESCE_BYTES', () => {
    const piece = COALESCE_BYTES / 4
    const pieces = Array.from({ length: 10 }, (_, i) => small(piece, i))
    const out = coalesce(pieces)
    expect(out.map(c => c.byteLength)).to.deep.equal([4 * piece, 4 * piece, 2 * piece])
    expect(Buffer.concat(out).equals(Buffer.concat(pieces))).to.equal(true)
  })

  it('returns nothing for nothing', () => {
    expect(coalesce([])).to.deep.equal([])
  })
})
