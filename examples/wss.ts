/* eslint-disable no-console */
/**
 * A `wss` listener with a certificate, and a dialer that trusts it.
 *
 * Run: `npm run build && npx node dist/examples/wss.js`. With no
 * configuration it makes a throw-away self-signed certificate for
 * 127.0.0.1; point `TLS_CERT` and `TLS_KEY` at PEM files to use your own
 * (and `TLS_CA` at the CA the dialer should trust, if it is not a public one).
 *
 * - The listener listens on `/tls/ws` (`/wss` works too) and reports
 * `/tls/ws` addresses.
 * - The dialer passes the certificate's CA as `websocket.ca`; a dialer that
 * does not trust it is refused with a `ConnectionFailedError`.
 */
import { readFile } from 'node:fs/promises'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import { webSockets } from '../src/transport/index.js'
import { loopbackCertificate } from './certificate.js'
import type { WebSocketsInit } from '../src/transport/index.js'

async function certificate (): Promise<{ key: string, cert: string, ca: string }> {
  const { TLS_CERT, TLS_KEY, TLS_CA } = process.env

  if (TLS_CERT != null && TLS_KEY != null) {
    const cert = await readFile(TLS_CERT, 'utf8')
    return { cert, key: await readFile(TLS_KEY, 'utf8'), ca: TLS_CA != null ? await readFile(TLS_CA, 'utf8') : cert }
  }

  const generated = await loopbackCertificate()
  return { ...generated, ca: generated.cert }
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

const { key, cert, ca } = await certificate()

// listening: the certificate and key go in `https`
const listener = await createNode(['/ip4/127.0.0.1/tcp/0/tls/ws'], { https: { key, cert } })
// dialing: trust the certificate's CA (not needed for a publicly trusted certificate)
const dialer = await createNode([], { websocket: { ca } })
// dialing without trusting it: refused
const stranger = await createNode([], {})

try {
  const addr = listener.getMultiaddrs()[0]
  console.log(`listener on ${addr.toString()}`)

  const connection = await dialer.dial(addr)
  console.log(`dialer connected over ${connection.remoteAddr.toString()} (${connection.encryption ?? '?'} inside TLS)`)
  console.log(`dialer pinged the listener: ${await dialer.services.ping.ping(listener.peerId)} ms`)

  const refusal = await stranger.dial(addr).then(() => undefined, (err: any) => err.errors?.[0] ?? err)

  if (refusal == null) {
    throw new Error('a dialer that does not trust the certificate connected')
  }

  console.log(`a dialer without the CA was refused: ${String(refusal.name)}: ${String(refusal.message)}`)
} finally {
  await Promise.all([listener.stop(), dialer.stop(), stranger.stop()])
}
