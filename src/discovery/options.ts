import { InvalidParametersError } from '@libp2p/interface'

/**
 * The pubsub topic the reference `@libp2p/pubsub-peer-discovery` uses, and
 * ours by default.
 */
export const TOPIC = '_peer-discovery._p2p._pubsub'

/**
 * Options for {@link pubsubPeerDiscovery}. Every option has a default; values
 * are checked once, when `pubsubPeerDiscovery(init)` is called.
 */
export interface PubSubPeerDiscoveryInit {
  /**
   * How often, in milliseconds, our record is re-published when nothing has
   * changed. An identical record is never re-published sooner, except to
   * greet a peer that newly subscribed to a discovery topic.
   *
   * @default 10000
   */
  interval?: number

  /**
   * The pubsub topics to subscribe and publish to. When set (and non-empty)
   * it replaces the default topic, which must then be listed explicitly to
   * stay in the global discovery space. An empty array means the default,
   * as in the reference.
   *
   * @default ['_peer-discovery._p2p._pubsub']
   */
  topics?: string[]

  /**
   * Subscribe and emit `peer` events, but never publish our own record.
   *
   * @default false
   */
  listenOnly?: boolean

  /**
   * Milliseconds of quiet after a trigger (a transport starting or stopping
   * to listen, a change of our addresses, a newcomer on a topic, the first
   * record of a peer we had not heard of) before the announcement it causes.
   * Triggers arriving meanwhile are merged into that one announcement, which
   * waits at most 4 × `announceDebounce` after the first of them; at most one
   * record is published per topic per `announceDebounce`. Our first record on
   * a topic that has subscribers is not debounced: it goes out at once.
   *
   * @default 250
   */
  announceDebounce?: number

  /**
   * Largest record, in bytes, that is decoded. Larger pubsub messages on a
   * discovery topic are rejected before any parsing.
   *
   * @default 8192
   */
  maxRecordBytes?: number

  /**
   * At most this many addresses of a record are examined; further entries
   * are ignored.
   *
   * @default 64
   */
  maxAddrs?: number

  /**
   * Largest single address, in bytes (binary multiaddr). Longer entries are
   * dropped from the record.
   *
   * @default 512
   */
  maxAddrBytes?: number

  /**
   * Minimum time, in milliseconds, between two `peer` events for the same
   * peer. A record with the addresses already emitted is dropped inside that
   * window; a record with different addresses is held and the newest one is
   * emitted when the window ends. `0` emits every valid record.
   *
   * @default 5000
   */
  minPeerInterval?: number

  /**
   * Number of peers whose last emission is remembered to enforce
   * `minPeerInterval`. The least recently emitted peer is forgotten first.
   *
   * @default 1024
   */
  maxTrackedPeers?: number

  /**
   * Accept records carried in unsigned pubsub messages (a router configured
   * with `globalSignaturePolicy: 'StrictNoSign'`). Such records cannot be
   * tied to their sender: anyone can announce any peer id with any
   * addresses. Leave `false` unless every publisher is trusted.
   *
   * @default false
   */
  acceptUnsigned?: boolean
}

/**
 * Default value of every option, in one place.
 */
export const defaultInit: Readonly<Required<PubSubPeerDiscoveryInit>> = Object.freeze({
  interval: 10_000,
  topics: [TOPIC],
  listenOnly: false,
  announceDebounce: 250,
  maxRecordBytes: 8192,
  maxAddrs: 64,
  maxAddrBytes: 512,
  minPeerInterval: 5000,
  maxTrackedPeers: 1024,
  acceptUnsigned: false
})

/**
 * Options after defaults are merged and checked.
 */
export type PubSubPeerDiscoveryConfig = Readonly<Required<PubSubPeerDiscoveryInit>>

const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Merge `init` over {@link defaultInit} and check every value.
 *
 * @throws {InvalidParametersError} when an option has the wrong type or range
 */
export function verifyInit (init: PubSubPeerDiscoveryInit = {}): PubSubPeerDiscoveryConfig {
  const topics = init.topics == null || init.topics.length === 0 ? defaultInit.topics : init.topics

  if (!Array.isArray(topics) || topics.some(topic => typeof topic !== 'string' || topic.length === 0)) {
    throw new InvalidParametersError('topics must be an array of non-empty strings')
  }

  const config: Required<PubSubPeerDiscoveryInit> = {
    interval: init.interval ?? defaultInit.interval,
    topics: [...new Set(topics)],
    listenOnly: init.listenOnly ?? defaultInit.listenOnly,
    announceDebounce: init.announceDebounce ?? defaultInit.announceDebounce,
    maxRecordBytes: init.maxRecordBytes ?? defaultInit.maxRecordBytes,
    maxAddrs: init.maxAddrs ?? defaultInit.maxAddrs,
    maxAddrBytes: init.maxAddrBytes ?? defaultInit.maxAddrBytes,
    minPeerInterval: init.minPeerInterval ?? defaultInit.minPeerInterval,
    maxTrackedPeers: init.maxTrackedPeers ?? defaultInit.maxTrackedPeers,
    acceptUnsigned: init.acceptUnsigned ?? defaultInit.acceptUnsigned
  }

  checkInteger('interval', config.interval, 1, MAX_TIMER_MS)
  checkInteger('announceDebounce', config.announceDebounce, 0, MAX_TIMER_MS)
  checkInteger('maxRecordBytes', config.maxRecordBytes, 1, Number.MAX_SAFE_INTEGER)
  checkInteger('maxAddrs', config.maxAddrs, 1, Number.MAX_SAFE_INTEGER)
  checkInteger('maxAddrBytes', config.maxAddrBytes, 1, Number.MAX_SAFE_INTEGER)
  checkInteger('minPeerInterval', config.minPeerInterval, 0, MAX_TIMER_MS)
  checkInteger('maxTrackedPeers', config.maxTrackedPeers, 1, Number.MAX_SAFE_INTEGER)
  checkBoolean('listenOnly', config.listenOnly)
  checkBoolean('acceptUnsigned', config.acceptUnsigned)

  return Object.freeze(config)
}

function checkInteger (name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidParametersError(`${name} must be an integer between ${min} and ${max}, got ${String(value)}`)
  }
}

function checkBoolean (name: string, value: unknown): void {
  if (typeof value !== 'boolean') {
    throw new InvalidParametersError(`${name} must be a boolean, got ${String(value)}`)
  }
}
