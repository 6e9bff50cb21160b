/**
 * The Node.js listener. One TCP server; each accepted socket is tracked from
 * accept and given one handshake timer, disarmed once its WebSocket upgrade
 * completes. Plain sockets go straight to the HTTP parser; when the listener
 * also speaks TLS the first byte decides (a TLS handshake starts with 0x16).
 *
 * `getAddrs()` is pure and never throws: it reports addresses only while the
 * server is bound. `listening` is dispatched once those addresses are
 * readable, and again when they change (auto-TLS adds `/tls/ws`).
 */
import { setMaxListeners } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import { AlreadyStartedError, InvalidParametersError, ListenError, TypedEventEmitter } from '@libp2p/interface'
import { getNetConfig, getThinWaistAddresses } from '@libp2p/utils'
import { CODE_IP4, CODE_IP6, CODE_TCP, CODE_TLS, CODE_WS, multiaddr, registry } from '@multiformats/multiaddr'
import { WebSocketServer } from 'ws'
import { isWebSocketsAddr, SecureWebSocketsAddr } from './address.js'
import { toMultiaddrConnection } from './connection.js'
import { wsLimits } from './options.js'
import type { ListenerMetrics } from './metrics.js'
import type { WebSocketsConfig } from './options.js'
import type { ComponentLogger, Libp2pEvents, Listener, ListenerEvents, Logger, TLSCertificate, TypedEventTarget, Upgrader } from '@libp2p/interface'
import type { NetConfig } from '@libp2p/utils'
import type { Component, Multiaddr } from '@multiformats/multiaddr'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'

export interface WebSocketListenerComponents {
  logger: ComponentLogger
  events: TypedEventTarget<Libp2pEvents>
}

export interface WebSocketListenerInit {
  upgrader: Upgrader
  config: WebSocketsConfig
  metrics?: ListenerMetrics
}

/** The first byte of a TLS record carrying a handshake */
const TLS_HANDSHAKE_RECORD = 0x16

type ListenerState =
  | { status: 'idle' }
  | { status: 'binding', listenAddr: Multiaddr }
  | BoundState & { status: 'listening' }
  | BoundState & { status: 'paused' }
  | { status: 'closing' }
  | { status: 'closed' }

interface BoundState {
  listenAddr: Multiaddr
  netConfig: NetConfig
  port: number
  /** Listening on `/ws`, so plaintext HTTP is served (besides TLS, if any) */
  plaintext: boolean
}

/** One accepted TCP socket, from accept until it closes */
interface TrackedSocket {
  socket: net.Socket
  listener: WebSocketListener
  /** Armed at accept, cleared once the WebSocket upgrade completes */
  handshakeTimer?: ReturnType<typeof setTimeout>
  tlsSocket?: tls.TLSSocket
}

/**
 * The tracked socket an accepted socket (or its TLS socket) belongs to: the
 * socket's event listeners are module-level functions that find it here, so
 * an idle connection holds no closures of ours
 */
const kTracked = Symbol('tolerant-ws:tracked-socket')

interface Tracks { [kTracked]?: TrackedSocket }

