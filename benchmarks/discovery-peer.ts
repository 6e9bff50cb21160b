/**
 * One libp2p node of the discovery-convergence scenario, in its own process.
 *
 * - `ours`: tolerant-ws transport + tolerant-ws pubsubPeerDiscovery
 * - `reference`: `@libp2p/websockets` + `@libp2p/pubsub-peer-discovery`
 *
 * Both: noise, yamux, identify, a pubsub router named `pubsub`, default
 * discovery options, and (except on the bootstrap node) `@libp2p/bootstrap`
 * with the bootstrap node's address. Only the pubsub discovery's own `peer`
 * events count: the runner is told when this node has had one with at least
 * one address for every other node.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { floodsub } from '@libp2p/floodsub'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { pubsubPeerDiscovery as referenceDiscovery } from '@libp2p/pubsub-peer-discovery'
import { createLibp2p } from 'libp2p'
import { pubsubPeerDiscovery as ourDiscovery } from '../src/discovery/index.js'
import { LOOPBACK_ALLOW, transportFactory } from './impls.js'
import { notify, serve } from './proc.js'
import type { PeerInfo } from '@libp2p/interface'

export interface DiscoveryStart {
  stack: 'ours' | 'reference'
  router: 'gossipsub' | 'floodsub'
  /** the bootstrap node's address; none on the bootstrap node itself */
  bootstrapAddr?: string
  /** nodes in the run, this one included */
  total: number
}

/** wall-clock milliseconds, comparable between processes on one machine */
function now (): number {
  return performance.timeOrigin + performance.now()
}

let node: any
// the reference discovery's first publish can reject from a timer
// (PublishError.NoPeersSubscribedToTopic) and would end the process: count
// and survive instead, so both stacks are measured to the end
let unhandled = 0
process.on('unhandledRejection', () => { unhandled++ })
let foundCount = (): number => 0
/** CPU use when the node had started */
let cpuAtStart: NodeJS.CpuUsage | undefined
/** when the node's first connection opened (a joining node's is to the bootstrap node) */
let firstConnectionAt: number | undefined

serve({
  async start ({ stack, router, bootstrapAddr, total }: DiscoveryStart) {
    const found = new Set<string>()
    let convergedAt: number | undefined
    // TOLERANT_WS_DISCOVERY_DIST: another build's dist/src/discovery/index.js (--compare-discovery)
    const pubsubPeerDiscovery: typeof ourDiscovery = process.env.TOLERANT_WS_DISCOVERY_DIST != null
      ? (await import(process.env.TOLERANT_WS_DISCOVERY_DIST)).pubsubPeerDiscovery
      : ourDiscovery
    const discoveryFactory: any = stack === 'ours' ? pubsubPeerDiscovery() : referenceDiscovery()
    const capture = (components: any): any => {
      const discovery = discoveryFactory(components)
      discovery.addEventListener('peer', (evt: CustomEvent<PeerInfo>) => {
        if (evt.detail.multiaddrs.length === 0 || found.has(evt.detail.id.toString())) {
          return
        }
        found.add(evt.detail.id.toString())
        if (found.size >= total - 1 && convergedAt == null) {
          convergedAt = now()
          notify('converged', { at: convergedAt, peerId: node?.peerId.toString() })
        }
      })
      return discovery
    }
    foundCount = () => found.size
    const peerDiscovery = [capture]

    if (bootstrapAddr != null) {
      // the default 1 s delay before dialing the bootstrap node is the same
      // for both stacks; 0 keeps it out of the figure
      peerDiscovery.push(bootstrap({ list: [bootstrapAddr], timeout: 0 }) as any)
    }

    const transport = await transportFactory(stack === 'ours' ? 'tolerant-ws' : '@libp2p/websockets')

    node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
      transports: [transport as any],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { allow: LOOPBACK_ALLOW },
      peerDiscovery,
      services: {
        identify: identify(),
        pubsub: (router === 'floodsub' ? floodsub() : gossipsub({ emitSelf: false })) as any
      }
    })

    const startedAt = now()
    cpuAtStart = process.cpuUsage()
    node.addEventListener('connection:open', () => { firstConnectionAt ??= now() })
    return { startedAt, addr: node.getMultiaddrs()[0]?.toString(), peerId: node.peerId.toString() }
  },

  async status () {
    const cpu = process.cpuUsage(cpuAtStart)
    return {
      connections: node?.getConnections().length ?? 0,
      found: foundCount(),
      unhandled,
      firstConnectionAt,
      /** CPU time since the node started */
      cpuMs: (cpu.user + cpu.system) / 1000
    }
  }
}, async () => {
  await node?.stop()
})
