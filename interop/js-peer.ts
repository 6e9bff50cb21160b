/**
 * test-plans transport-interop peer on js-libp2p 3 with tolerant-ws, or with
 * the published `@libp2p/websockets` 10 when `IMPL=websockets-v10`.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { mplex } from '@libp2p/mplex'
import { ping } from '@libp2p/ping'
import { tls } from '@libp2p/tls'
import { webSockets as referenceWebSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { createClient } from 'redis'
import { generate } from 'selfsigned'
import { webSockets } from '../src/index.js'
import { runPeer } from './peer-core.js'

const reference = process.env.IMPL === 'websockets-v10'

runPeer({
  createLibp2p,
  multiaddr,
  createClient,
  async transport ({ transport, isDialer }) {
    let https: { key: string, cert: string } | undefined

    if (!isDialer && transport === 'wss') {
      // interop listeners use self-signed certificates
      const pems = await generate([{ name: 'commonName', value: 'tolerant-ws-interop' }], { keySize: 2048 } as any)
      https = { key: pems.private, cert: pems.cert }
    }

    if (reference) {
      // the reference dials with the global WebSocket, which takes no TLS options
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
      return referenceWebSockets({ https })
    }

    return webSockets({ https, websocket: { rejectUnauthorized: false } })
  },
  encrypters: { noise: () => noise(), tls: () => tls() },
  muxers: { yamux: () => yamux(), mplex: () => mplex() },
  services: { ping: () => ping(), identify: () => identify() }
})
