/**
 * The five things measured side by side, behind one small interface for raw
 * connections (dial → connection, write with backpressure, read, close) and
 * one factory for full libp2p nodes.
 *
 * - `tolerant-ws`: this package
 * - `@libp2p/websockets`: the published reference (10.x; dials with the
 * global `WebSocket`, i.e. undici)
 * - `@libp2p/tcp`: libp2p's TCP transport
 * - `ws`: raw `ws` ↔ `ws`, no libp2p
 * - `net`: raw TCP sockets, the floor
 */
import http from 'node:http'
import net from 'node:net'
import { TypedEventEmitter } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { WebSocket, WebSocketServer } from 'ws'
import type { Libp2pEvents, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'

export const IMPLS = ['tolerant-ws', '@libp2p/websockets', '@libp2p/tcp', 'ws', 'net'] as const
export type ImplName = typeof IMPLS[number]
export const LIBP2P_IMPLS: ImplName[] = ['tolerant-ws', '@libp2p/websockets', '@libp2p/tcp']
export const REFERENCE: ImplName = '@libp2p/websockets'
export const OURS: ImplName = 'tolerant-ws'

/** A kernel accept queue long enough for the concurrency scenario (the OS caps it at somaxconn) */
export const BACKLOG = 4096

/** A raw, un-upgraded connection */
export interface RawConn {
  /** false: wait for `drain()` before writing more */
  write(buf: Uint8Array): boolean
  drain(): Promise<void>
  onData(listener: (buf: Uint8Array | { byteLength: number, subarray(): Uint8Array }) => void): void
  close(): Promise<void>
}

export interface RawServer {
  addr: string
  close(): Promise<void>
}

export interface RawImpl {
  listen(onConnection: (conn: RawConn) => void): Promise<RawServer>
  dial(addr: string): Promise<RawConn>
}

/** libp2p transports need these; `events` is where listeners announce themselves */
function transportComponents (): any {
  return {
    logger: defaultLogger(),
    events: new TypedEventEmitter<Libp2pEvents>()
  }
}

/** The pass-through upgrader: outbound returns the MultiaddrConnection itself */
function passThroughUpgrader (onInbound: (maConn: MultiaddrConnection) => void): Upgrader {
  return {
    async upgradeInbound (maConn: MultiaddrConnection): Promise<void> {
      onInbound(maConn)
    },
    async upgradeOutbound (maConn: MultiaddrConnection): Promise<any> {
      return maConn
    },
    createInboundAbortSignal (signal: AbortSignal): any {
      return Object.assign(AbortSignal.any([signal]), { clear: () => {} })
    },
    getStreamMuxers: () => new Map(),
    getConnectionEncrypters: () => new Map()
  } as unknown as Upgrader
}

export async function transportFactory (impl: ImplName): Promise<(components: any) => Transport> {
  switch (impl) {
    case 'tolerant-ws': {
      // TOLERANT_WS_DIST: another build of this package, for before/after runs (--compare)
      const { webSockets } = process.env.TOLERANT_WS_DIST != null
        ? await import(process.env.TOLERANT_WS_DIST) as typeof import('../src/index.js')
        : await import('../src/index.js')
      return webSockets()
    }
    case '@libp2p/websockets': {
      const { webSockets } = await import('@libp2p/websockets')
      return webSockets() as any
    }
    case '@libp2p/tcp': {
      const { tcp } = await import('@libp2p/tcp')
      return tcp() as any
    }
    default:
      throw new Error(`${impl} is not a libp2p transport`)
  }
}

export function listenAddr (impl: ImplName): string {
  return impl === '@libp2p/tcp' ? '/ip4/127.0.0.1/tcp/0' : '/ip4/127.0.0.1/tcp/0/ws'
}

function maConnToRaw (maConn: MultiaddrConnection): RawConn {
  return {
    write: (buf) => maConn.send(buf),
    drain: async () => { await maConn.onDrain() },
    onData: (listener) => {
      maConn.addEventListener('message', (evt) => { listener(evt.data as any) })
    },
    close: async () => { await maConn.close() }
  }
}

function libp2pRaw (impl: ImplName): RawImpl {
  let transport: Transport | undefined
  let lastAddr: string | undefined
  let lastMa: ReturnType<typeof multiaddr> | undefined
  const outboundUpgrader = passThroughUpgrader(() => {})
  const get = async (): Promise<Transport> => {
    transport ??= (await transportFactory(impl))(transportComponents())
    return transport
  }

  return {
    async listen (onConnection) {
      const t = await get()
      const listener = t.createListener({ upgrader: passThroughUpgrader(maConn => { onConnection(maConnToRaw(maConn)) }) } as any)
      await listener.listen(multiaddr(listenAddr(impl)))
      return {
        addr: listener.getAddrs()[0].toString(),
        close: async () => { await listener.close() }
      }
    },
    async dial (addr) {
      const t = await get()
      // libp2p dials an already parsed multiaddr: parse once, outside the timing
      if (addr !== lastAddr) {
        lastAddr = addr
        lastMa = multiaddr(addr)
      }
      const maConn = await t.dial(lastMa!, {
        upgrader: outboundUpgrader,
        // libp2p hands every dial its own signal
        signal: new AbortController().signal
      } as any) as unknown as MultiaddrConnection
      return maConnToRaw(maConn)
    }
  }
}

function socketDrain (socket: net.Socket): Promise<void> {
  return new Promise(resolve => {
    if (!socket.writableNeedDrain) {
      resolve()
      return
    }
    const done = (): void => {
      socket.removeListener('drain', done)
      socket.removeListener('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })
}

function netToRaw (socket: net.Socket): RawConn {
  return {
    write: (buf) => socket.write(buf),
    drain: async () => { await socketDrain(socket) },
    onData: (listener) => { socket.on('data', listener) },
    close: async () => {
      if (socket.closed) {
        return
      }
      await new Promise<void>(resolve => {
        socket.once('close', () => { resolve() })
        socket.end()
      })
    }
  }
}

function netRaw (): RawImpl {
  return {
    async listen (onConnection) {
      const server = net.createServer({ noDelay: true }, (socket) => {
        socket.on('error', () => { socket.destroy() })
        onConnection(netToRaw(socket))
      })
      await new Promise<void>(resolve => server.listen({ host: '127.0.0.1', port: 0, backlog: BACKLOG }, resolve))
      const { port } = server.address() as net.AddressInfo
      return {
        addr: `127.0.0.1:${port}`,
        close: async () => {
          await new Promise<void>(resolve => { server.close(() => { resolve() }) })
        }
      }
    },
    async dial (addr) {
      const [host, port] = addr.split(':')
      return new Promise((resolve, reject) => {
        const socket = net.connect({ host, port: Number(port), noDelay: true })
        socket.once('connect', () => {
          socket.removeListener('error', reject)
          socket.on('error', () => { socket.destroy() })
          resolve(netToRaw(socket))
        })
        socket.once('error', reject)
      })
    }
  }
}

function wsToRaw (ws: WebSocket): RawConn {
  const socket: net.Socket = (ws as any)._socket
  return {
    write: (buf) => {
      ws.send(buf, { binary: true })
      return !socket.writableNeedDrain
    },
    drain: async () => { await socketDrain(socket) },
    onData: (listener) => { ws.on('message', listener as any) },
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) {
        return
      }
      await new Promise<void>(resolve => {
        ws.once('close', () => { resolve() })
        ws.close()
      })
    }
  }
}

function wsRaw (): RawImpl {
  return {
    async listen (onConnection) {
      const server = http.createServer()
      const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false })
      wss.on('connection', (ws) => {
        ws.on('error', () => { ws.terminate() })
        onConnection(wsToRaw(ws))
      })
      await new Promise<void>(resolve => server.listen({ host: '127.0.0.1', port: 0, backlog: BACKLOG }, resolve))
      const { port } = server.address() as net.AddressInfo
      return {
        addr: `ws://127.0.0.1:${port}`,
        close: async () => {
          wss.close()
          server.closeAllConnections()
          await new Promise<void>(resolve => { server.close(() => { resolve() }) })
        }
      }
    },
    async dial (addr) {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(addr, { perMessageDeflate: false })
        ws.once('open', () => {
          ws.removeListener('error', reject)
          ws.on('error', () => { ws.terminate() })
          resolve(wsToRaw(ws))
        })
        ws.once('error', reject)
      })
    }
  }
}

