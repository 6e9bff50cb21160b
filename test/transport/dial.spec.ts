import { getEventListeners } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { WebSocketServer } from 'ws'
import { webSockets } from '../../src/index.js'
import { selfSignedCertificate } from '../fixtures/certificate.js'
import { closed } from '../fixtures/sockets.js'
import { components, stubUpgrader } from '../fixtures/upgrader.js'
import type { WebSocketsInit } from '../../src/index.js'
import type { StubUpgrader } from '../fixtures/upgrader.js'
import type { Listener, MultiaddrConnection, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

describe('webSockets() dial', function () {
  this.timeout(10_000)

  let cleanup: Array<() => unknown>
  let upgrader: StubUpgrader

  beforeEach(() => {
    cleanup = []
    upgrader = stubUpgrader()
  })

  afterEach(async () => {
    for (const fn of cleanup.reverse()) {
      await fn()
    }
  })

  function transport (init: WebSocketsInit = {}): Transport {
    return webSockets(init)(components())
  }

  async function listen (init: WebSocketsInit = {}, addr = '/ip4/127.0.0.1/tcp/0/ws'): Promise<{ listener: Listener, addr: Multiaddr }> {
    const listener = transport(init).createListener({ upgrader })
    cleanup.push(async () => listener.close())
    await listener.listen(multiaddr(addr))
    return { listener, addr: listener.getAddrs()[0] }
  }

  async function dial (t: Transport, addr: Multiaddr, signal = AbortSignal.timeout(5000), onProgress?: (evt: any) => void): Promise<MultiaddrConnection> {
    const maConn = await t.dial(addr, { upgrader, signal, onProgress }) as unknown as MultiaddrConnection
    cleanup.push(() => { maConn.abort(new Error('test over')) })
    return maConn
  }

  /** A TCP server that accepts and never answers */
  async function tarpit (): Promise<{ addr: Multiaddr, accepted: net.Socket[] }> {
    const accepted: net.Socket[] = []
    const server = net.createServer(socket => { accepted.push(socket); socket.on('error', () => {}); socket.resume() })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    cleanup.push(async () => {
      accepted.forEach(s => s.destroy())
      await new Promise(resolve => server.close(resolve))
    })
    return { addr: multiaddr(`/ip4/127.0.0.1/tcp/${(server.address() as net.AddressInfo).port}/ws`), accepted }
  }

  /** An HTTP server answering every upgrade with `respond` */
  async function httpServer (respond: (req: http.IncomingMessage, socket: net.Socket) => void): Promise<{ addr: Multiaddr, requests: http.IncomingMessage[] }> {
    const requests: http.IncomingMessage[] = []
    const upgraded: net.Socket[] = []
    const server = http.createServer()
    server.on('upgrade', (req, socket: net.Socket) => {
      requests.push(req)
      upgraded.push(socket)
      socket.on('error', () => {})
      respond(req, socket)
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    cleanup.push(async () => {
      upgraded.forEach(s => s.destroy())
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    })
    return { addr: multiaddr(`/ip4/127.0.0.1/tcp/${(server.address() as net.AddressInfo).port}/ws`), requests }
  }

  it('connects to a listener and exchanges bytes', async () => {
    const { addr } = await listen()
    const inbound = upgrader.nextInbound()
    const outbound = await dial(transport(), addr)
    const remote = await inbound
    const received = new Promise<Uint8Array>(resolve => remote.addEventListener('message', (evt) => { resolve(evt.data.subarray()) }, { once: true }))
    outbound.send(Uint8Array.from([1, 2, 3]))
    expect([...await received]).to.deep.equal([1, 2, 3])
    expect(remote.remoteAddr.toString()).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws$/)
  })

  it('rejects a pre-aborted signal with AbortError without opening a socket', async () => {
    const { addr, accepted } = await tarpit()
    const err: any = await transport().dial(addr, { upgrader, signal: AbortSignal.abort() }).catch((err: Error) => err)
    expect(err?.name).to.equal('AbortError')
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(accepted).to.have.lengthOf(0)
  })

  it('rejects with AbortError promptly when aborted mid-handshake, and the socket is gone', async () => {
    const { addr, accepted } = await tarpit()
    const controller = new AbortController()
    const dialing = transport().dial(addr, { upgrader, signal: controller.signal }).catch((err: Error) => err)
    while (accepted.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    const start = Date.now()
    controller.abort()
    const err: any = await dialing
    expect(err?.name).to.equal('AbortError')
    expect(Date.now() - start).to.be.lessThan(100)
    await closed(accepted[0])
  })

  it('rejects with TimeoutError at handshakeTimeout against a server that never answers', async () => {
    const { addr, accepted } = await tarpit()
    const start = Date.now()
    const err: any = await transport({ handshakeTimeout: 200 }).dial(addr, { upgrader, signal: AbortSignal.timeout(5000) }).catch((err: Error) => err)
    expect(err?.name).to.equal('TimeoutError')
    expect(Date.now() - start).to.be.within(150, 1500)
    await closed(accepted[0])
  })

  it('rejects with ConnectionFailedError when the port is closed', async () => {
    const { addr } = await tarpit()
    await cleanup.pop()?.()
    const err: any = await transport().dial(addr, { upgrader, signal: AbortSignal.timeout(5000) }).catch((err: Error) => err)
    expect(err?.name).to.equal('ConnectionFailedError')
  })

  it('does not follow a redirect: UpgradeRejectedError with the status', async () => {
    const { addr, requests } = await httpServer((req, socket) => {
      socket.end('HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n')
    })
    const err: any = await transport().dial(addr, { upgrader, signal: AbortSignal.timeout(5000) }).catch((err: Error) => err)
    expect(err?.name).to.equal('UpgradeRejectedError')
    expect(err.statusCode).to.equal(302)
    expect(requests).to.have.lengthOf(1)
  })

  it('rejects a 101 with a wrong Sec-WebSocket-Accept with UpgradeRejectedError', async () => {
    const { addr } = await httpServer((req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm9wZQ==\r\n\r\n')
    })
    const err: any = await transport().dial(addr, { upgrader, signal: AbortSignal.timeout(5000) }).catch((err: Error) => err)
    expect(err?.name).to.equal('UpgradeRejectedError')
  })

  it('leaves no listener on the caller\'s signal after dials succeed or fail', async () => {
    const { addr } = await listen()
    const controller = new AbortController()
    const t = transport()

    for (let i = 0; i < 20; i++) {
      await dial(t, addr, controller.signal)
    }

    await t.dial(multiaddr('/ip4/127.0.0.1/tcp/1/ws'), { upgrader, signal: controller.signal }).catch(() => {})
    expect(getEventListeners(controller.signal, 'abort')).to.have.lengthOf(0)
  })

  it('reports the websockets:open-connection progress event', async () => {
    const { addr } = await listen()
    const events: string[] = []
    await dial(transport(), addr, AbortSignal.timeout(5000), (evt) => events.push(evt.type))
    expect(events).to.include('websockets:open-connection')
  })

  it('never offers compression, and sends the configured headers and the /http-path', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    cleanup.push(async () => new Promise(resolve => server.close(resolve)))
    server.on('connection', socket => socket.on('error', () => {}))
    await new Promise(resolve => server.once('listening', resolve))
    const request = new Promise<http.IncomingMessage>(resolve => server.once('connection', (_, req) => { resolve(req) }))
    const port = (server.address() as net.AddressInfo).port

    await dial(transport({ websocket: { headers: { 'x-test': 'yes' } } }), multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws/http-path/${encodeURIComponent('some/path')}`))
    const req = await request
    expect(req.headers['sec-websocket-extensions']).to.equal(undefined)
    expect(req.headers['x-test']).to.equal('yes')
    expect(req.url).to.equal('/some/path')
  })

  it('dials a /tls/ws listener with TLS client options from the websocket option', async () => {
    const https = await selfSignedCertificate()
    const { addr } = await listen({ https }, '/ip4/127.0.0.1/tcp/0/tls/ws')
    const inbound = upgrader.nextInbound()
    await dial(transport({ websocket: { ca: https.cert } }), addr)
    expect((await inbound).remoteAddr.toString()).to.match(/\/tls\/ws$/)

    const err: any = await transport().dial(addr, { upgrader, signal: AbortSignal.timeout(5000) }).catch((err: Error) => err)
    expect(err?.name).to.equal('ConnectionFailedError')
  })

  it('rejects websocket options that ws refuses with InvalidParametersError', async () => {
    const { addr } = await listen()
    const agent = new http.Agent()
    cleanup.push(() => { agent.destroy() })
    const secure = multiaddr(addr.toString().replace('/ws', '/tls/ws'))
    const err: any = await transport({ websocket: { agent } }).dial(secure, { upgrader, signal: AbortSignal.timeout(5000) }).catch((err: Error) => err)
    expect(err?.name).to.equal('InvalidParametersError')
  })

  it('dials /tls/sni/localhost/ws on an IP with that server name', async () => {
    const https = await selfSignedCertificate('localhost')
    const { addr } = await listen({ https }, '/ip4/127.0.0.1/tcp/0/tls/ws')
    const port = addr.getComponents().find(c => c.name === 'tcp')?.value
    await dial(transport({ websocket: { ca: https.cert } }), multiaddr(`/ip4/127.0.0.1/tcp/${port}/tls/sni/localhost/ws`))
  })
})
