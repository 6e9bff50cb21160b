/**
 * The Node side of the browser tests: libp2p 3 nodes on our transport with
 * gossipsub, our discovery, ping, identify and an echo protocol.
 */
import { gossipsub } from '@libp2p/gossipsub'
import { pubsubPeerDiscovery } from '../../src/discovery/index.js'
import { createNode } from '../fixtures/nodes.js'
import { ECHO_PROTOCOL } from './protocol.js'
import type { Connection, Libp2p } from '@libp2p/interface'

export interface NodeSide {
  node: Libp2p
  /** connections that arrived from elsewhere, in order */
  inbound: Connection[]
}

export async function createNodeSide (): Promise<NodeSide> {
  const inbound: Connection[] = []
  const node: Libp2p = await createNode({
    peerDiscovery: [pubsubPeerDiscovery({ interval: 1000 })],
    services: { pubsub: gossipsub() } as any
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
