/* eslint-disable no-console */
/**
 * A node behind an outbound HTTP proxy: every dial, `ws` or `wss`, goes
 * through an HTTP `CONNECT` tunnel. In Node the transport dials with `ws`,
 * whose options (`websocket` in {@link webSockets}) take a
 * `createConnection`; the one below opens the tunnel.
 *
 * Run: `npm run build && npx node dist/examples/proxy.js`. With no
 * configuration it starts a small CONNECT proxy on 127.0.0.1 and shows the
 * tunnel it opened; set `PROXY_URL=http://host:port` to go through your own
 * proxy instead (it must allow CONNECT to the listener's port).
 *
 * The `https-proxy-agent` package does the same as an agent:
 * `webSockets({ websocket: { agent: new HttpsProxyAgent(process.env.HTTPS_PROXY) } })`.
 */
import http from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import { webSockets } from '../src/transport/index.js'
import { loopbackCertificate } from './certificate.js'
import type { WebSocketsInit } from '../src/transport/index.js'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'

/**
 * A `createConnection` for `ws` that reaches every host through
 * `CONNECT host:port` on an HTTP proxy, and runs TLS inside the tunnel for
 * `wss` (with the `ca`, `rejectUnauthorized` and `servername` `ws` passes).
 *
 * Node's HTTP client accepts a `createConnection` that hands its socket to
 * a callback instead of returning it (see `agent.createConnection()` in the
 * Node docs); `@types/ws` types it as the synchronous `net.createConnection`,
 * hence the cast. Unlike an `http.Agent` it serves `ws://` and `wss://`
 * alike.
 */
function connectThroughProxy (proxyUrl: string): typeof net.createConnection {
  const proxy = new URL(proxyUrl)

  const createConnection = (options: tls.ConnectionOptions & { defaultPort?: number }, callback: (err: Error | null, stream?: Duplex) => void): undefined => {
    const host = String(options.host)
    const target = `${net.isIPv6(host) ? `[${host}]` : host}:${String(options.port)}`
    const socket = net.connect(Number(proxy.port), proxy.hostname)
    let answer = ''

    const fail = (err: Error): void => {
      socket.destroy()
      callback(err)
    }
    const onData = (chunk: Buffer): void => {
      answer += chunk.toString('latin1')

      if (!answer.includes('\r\n\r\n')) {
        return
      }

      socket.off('data', onData)
      socket.off('error', fail)

      if (!/^HTTP\/1\.[01] 200/.test(answer)) {
        fail(new Error(`proxy refused CONNECT ${target}: ${answer.split('\r\n')[0]}`))
      } else if (options.defaultPort === 443) {
        // ws sets defaultPort 443 for wss:// (80 for ws://): TLS to the listener, inside the tunnel
        const secure: tls.ConnectionOptions = { socket }
        for (const name of ['ca', 'cert', 'key', 'rejectUnauthorized', 'checkServerIdentity', 'servername'] as const) {
          if (options[name] !== undefined) {
            (secure as any)[name] = options[name]
          }
        }
        if (secure.servername == null && net.isIP(host) === 0) {
          secure.servername = host
        }
        try {
          callback(null, tls.connect(secure))
        } catch (err: any) {
          fail(err)
        }
      } else {
        callback(null, socket)
      }
    }

    socket.on('data', onData)
    socket.once('error', fail)
    socket.once('connect', () => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`)
    })

    return undefined
  }

  return createConnection as unknown as typeof net.createConnection
}

/** A minimal CONNECT proxy on 127.0.0.1 that logs each tunnel */
async function startProxy (): Promise<{ url: string, tunnels: string[], close(): Promise<void> }> {
  const tunnels: string[] = []
  const sockets = new Set<Socket>()
  const server = http.createServer((req, res) => { res.writeHead(405).end() })

  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    const [host, port] = (req.url ?? '').split(':')
    tunnels.push(`${host}:${port}`)
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      // a tunnel end going away takes the other end with it
      s.on('error', () => { client.destroy(); upstream.destroy() })
    }
  })

  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: async () => {
      for (const s of sockets) { s.destroy() }
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

async function createNode (listen: string[], init: WebSocketsInit): ReturnType<typeof createLibp2p<{ ping: ReturnType<ReturnType<typeof ping>> }>> {
  return createLibp2p({
    addresses: { listen },
    transports: [webSockets(init)],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() }
  })
}

const ownProxy = process.env.PROXY_URL == null ? await startProxy() : undefined
const proxyUrl = process.env.PROXY_URL ?? ownProxy!.url
const { key, cert } = await loopbackCertificate()

// the node behind the proxy only dials out, so it listens on nothing; `ca`
// trusts the listener's self-signed certificate for the wss dial
const behindProxy = await createNode([], { websocket: { createConnection: connectThroughProxy(proxyUrl), ca: cert } })
const listener = await createNode(['/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/tcp/0/tls/ws'], { https: { key, cert } })

try {
  console.log(`dialing through the proxy at ${proxyUrl}`)

  for (const addr of listener.getMultiaddrs()) {
    const connection = await behindProxy.dial(addr)
    const rtt = await behindProxy.services.ping.ping(listener.peerId)
    console.log(`${addr.toString()}: connected (${connection.encryption ?? '?'}, ${connection.multiplexer ?? '?'}), ping ${rtt} ms`)
    await behindProxy.hangUp(listener.peerId)
  }

  if (ownProxy != null) {
    console.log(`the proxy opened ${ownProxy.tunnels.length} tunnel(s): ${ownProxy.tunnels.map(t => `CONNECT ${t}`).join(', ')}`)
  }
} finally {
  await Promise.all([behindProxy.stop(), listener.stop()])
  await ownProxy?.close()
}
