import { AbortError, serviceCapabilities, transportSymbol } from '@libp2p/interface'
import { CustomProgressEvent } from 'progress-events'
import { isWebSocketsAddr, toDialTarget } from './address.js'
import { connect } from './connect.js'
import { CAN_LISTEN, createListener } from './listener.js'
import { createMetrics } from './metrics.js'
import type { DialTarget } from './address.js'
import type { TransportMetrics } from './metrics.js'
import type { WebSocketsConfig } from './options.js'
import type { ComponentLogger, Connection, CreateListenerOptions, DialTransportOptions, Libp2pEvents, Listener, Logger, Metrics, OutboundConnectionUpgradeEvents, Transport, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ProgressEvent } from 'progress-events'

/** addresses whose dial target is remembered */
const DIAL_TARGET_CACHE = 256

/**
 * The libp2p components the transport uses. In a libp2p node they are
 * provided automatically.
 */
export interface WebSocketsComponents {
  /** Creates the `libp2p:websockets…` loggers */
  logger: ComponentLogger
  /**
   * libp2p's event bus: listeners take `certificate:provision` and
   * `certificate:renew` (auto-TLS) from it
   */
  events: TypedEventTarget<Libp2pEvents>
  /** When present, dial and listener counters are registered under `libp2p_websockets_*` */
  metrics?: Metrics
}

/**
 * Progress events `dial()` reports through `options.onProgress`:
 * `websockets:open-connection` as the WebSocket is opened, then the
 * upgrader's (encryption, multiplexing).
 */
export type WebSocketsDialEvents =
  OutboundConnectionUpgradeEvents |
  ProgressEvent<'websockets:open-connection'>

/**
 * The WebSocket transport; create it with `webSockets()`. Dials with `ws` in
 * Node.js and the native `WebSocket` in browsers; listens in Node.js only.
 */
export class WebSocketsTransport implements Transport<WebSocketsDialEvents> {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = 'tolerant-ws'
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']

  private readonly components: WebSocketsComponents
  private readonly config: WebSocketsConfig
  private readonly log: Logger
  private readonly connectionLog: Logger
  private readonly metrics?: TransportMetrics
  /** URL and SNI per dialed address: a node redials the same few addresses */
  private readonly dialTargets = new Map<string, DialTarget>()

  constructor (components: WebSocketsComponents, config: WebSocketsConfig) {
    this.components = components
    this.config = config
    this.log = components.logger.forComponent('libp2p:websockets')
    this.connectionLog = components.logger.forComponent('libp2p:websockets:connection')
    this.metrics = createMetrics(components.metrics)
    this.listenFilter = this.listenFilter.bind(this)
    this.dialFilter = this.dialFilter.bind(this)
  }

  /**
   * Opens a WebSocket to `ma` and upgrades it to a libp2p connection.
   *
   * @throws {AbortError} when `options.signal` aborts
   * @throws {TimeoutError} when the WebSocket handshake exceeds `handshakeTimeout`
   * @throws {ConnectionFailedError} when the socket cannot be opened (an
   * `UpgradeRejectedError` when the server answered the upgrade wrongly)
   */
  async dial (ma: Multiaddr, options: DialTransportOptions<WebSocketsDialEvents>): Promise<Connection> {
    if (options.signal?.aborted === true) {
      throw new AbortError('Dial was aborted before it started')
    }

    this.log('dialing %a', ma)
    options.onProgress?.(new CustomProgressEvent('websockets:open-connection'))

    const maConn = await connect({
      remoteAddr: ma,
      target: this.dialTarget(ma),
      config: this.config,
      signal: options.signal,
      log: this.log,
      connectionLog: this.connectionLog,
      metrics: this.metrics?.dialerEvents
    })

    try {
      const connection = await options.upgrader.upgradeOutbound(maConn, options)
      this.log('outbound connection to %a upgraded', ma)
      return connection
    } catch (err: any) {
      this.log.error('outbound connection to %a failed to upgrade - %e', ma, err)
      maConn.abort(err)
      throw err
    }
  }

  /**
   * `toDialTarget(ma)`, remembered for the last `DIAL_TARGET_CACHE` addresses
   *
   * @throws {InvalidMultiaddrError} when `ma` is not a WebSocket address
   */
  private dialTarget (ma: Multiaddr): DialTarget {
    const key = ma.toString()
    let target = this.dialTargets.get(key)

    if (target == null) {
      target = toDialTarget(ma)
      this.dialTargets.set(key, target)

      if (this.dialTargets.size > DIAL_TARGET_CACHE) {
        // oldest first: Map iterates in insertion order
        this.dialTargets.delete(this.dialTargets.keys().next().value as string)
      }
    }

    return target
  }

  /**
   * A listener for `/ws`, `/tls/ws` and `/wss` addresses (Node.js only).
   *
   * @throws {UnsupportedOperationError} in a browser
   */
  createListener (options: CreateListenerOptions): Listener {
    return createListener({
      logger: this.components.logger,
      events: this.components.events
    }, {
      upgrader: options.upgrader,
      config: this.config,
      metrics: this.metrics?.listener
    })
  }

  /** WebSocket addresses (`/ws`, `/wss`, `/tls/ws`, `/tls/sni/…/ws`); none in browsers */
  listenFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return CAN_LISTEN ? multiaddrs.filter(isWebSocketsAddr) : []
  }

  /** WebSocket addresses (`/ws`, `/wss`, `/tls/ws`, `/tls/sni/…/ws`), never `/p2p-circuit` */
  dialFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter(isWebSocketsAddr)
  }
}
