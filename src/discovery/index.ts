/**
 * @packageDocumentation
 *
 * Peer discovery over pubsub, wire-compatible with
 * `@libp2p/pubsub-peer-discovery` 12: same protobuf record, same default
 * topic. It announces as soon as a transport starts listening (instead of
 * waiting for the next interval), greets peers that newly subscribe, checks
 * every record against the pubsub sender, and bounds record size, address
 * count and event rate.
 *
 * @example
 *
 * ```TypeScript
 * import { createLibp2p } from 'libp2p'
 * import { gossipsub } from '@libp2p/gossipsub'
 * import { identify } from '@libp2p/identify'
 * import { pubsubPeerDiscovery } from 'tolerant-ws/discovery'
 *
 * const node = await createLibp2p({
 *   // transports, connectionEncrypters, streamMuxers ...
 *   peerDiscovery: [
 *     pubsubPeerDiscovery({ interval: 10_000 })
 *   ],
 *   services: {
 *     pubsub: gossipsub(),
 *     identify: identify()
 *   }
 * })
 * ```
 */
import { verifyInit } from './options.js'
import { PubSubPeerDiscovery } from './pubsub-peer-discovery.js'
import type { PubSubPeerDiscoveryInit } from './options.js'
import type { PubSubPeerDiscoveryComponents } from './pubsub-peer-discovery.js'
import type { PeerDiscovery, Startable } from '@libp2p/interface'

export { TOPIC, defaultInit } from './options.js'
export type { PubSubPeerDiscoveryInit } from './options.js'
export type { PubSubPeerDiscoveryComponents } from './pubsub-peer-discovery.js'
export { PubSubPeerDiscovery } from './pubsub-peer-discovery.js'
export type { PubSub, PubSubEvents, PubSubMessage, SignedMessage, UnsignedMessage, SubscriptionChangeData, TopicValidatorFn, TopicValidatorResult } from './pubsub.js'

/**
 * Create a pubsub peer discovery for `peerDiscovery: [...]` in a libp2p 3
 * config. The node needs a pubsub service named `pubsub`.
 *
 * @throws {InvalidParametersError} at once for an invalid option; at start
 * when there is no `pubsub` service
 */
export function pubsubPeerDiscovery (init: PubSubPeerDiscoveryInit = {}): (components: PubSubPeerDiscoveryComponents) => PeerDiscovery & Startable {
  const config = verifyInit(init)

  return (components: PubSubPeerDiscoveryComponents) => new PubSubPeerDiscovery(components, config)
}
