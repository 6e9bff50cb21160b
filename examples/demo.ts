/**
 * Two libp2p nodes on tolerant-ws, on loopback: one listens, the other dials
 * it and pings it a few times. Run with `npm run demo`.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import { webSockets } from '../src/index.js'

async function createNode (listen: string[]): ReturnType<typeof createLibp2p<{ ping: ReturnType<ReturnType<typeof ping>> }>> {
  return createLibp2p({
    addresses: { listen },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { ping: ping(), identify: identify() }
  })
}

const started = performance.now()
const since = (): string => `${(performance.now() - started).toFixed(1)} ms`

const listener = await createNode(['/ip4/127.0.0.1/tcp/0/ws'])
console.log(`[${since()}] listener ${listener.peerId.toString()} listening on`)
listener.getMultiaddrs().forEach(ma => { console.log(`    ${ma.toString()}`) })

const dialer = await createNode([])
console.log(`[${since()}] dialer ${dialer.peerId.toString()} started`)

const target = listener.getMultiaddrs()[0]
const dialStart = performance.now()
const connection = await dialer.dial(target)
console.log(`[${since()}] connected in ${(performance.now() - dialStart).toFixed(1)} ms over ${connection.remoteAddr.toString()} (${connection.encryption ?? '?'}, ${connection.multiplexer ?? '?'})`)

for (let i = 1; i <= 3; i++) {
  const rtt = await dialer.services.ping.ping(target)
  console.log(`[${since()}] ping ${i}: ${rtt.toFixed(2)} ms`)
}

await Promise.all([dialer.stop(), listener.stop()])
console.log(`[${since()}] both nodes stopped`)