export class WebSocketListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  private readonly log: Logger
  /** one logger shared by every inbound connection (a logger per connection costs ~2.6 KB) */
  private readonly connectionLog: Logger
  private readonly components: WebSocketListenerComponents
  private readonly upgrader: Upgrader
  private readonly config: WebSocketsConfig
  private readonly metrics?: ListenerMetrics
  private readonly server: net.Server
  private readonly httpServer: http.Server
  private readonly wsServer: WebSocketServer
  private readonly sockets = new Set<TrackedSocket>()
  private readonly shutdownController = new AbortController()
  private state: ListenerState = { status: 'idle' }
  private secureContext?: tls.SecureContext
  private bindPromise?: Promise<unknown>
  private closePromise?: Promise<void>
  private addr = 'unbound'
  /** `${addr} `, shared by the metrics of every inbound connection */
  private metricPrefix = 'unbound '

  constructor (components: WebSocketListenerComponents, init: WebSocketListenerInit) {
    super()

    this.components = components
    this.log = components.logger.forComponent('libp2p:websockets:listener')
    this.connectionLog = components.logger.forComponent('libp2p:websockets:connection')
    this.upgrader = init.upgrader
    this.config = init.config
    this.metrics = init.metrics
    setMaxListeners(Infinity, this.shutdownController.signal)

    this.serverOnConnection = this.serverOnConnection.bind(this)
    this.serverOnError = this.serverOnError.bind(this)
    this.httpServerOnUpgrade = this.httpServerOnUpgrade.bind(this)
    this.httpServerOnRequest = this.httpServerOnRequest.bind(this)
    this.eventsOnCertificateProvision = this.eventsOnCertificateProvision.bind(this)
    this.eventsOnCertificateRenew = this.eventsOnCertificateRenew.bind(this)

    this.server = net.createServer({ pauseOnConnect: true, noDelay: true }, this.serverOnConnection)
    this.httpServer = http.createServer(this.config.http ?? {}, this.httpServerOnRequest)
    this.httpServer.on('upgrade', this.httpServerOnUpgrade)
    this.wsServer = new WebSocketServer({
      ...wsLimits(this.config),
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false
    })
    this.metrics?.add(this)
  }

  /** Label used in metrics, `host:port` once bound */
  get metricsLabel (): string {
    return this.addr
  }

  /** Sockets currently held, upgraded or not */
  get socketCount (): number {
    return this.sockets.size
  }

  getAddrs (): Multiaddr[] {
    const state = this.state

    if (state.status !== 'listening' && state.status !== 'paused') {
      return []
    }

    try {
      const hosts = getThinWaistAddresses(state.listenAddr, state.port)
      const addrs: Multiaddr[] = []

      if (state.plaintext) {
        addrs.push(...hosts.map(ma => ma.encapsulate('/ws')))
      }

      if (this.secureContext != null) {
        addrs.push(...hosts.map(ma => ma.encapsulate('/tls/ws')))
      }

      return addrs
    } catch (err) {
      this.log.error('could not list addresses - %e', err)
      return []
    }
  }

  updateAnnounceAddrs (): void {
    // addresses are derived from the bound socket; nothing to update
  }

  async listen (ma: Multiaddr): Promise<void> {
    const state = this.state

    if (state.status === 'closing' || state.status === 'closed') {
      throw new ListenError('This listener was closed; create a new one')
    }

    if (state.status !== 'idle') {
      throw new AlreadyStartedError(`Already listening on ${state.listenAddr.toString()}`)
    }

    if (!isWebSocketsAddr(ma)) {
      throw new InvalidParametersError(`${ma.toString()} is not a WebSocket address`)
    }

    const secure = SecureWebSocketsAddr.exactMatch(ma)

    if (secure) {
      if (this.config.https?.key == null || this.config.https?.cert == null) {
        throw new InvalidParametersError(`Listening on ${ma.toString()} needs the https option with a key and a cert`)
      }

      this.secureContext = this.createSecureContext(this.config.https)
    }

    const netConfig = getNetConfig(ma)
    this.state = { status: 'binding', listenAddr: ma }
    this.components.events.addEventListener('certificate:provision', this.eventsOnCertificateProvision)
    this.components.events.addEventListener('certificate:renew', this.eventsOnCertificateRenew)

    let port: number

    try {
      const bind = this.bind(netConfig.host, netConfig.port ?? 0, netConfig.type === 'ip6')
      this.bindPromise = bind
      port = await bind
    } catch (err: any) {
      this.metrics?.errors?.increment({ [`${this.addr} listen_error`]: true })
      this.stopListeningForCertificates()
      this.secureContext = undefined
      this.state = { status: 'idle' }
      const error = new ListenError(`Could not listen on ${ma.toString()}: ${err.message}`)
      error.cause = err
      throw error
    } finally {
      this.bindPromise = undefined
    }

    if (this.state.status !== 'binding') {
      // closed while binding: close() takes the server down once we return
      return
    }

    this.state = { status: 'listening', listenAddr: ma, netConfig, port, plaintext: !secure }
    this.addr = `${netConfig.host}:${port}`
    this.metricPrefix = `${this.addr} `
    this.server.on('error', this.serverOnError)
    this.metrics?.status?.update({ [this.addr]: 1 })
    this.log('listening on %s', this.addr)
    this.safeDispatchEvent('listening')
  }

  async close (): Promise<void> {
    this.closePromise ??= this.shutDown()
    return this.closePromise
  }

  /**
   * The fixed order: stop accepting → abort in-flight upgrades → destroy
   * every tracked socket → await the server's close → dispatch `close` once.
   */
  private async shutDown (): Promise<void> {
    await this.bindPromise?.catch(() => {})

    this.state = { status: 'closing' }
    this.stopListeningForCertificates()
    this.server.removeListener('error', this.serverOnError)

    const serverClosed = new Promise<void>(resolve => {
      if (!this.server.listening) {
        resolve()
        return
      }

      const timer = setTimeout(() => {
        this.log.error('server did not close within %dms', this.config.closeTimeout)
        resolve()
      }, this.config.closeTimeout)
      this.server.close(() => {
        clearTimeout(timer)
        resolve()
      })
    })

    this.shutdownController.abort()

    for (const tracked of this.sockets) {
      clearTimeout(tracked.handshakeTimer)
      tracked.socket.destroy()
    }

    await serverClosed
    this.wsServer.close()
    this.metrics?.status?.update({ [this.addr]: 0 })
    this.metrics?.delete(this)
    this.state = { status: 'closed' }
    this.log('closed %s', this.addr)
    this.safeDispatchEvent('close')
  }

  private async bind (host: string, port: number, ipv6Only: boolean): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server.removeListener('listening', onListening)
        reject(err)
      }
      const onListening = (): void => {
        this.server.removeListener('error', onError)
        resolve()
      }

      this.server.once('error', onError)
      this.server.once('listening', onListening)
      this.server.listen({ host, port, ipv6Only, backlog: this.config.backlog })
    })

    const address = this.server.address()

    if (address == null || typeof address === 'string') {
      throw new ListenError('The server is not bound to a TCP port')
    }

    return address.port
  }

  private serverOnConnection (socket: net.Socket): void {
    this.metrics?.events?.increment({ [`${this.addr} connection`]: true })

    if (this.state.status !== 'listening') {
      socket.destroy()
      return
    }

    if (this.sockets.size >= this.config.maxConnections) {
      this.metrics?.events?.increment({ [`${this.addr} drop`]: true })
      this.log('dropping connection from %s, %d sockets open', socket.remoteAddress, this.sockets.size)
      socket.destroy()
      return
    }

    // every field from the start: the object keeps one shape and no
    // out-of-object property storage
    const tracked: TrackedSocket = { socket, listener: this, handshakeTimer: undefined, tlsSocket: undefined }
    tracked.handshakeTimer = setTimeout(trackedOnHandshakeTimeout, this.config.handshakeTimeout, tracked)
    this.sockets.add(tracked)
    ;(socket as Tracks)[kTracked] = tracked
    socket.on('error', socketOnError)
    // a socket emits 'close' once
    socket.on('close', socketOnClose)

    this.maybePause()

    if (this.secureContext == null) {
      this.handToHttp(tracked, socket)
      return
    }

    const state = this.state

    if (state.plaintext) {
      this.routeByFirstByte(tracked)
    } else {
      this.startTls(tracked)
    }
  }

  /** Waits for the first byte: a TLS handshake record or plaintext HTTP */
  private routeByFirstByte (tracked: TrackedSocket): void {
    const { socket } = tracked
    const socketOnReadable = (): void => {
      const chunk: Buffer | null = socket.read(1)

      if (chunk == null) {
        return
      }

      socket.removeListener('readable', socketOnReadable)
      socket.unshift(chunk)

      if (chunk[0] === TLS_HANDSHAKE_RECORD && this.secureContext != null) {
        this.startTls(tracked)
      } else {
        this.handToHttp(tracked, socket)
      }
    }

    socket.on('readable', socketOnReadable)
  }

  private startTls (tracked: TrackedSocket): void {
    const tlsSocket = new tls.TLSSocket(tracked.socket, {
      isServer: true,
      secureContext: this.secureContext
    })
    tracked.tlsSocket = tlsSocket
    tlsSocket.on('error', (err) => {
      this.log('TLS error from %s - %e', tracked.socket.remoteAddress, err)
      this.metrics?.errors?.increment({ [`${this.addr} tls`]: true })
      tracked.socket.destroy()
    })
    this.handToHttp(tracked, tlsSocket)
  }

  private handToHttp (tracked: TrackedSocket, stream: Duplex): void {
    (stream as Tracks)[kTracked] = tracked
    this.httpServer.emit('connection', stream)
    tracked.socket.resume()
  }

  private httpServerOnRequest (req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(426, { connection: 'close', upgrade: 'websocket', 'content-type': 'text/plain' })
    res.end('Only WebSocket upgrades are served here')
  }

  private httpServerOnUpgrade (req: IncomingMessage, stream: Duplex, head: Buffer): void {
    const tracked = (stream as Tracks)[kTracked]

    if (tracked == null || (this.state.status !== 'listening' && this.state.status !== 'paused')) {
      stream.destroy()
      return
    }

    this.wsServer.handleUpgrade(req, stream, head, (websocket) => {
      this.websocketOnUpgrade(websocket, tracked, stream)
    })
  }

  private websocketOnUpgrade (websocket: WebSocket, tracked: TrackedSocket, stream: Duplex): void {
    clearTimeout(tracked.handshakeTimer)
    tracked.handshakeTimer = undefined

    const { remoteAddress, remotePort, remoteFamily } = tracked.socket

    if (this.shutdownController.signal.aborted || remoteAddress == null || remotePort == null) {
      websocket.terminate()
      return
    }

    let maConn

    try {
      maConn = toMultiaddrConnection({
        websocket,
        socket: stream,
        remoteAddr: remoteMultiaddr(remoteFamily, remoteAddress, remotePort, tracked.tlsSocket != null),
        direction: 'inbound',
        log: this.connectionLog,
        metrics: this.metrics?.events,
        metricPrefix: this.metricPrefix,
        maxBufferedAmount: this.config.maxBufferedAmount,
        maxMessageSize: this.config.maxMessageSize,
        closeTimeout: this.config.closeTimeout
      })
    } catch (err) {
      this.log.error('could not wrap inbound websocket - %e', err)
      this.metrics?.errors?.increment({ [`${this.addr} inbound_to_connection`]: true })
      websocket.terminate()
      return
    }

    this.log('new inbound connection %a', maConn.remoteAddr)

    this.upgrader.upgradeInbound(maConn, { signal: this.shutdownController.signal })
      .catch((err: Error) => {
        this.log.error('inbound connection from %a failed to upgrade - %e', maConn.remoteAddr, err)
        this.metrics?.errors?.increment({ [`${this.addr} inbound_upgrade`]: true })
        maConn.abort(err)
      })
  }

  /**
   * Called by {@link trackedOnHandshakeTimeout}.
   *
   * @internal
   */
  onHandshakeTimeout (tracked: TrackedSocket): void {
    this.metrics?.events?.increment({ [`${this.addr} timeout`]: true })
    this.log('no WebSocket upgrade from %s within %dms, destroying the socket', tracked.socket.remoteAddress, this.config.handshakeTimeout)
    tracked.socket.destroy()
  }

  /**
   * Called by {@link socketOnError}.
   *
   * @internal
   */
  onSocketError (tracked: TrackedSocket, err: Error): void {
    this.log('socket error from %s - %e', tracked.socket.remoteAddress, err)
    this.metrics?.events?.increment({ [`${this.addr} error`]: true })
    tracked.socket.destroy()
  }

  /**
   * Called by {@link socketOnClose}.
   *
   * @internal
   */
  onSocketClose (tracked: TrackedSocket): void {
    clearTimeout(tracked.handshakeTimer)
    this.sockets.delete(tracked)
    this.metrics?.events?.increment({ [`${this.addr} close`]: true })
    this.maybeResume()
  }

  private serverOnError (err: Error): void {
    this.log.error('server error - %e', err)
    this.metrics?.errors?.increment({ [`${this.addr} listen_error`]: true })
    this.safeDispatchEvent('error', { detail: err })
  }

  private maybePause (): void {
    const limits = this.config.closeServerOnMaxConnections

    if (limits == null || this.state.status !== 'listening' || this.sockets.size < limits.closeAbove) {
      return
    }

    this.log('pausing: %d sockets open, limit %d', this.sockets.size, limits.closeAbove)
    this.state = { ...this.state, status: 'paused' }
    this.metrics?.status?.update({ [this.addr]: 2 })
    this.server.close()
  }

  private maybeResume (): void {
    const limits = this.config.closeServerOnMaxConnections
    const state = this.state

    if (limits == null || state.status !== 'paused' || this.sockets.size >= limits.listenBelow || this.bindPromise != null) {
      return
    }

    this.log('resuming: %d sockets open, below %d', this.sockets.size, limits.listenBelow)
    const bind = this.bind(state.netConfig.host, state.port, state.netConfig.type === 'ip6')
    this.bindPromise = bind
    bind
      .then(() => {
        if (this.state.status === 'paused') {
          this.state = { ...this.state, status: 'listening' }
          this.metrics?.status?.update({ [this.addr]: 1 })
        } else {
          // closed meanwhile
          this.server.close()
        }
      }, (err: Error) => {
        this.log.error('could not listen again on %s - %e', this.addr, err)
        this.config.closeServerOnMaxConnections?.onListenError?.(err)
      })
      .finally(() => {
        this.bindPromise = undefined
      })
  }

  private eventsOnCertificateProvision (evt: CustomEvent<TLSCertificate>): void {
    const hadTls = this.secureContext != null
    this.secureContext = this.createSecureContext({ ...this.config.https, ...evt.detail }) ?? this.secureContext

    if (!hadTls && this.secureContext != null && this.state.status === 'listening') {
      this.log('auto-tls certificate provisioned, now serving /tls/ws on %s', this.addr)
      this.safeDispatchEvent('listening')
    }
  }

  private eventsOnCertificateRenew (evt: CustomEvent<TLSCertificate>): void {
    this.log('auto-tls certificate renewed')
    this.eventsOnCertificateProvision(evt)
  }

  private createSecureContext (options: tls.SecureContextOptions): tls.SecureContext | undefined {
    try {
      return tls.createSecureContext(options)
    } catch (err: any) {
      if (this.state.status === 'idle') {
        throw new InvalidParametersError(`Invalid TLS key or certificate: ${err.message}`)
      }

      this.log.error('invalid TLS certificate, keeping the previous one - %e', err)
      this.metrics?.errors?.increment({ [`${this.addr} certificate`]: true })
      return undefined
    }
  }

  private stopListeningForCertificates (): void {
    this.components.events.removeEventListener('certificate:provision', this.eventsOnCertificateProvision)
    this.components.events.removeEventListener('certificate:renew', this.eventsOnCertificateRenew)
  }
}

