/**
 * The Node side of the browser tests: libp2p 3 nodes on our transport with
 * gossipsub, our discovery, ping, identify and an echo protocol.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import { pubsubPeerDiscovery } from '../../src/discovery/index.js'
import { webSockets } from '../../src/transport/index.js'
import { LOOPBACK_ALLOW } from '../fixtures/nodes.js'
import { ECHO_PROTOCOL } from './protocol.js'
import type { Connection, Libp2p } from '@libp2p/interface'

export interface NodeSide {
  node: Libp2p
  /** connections that arrived from elsewhere, in order */
  inbound: Connection[]
}

export async function createNodeSide (): Promise<NodeSide> {
  const inbound: Connection[] = []
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { allow: LOOPBACK_ALLOW },
    connectionMonitor: { enabled: false },
    peerDiscovery: [pubsubPeerDiscovery({ interval: 1000 })],
    services: { identify: identify(), ping: ping(), pubsub: gossipsub() as any }
  })

  node.addEventListener('connection:open', (evt) => {
    if (evt.detail.direction === 'inbound') {
      inbound.push(evt.detail)
    }
  })

  await node.handle(ECHO_PROTOCOL, async (stream) => {
    for await (const chunk of stream) {
      if (!stream.send(chunk)) {
        await stream.onDrain()
      }
    }
    await stream.close()
  })

  return { node, inbound }
}
