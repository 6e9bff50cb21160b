/**
 * The part of a libp2p 3 pubsub router that discovery uses, written
 * structurally so `@libp2p/floodsub` 11 and `@libp2p/gossipsub` 17 both fit
 * without this package depending on either.
 */
import type { PeerId, PublicKey, TypedEventTarget } from '@libp2p/interface'

/**
 * A pubsub message whose origin signed it; the router has verified the
 * signature, so `from` is authenticated.
 */
export interface SignedMessage {
  type: 'signed'
  from: PeerId
  topic: string
  data: Uint8Array
  sequenceNumber: bigint
  signature: Uint8Array
  key: PublicKey
}

/**
 * A pubsub message without an origin (router policy `StrictNoSign`).
 */
export interface UnsignedMessage {
  type: 'unsigned'
  topic: string
  data: Uint8Array
}

/**
 * A message as delivered by the router's `message` event.
 */
export type PubSubMessage = SignedMessage | UnsignedMessage

/**
 * A remote peer's subscription change, from `subscription-change`.
 */
export interface SubscriptionChangeData {
  peerId: PeerId
  subscriptions: Array<{ topic: string, subscribe: boolean }>
}

/**
 * The events discovery listens to.
 */
export interface PubSubEvents {
  message: CustomEvent<PubSubMessage>
  'subscription-change': CustomEvent<SubscriptionChangeData>
}

/**
 * Values a topic validator returns; the routers' `TopicValidatorResult` enum
 * has the same string values.
 */
export type TopicValidatorResult = 'accept' | 'ignore' | 'reject'

/**
 * A per-topic validator, run by the router before it delivers or forwards a
 * message. `propagationSource` is the neighbour that sent it to us, not
 * necessarily its origin.
 */
export type TopicValidatorFn = (propagationSource: PeerId, message: PubSubMessage) => any

/**
 * The pubsub service discovery needs, registered under the name `pubsub`.
 */
export interface PubSub extends TypedEventTarget<PubSubEvents> {
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  getSubscribers(topic: string): PeerId[]
  publish(topic: string, data: Uint8Array): Promise<unknown>

  /**
   * Present on floodsub and gossipsub; when it is, discovery registers a
   * validator on each of its topics so bad records are neither delivered nor
   * forwarded.
   */
  topicValidators?: Map<string, any>
}
