// test-plans transport-interop peer on js-libp2p 2 with @libp2p/websockets 9.
// The contract itself lives in ../peer-core.ts (compiled to dist/interop).
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { mplex } from '@libp2p/mplex'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { all } from '@libp2p/websockets/filters'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { createClient } from 'redis'
import { runPeer } from '../../dist/interop/peer-core.js'

runPeer({
  createLibp2p,
  multiaddr,
  createClient,
  async transport ({ transport, isDialer }) {
    if (transport === 'wss' && !isDialer) {
      throw new Error('this peer does not listen on wss (neither does upstream js-libp2p)')
    }
    // dials self-signed wss listeners with the global WebSocket
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
    return webSockets({ filter: all })
  },
  encrypters: { noise: () => noise() },
  muxers: { yamux: () => yamux(), mplex: () => mplex() },
  services: { ping: () => ping(), identify: () => identify() }
})