export function rawImpl (impl: ImplName): RawImpl {
  switch (impl) {
    case 'net': return netRaw()
    case 'ws': return wsRaw()
    default: return libp2pRaw(impl)
  }
}

/** libp2p rate-limits inbound connections per host; the benchmark runs on loopback, so loopback is allow-listed */
export const LOOPBACK_ALLOW = ['/ip4/127.0.0.1/ipcidr/32', '/ip6/::1/ipcidr/128']

/** A libp2p 3 node with noise + yamux + ping + identify over `impl` */
export async function createBenchNode (impl: ImplName, listen: boolean): Promise<any> {
  const [{ createLibp2p }, { noise }, { yamux }, { ping }, { identify }] = await Promise.all([
    import('libp2p'),
    import('@chainsafe/libp2p-noise'),
    import('@chainsafe/libp2p-yamux'),
    import('@libp2p/ping'),
    import('@libp2p/identify')
  ])

  return createLibp2p({
    addresses: { listen: listen ? [listenAddr(impl)] : [] },
    transports: [await transportFactory(impl) as any],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      allow: LOOPBACK_ALLOW,
      // the default (300) would prune the concurrency scenario's connections
      maxConnections: 10_000
    },
    // its ping every 10 s collides with the measured ping (ping allows one
    // outbound stream per connection) and then aborts the whole connection:
    // about one failed dial + ping per 2 000 on every transport. js-libp2p's
    // own ping tests turn it off for the same reason (libp2p/js-libp2p#3283)
    connectionMonitor: { enabled: false },
    services: {
      ping: ping(),
      identify: identify()
    }
  })
}