function trackedOnHandshakeTimeout (tracked: TrackedSocket): void {
  tracked.listener.onHandshakeTimeout(tracked)
}

function socketOnError (this: net.Socket & Tracks, err: Error): void {
  const tracked = this[kTracked]

  if (tracked != null) {
    tracked.listener.onSocketError(tracked, err)
  }
}

function socketOnClose (this: net.Socket & Tracks): void {
  const tracked = this[kTracked]

  if (tracked != null) {
    tracked.listener.onSocketClose(tracked)
  }
}

/** Trailing components of every inbound address; a multiaddr never changes its components */
const WS_COMPONENTS: Component[] = [{ code: CODE_WS, name: 'ws' }]
const TLS_WS_COMPONENTS: Component[] = [{ code: CODE_TLS, name: 'tls' }, ...WS_COMPONENTS]
const ip6 = registry.getProtocol(CODE_IP6)

/**
 * An inbound connection's remote address, built from its components: this
 * runs per connection, and parsing a string costs more CPU and leaves the
 * parser's over-allocated component array on every idle connection
 */
export function remoteMultiaddr (family: string | undefined, address: string, port: number, secure: boolean): Multiaddr {
  return multiaddr([
    family === 'IPv6'
      // the same canonical form as parsing `/ip6/<address>` gives
      ? { code: CODE_IP6, name: 'ip6', value: ip6.stringToValue?.(address) ?? address }
      : { code: CODE_IP4, name: 'ip4', value: address },
    { code: CODE_TCP, name: 'tcp', value: `${port}` },
    ...(secure ? TLS_WS_COMPONENTS : WS_COMPONENTS)
  ])
}

export function createListener (components: WebSocketListenerComponents, init: WebSocketListenerInit): Listener {
  return new WebSocketListener(components, init)
}

/** Node.js can listen; the browser build swaps this module for one that cannot */
export const CAN_LISTEN = true
