import { InvalidParametersError, TypedEventEmitter, peerDiscoverySymbol, serviceCapabilities } from '@libp2p/interface'
import { Announcer } from './announcer.js'
import { PeerThrottle } from './peer-throttle.js'
import { encodeRecord, judgeMessage } from './record.js'
import type { PubSubPeerDiscoveryConfig } from './options.js'
import type { PubSub, PubSubMessage, SubscriptionChangeData, TopicValidatorResult } from './pubsub.js'
import type { Verdict } from './record.js'
import type { ComponentLogger, Libp2pEvents, Logger, PeerDiscovery, PeerDiscoveryEvents, PeerId, PeerInfo, Startable, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The libp2p components discovery uses. In a libp2p node they are provided
 * automatically; `pubsub` is the service registered under that name.
 */
export interface PubSubPeerDiscoveryComponents {
  peerId: PeerId
  pubsub?: PubSub
  addressManager: {
    getAddresses(): Multiaddr[]
  }
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/**
 * Lifecycle state, one transition per `Startable` method:
 * `stopped` →start→ `started` →afterStart→ `running` →beforeStop→ `stopping`
 * →stop→ `stopped`.
 */
type State = 'stopped' | 'started' | 'running' | 'stopping'

/**
 * Peer discovery over pubsub, wire-compatible with
 * `@libp2p/pubsub-peer-discovery` 12. Create it with `pubsubPeerDiscovery()`.
 */
export class PubSubPeerDiscovery extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, Startable {
  readonly [Symbol.toStringTag] = 'tolerant-ws:pubsub-discovery'
  readonly [serviceCapabilities]: string[] = ['@libp2p/peer-discovery']

  /** also usable under `services`: libp2p then listens to our `peer` events */
  get [peerDiscoverySymbol] (): PeerDiscovery {
    return this
  }

  private readonly components: PubSubPeerDiscoveryComponents
  private readonly config: PubSubPeerDiscoveryConfig
  private readonly log: Logger
  private readonly throttle: PeerThrottle
  /** verdicts computed by our topic validator, reused when the message is delivered */
  private readonly verdicts = new WeakMap<object, Verdict>()
  /** validators we installed, so we remove only ours */
  private readonly installedValidators = new Map<string, unknown>()
  private state: State = 'stopped'
  private pubsub?: PubSub
  private announcer?: Announcer

  constructor (components: PubSubPeerDiscoveryComponents, config: PubSubPeerDiscoveryConfig) {
    super()
    this.components = components
    this.config = config
    this.log = components.logger.forComponent('libp2p:pubsub-discovery')
    this.throttle = new PeerThrottle({
      minIntervalMs: config.minPeerInterval,
      maxPeers: config.maxTrackedPeers,
      emit: (info) => { this.emitPeer(info) }
    })

    this.pubsubOnMessage = this.pubsubOnMessage.bind(this)
    this.pubsubOnSubscriptionChange = this.pubsubOnSubscriptionChange.bind(this)
    this.eventsOnTransportListening = this.eventsOnTransportListening.bind(this)
    this.eventsOnTransportClose = this.eventsOnTransportClose.bind(this)
    this.eventsOnSelfPeerUpdate = this.eventsOnSelfPeerUpdate.bind(this)
    this.topicValidator = this.topicValidator.bind(this)
  }

  /**
   * The topics subscribed to while running.
   */
  get topics (): readonly string[] {
    return this.config.topics
  }

  isStarted (): boolean {
    return this.state !== 'stopped'
  }

  /**
   * Checks that the components we need exist. Calls nothing on them: other
   * components may not be started yet.
   *
   * @throws {InvalidParametersError} when there is no `pubsub` service, or we
   * must publish and our peer id has no public key
   */
  start (): void {
    if (this.state !== 'stopped') {
      return
    }

    this.pubsub = this.findPubSub()

    if (!this.config.listenOnly && this.components.peerId.publicKey == null) {
      throw new InvalidParametersError('pubsubPeerDiscovery: our peer id has no public key to announce')
    }

    this.state = 'started'
  }

  /**
   * Subscribes to the discovery topics, installs topic validators, listens to
   * our address changes and schedules the first announcement.
   */
  afterStart (): void {
    if (this.state === 'stopped') {
      this.start()
    }

    if (this.state !== 'started') {
      return
    }

    const pubsub = this.pubsub ?? this.findPubSub()
    this.pubsub = pubsub
    this.state = 'running'

    try {
      pubsub.addEventListener('message', this.pubsubOnMessage)
      this.installValidators(pubsub)

      for (const topic of this.config.topics) {
        pubsub.subscribe(topic)
      }

      if (!this.config.listenOnly) {
        pubsub.addEventListener('subscription-change', this.pubsubOnSubscriptionChange)
        this.components.events.addEventListener('transport:listening', this.eventsOnTransportListening)
        this.components.events.addEventListener('transport:close', this.eventsOnTransportClose)
        this.components.events.addEventListener('self:peer:update', this.eventsOnSelfPeerUpdate)
        this.announcer = this.createAnnouncer(pubsub)
        this.announcer.start()
      }
    } catch (err: any) {
      this.log.error('could not start - %e', err)
      this.teardown(true)
      this.state = 'started'
      throw err
    }

    this.log('running on %s%s', this.config.topics.join(', '), this.config.listenOnly ? ' (listen only)' : '')
  }

  /**
   * Stops announcing and unsubscribes while pubsub is still running.
   */
  beforeStop (): void {
    if (this.state !== 'running') {
      return
    }

    this.state = 'stopping'
    this.teardown(true)
  }

  /**
   * Clears every timer and listener. Pubsub may already be stopped, so it is
   * not asked to unsubscribe here unless `beforeStop` was skipped.
   */
  stop (): void {
    if (this.state === 'stopped') {
      return
    }

    this.teardown(this.state === 'running')
    this.state = 'stopped'
    this.pubsub = undefined
  }

  private findPubSub (): PubSub {
    let pubsub: PubSub | undefined

    try {
      // libp2p's components proxy throws when a service is missing
      pubsub = this.components.pubsub
    } catch {
      pubsub = undefined
    }

    if (pubsub == null || typeof pubsub.subscribe !== 'function' || typeof pubsub.publish !== 'function') {
      throw new InvalidParametersError('pubsubPeerDiscovery needs a pubsub service named "pubsub", e.g. services: { pubsub: gossipsub() }')
    }

    return pubsub
  }

  private createAnnouncer (pubsub: PubSub): Announcer {
    return new Announcer({
      topics: this.config.topics,
      intervalMs: this.config.interval,
      debounceMs: this.config.announceDebounce,
      log: this.log,
      buildRecord: () => this.buildRecord(),
      countSubscribers: (topic) => pubsub.getSubscribers(topic).length,
      publish: async (topic, data) => pubsub.publish(topic, data)
    })
  }

  /**
   * Our record from the address manager's current addresses, or `undefined`
   * when there is none to announce.
   */
  private buildRecord (): Uint8Array | undefined {
    const publicKey = this.components.peerId.publicKey

    if (publicKey == null) {
      return undefined
    }

    const addrs = this.components.addressManager.getAddresses()

    if (addrs.length === 0) {
      return undefined
    }

    const encoded = encodeRecord(publicKey, addrs, this.config)

    if (encoded.omittedAddrs > 0) {
      this.log('announcing %d of our %d addresses to respect record limits', encoded.multiaddrs.length, addrs.length)
    }

    return encoded.multiaddrs.length > 0 ? encoded.bytes : undefined
  }

  /**
   * Undo everything `afterStart` did. Best effort: one failure does not stop
   * the rest.
   */
  private teardown (unsubscribe: boolean): void {
    this.announcer?.stop()
    this.announcer = undefined
    this.throttle.clear()

    this.components.events.removeEventListener('transport:listening', this.eventsOnTransportListening)
    this.components.events.removeEventListener('transport:close', this.eventsOnTransportClose)
    this.components.events.removeEventListener('self:peer:update', this.eventsOnSelfPeerUpdate)

    const pubsub = this.pubsub

    if (pubsub == null) {
      return
    }

    pubsub.removeEventListener('message', this.pubsubOnMessage)
    pubsub.removeEventListener('subscription-change', this.pubsubOnSubscriptionChange)
    this.removeValidators(pubsub)

    if (!unsubscribe) {
      return
    }

    for (const topic of this.config.topics) {
      try {
        pubsub.unsubscribe(topic)
      } catch (err: any) {
        // best effort: pubsub may already be stopping
        this.log('could not unsubscribe from %s - %e', topic, err)
      }
    }
  }

  private installValidators (pubsub: PubSub): void {
    const validators = pubsub.topicValidators

    if (validators == null || typeof validators.get !== 'function' || typeof validators.set !== 'function') {
      this.log('pubsub has no topic validators; records are checked on delivery only')
      return
    }

    for (const topic of this.config.topics) {
      if (validators.get(topic) != null) {
        this.log('a topic validator for %s is already installed; leaving it in place', topic)
        continue
      }

      validators.set(topic, this.topicValidator)
      this.installedValidators.set(topic, this.topicValidator)
    }
  }

  private removeValidators (pubsub: PubSub): void {
    const validators = pubsub.topicValidators

    for (const [topic, fn] of this.installedValidators) {
      if (validators != null && validators.get(topic) === fn) {
        validators.delete(topic)
      }
    }

    this.installedValidators.clear()
  }

  private judge (message: PubSubMessage): Verdict {
    return judgeMessage(message, {
      self: this.components.peerId,
      acceptUnsigned: this.config.acceptUnsigned,
      maxRecordBytes: this.config.maxRecordBytes,
      maxAddrs: this.config.maxAddrs,
      maxAddrBytes: this.config.maxAddrBytes
    })
  }

  /**
   * Run by the router before delivering or forwarding a message on one of
   * our topics: spoofed, malformed and oversized records go no further.
   */
  private topicValidator (propagationSource: PeerId, message: PubSubMessage): TopicValidatorResult {
    try {
      const verdict = this.judge(message)
      this.verdicts.set(message, verdict)

      if (verdict.result === 'reject') {
        this.log('rejecting record on %s forwarded by %p: %s', message.topic, propagationSource, verdict.fault)
      }

      return verdict.result
    } catch (err: any) {
      // judgeMessage does not throw; this guards the router regardless
      this.log.error('topic validator failed - %e', err)
      return 'ignore'
    }
  }

  private pubsubOnMessage (evt: CustomEvent<PubSubMessage>): void {
    if (this.state !== 'running') {
      return
    }

    const message = evt.detail

    if (message == null || !this.config.topics.includes(message.topic)) {
      return
    }

    const verdict = this.verdicts.get(message) ?? this.judge(message)
    this.verdicts.delete(message)

    if (verdict.result !== 'accept') {
      if (verdict.fault !== 'self') {
        this.log('dropping record on %s: %s%s', message.topic, verdict.fault, verdict.error != null ? ` (${verdict.error.message})` : '')
      }

      return
    }

    const { peerId, multiaddrs, droppedAddrs, ignoredAddrs } = verdict.record

    if (droppedAddrs > 0 || ignoredAddrs > 0) {
      this.log('record of %p on %s: kept %d addresses, dropped %d invalid, ignored %d over the limit', peerId, message.topic, multiaddrs.length, droppedAddrs, ignoredAddrs)
    }

    const result = this.throttle.offer({ id: peerId, multiaddrs })
    this.log.trace('record of %p on %s: %s', peerId, message.topic, result)

    if (result === 'first') {
      // a peer we had not heard of may not have heard of us either: it may
      // reach us only through a relay that never saw it subscribe to us
      this.announcer?.schedule(`first record of ${peerId.toString()}`, message.topic)
    }
  }

  private pubsubOnSubscriptionChange (evt: CustomEvent<SubscriptionChangeData>): void {
    if (this.state !== 'running' || this.announcer == null) {
      return
    }

    for (const { topic, subscribe } of evt.detail?.subscriptions ?? []) {
      if (subscribe && this.config.topics.includes(topic)) {
        this.announcer.schedule(`newcomer ${evt.detail.peerId.toString()} on ${topic}`, topic)
      }
    }
  }

  private eventsOnTransportListening (): void {
    this.announcer?.schedule('transport:listening')
  }

  private eventsOnTransportClose (): void {
    this.announcer?.schedule('transport:close')
  }

  private eventsOnSelfPeerUpdate (): void {
    this.announcer?.schedule('self:peer:update')
  }

  private emitPeer (info: PeerInfo): void {
    if (this.state !== 'running') {
      return
    }

    this.log('discovered %p with %d addresses', info.id, info.multiaddrs.length)
    this.safeDispatchEvent('peer', { detail: info })
  }
}
