/* eslint-disable no-console */
/**
 * The smallest useful libp2p 3 config with tolerant-ws: our WebSocket
 * transport, our pubsub peer discovery, gossipsub as the router it needs,
 * identify, and ping.
 *
 * Run: `npm run build && npx node dist/examples/minimal.js`. Three nodes
 * start on loopback; b and c each dial a, and nobody tells b about c or c
 * about b: they find each other through the discovery records pubsub
 * carries, then ping each other over the address they discovered.
 *
 * In your own project import from the package instead:
 * `import { webSockets } from 'tolerant-ws'` and
 * `import { pubsubPeerDiscovery } from 'tolerant-ws/discovery'`.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import { pubsubPeerDiscovery } from '../src/discovery/index.js'
import { webSockets } from '../src/transport/index.js'
import type { PeerInfo } from '@libp2p/interface'

async function createNode (): ReturnType<typeof createLibp2p<{ ping: ReturnType<ReturnType<typeof ping>> }>> {
  return createLibp2p({
    addresses: {
      // 0.0.0.0 to be reachable from elsewhere; this example stays on loopback
      listen: ['/ip4/127.0.0.1/tcp/0/ws']
    },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // discovery goes under peerDiscovery, not services, or libp2p never hears
    // its peers. A node announces when it starts listening, greets peers that
    // connect to it, and re-announces every `interval` ms; two peers that are
    // not connected to each other can miss the first and wait for the next,
    // so this example re-announces every second (the default is 10 s)
    peerDiscovery: [pubsubPeerDiscovery({ interval: 1_000 })],
    services: {
      // discovery finds the router under the name `pubsub`
      pubsub: gossipsub() as any,
      identify: identify(),
      ping: ping()
    }
  })
}

type Node = Awaited<ReturnType<typeof createNode>>

/**
 * Resolves with the first `peer:discovery` event `node` emits for `target`.
 * libp2p emits it for any peer new to its peer store; b and c never connect
 * to each other, so theirs can only come from pubsub discovery.
 */
async function discovered (node: Node, target: Node): Promise<PeerInfo> {
  return new Promise(resolve => {
    const onPeer = (evt: CustomEvent<PeerInfo>): void => {
      if (evt.detail.id.equals(target.peerId)) {
        node.removeEventListener('peer:discovery', onPeer)
        resolve(evt.detail)
      }
    }
    node.addEventListener('peer:discovery', onPeer)
  })
}

const [a, b, c] = await Promise.all([createNode(), createNode(), createNode()])

try {
  for (const [name, node] of [['a', a], ['b', b], ['c', c]] as const) {
    console.log(`${name} ${node.peerId.toString()} listens on ${node.getMultiaddrs().map(String).join(', ')}`)
  }

  const bFindsC = discovered(b, c)
  const cFindsB = discovered(c, b)

  // b and c know a only; pubsub carries their discovery records through a
  await b.dial(a.getMultiaddrs()[0])
  await c.dial(a.getMultiaddrs()[0])

  const [seenByB, seenByC] = await Promise.all([bFindsC, cFindsB])
  console.log(`b discovered c at ${seenByB.multiaddrs.map(String).join(', ')}`)
  console.log(`c discovered b at ${seenByC.multiaddrs.map(String).join(', ')}`)

  // the ping dials the address discovery found
  console.log(`b pinged c: ${await b.services.ping.ping(c.peerId)} ms`)
  console.log(`c pinged b: ${await c.services.ping.ping(b.peerId)} ms`)
} finally {
  await Promise.all([a.stop(), b.stop(), c.stop()])
}
