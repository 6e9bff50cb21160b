import { InvalidParametersError } from '@libp2p/interface'
import type { ServerOptions as HttpServerOptions } from 'node:http'
import type { ServerOptions as HttpsServerOptions } from 'node:https'
import type { ClientOptions } from 'ws'

/**
 * Pause accepting connections above a number of open connections and resume
 * below another, exactly as `@libp2p/tcp` does.
 */
export interface CloseServerOnMaxConnectionsOpts {
  /** Resume listening once the open connection count drops below this */
  listenBelow: number

  /** Stop listening once the open connection count reaches this */
  closeAbove: number

  /** Called when listening again fails (e.g. the port was taken meanwhile) */
  onListenError?(err: Error): void
}

/**
 * Options for {@link webSockets}. Every limit has a default; all times are in
 * milliseconds and all sizes in bytes.
 */
export interface WebSocketsInit {
  /**
   * Dialing: time allowed for TCP connect, TLS and the HTTP upgrade together.
   * Listening: time allowed from TCP accept to the `101 Switching Protocols`
   * (silent sockets, slow TLS and slow headers all end here). After that the
   * libp2p upgrader's own inbound timeout applies.
   *
   * @default 10_000
   */
  handshakeTimeout?: number

  /**
   * Largest WebSocket message accepted, in bytes. A larger one closes the
   * connection with 1009.
   *
   * @default 1_048_576
   */
  maxPayload?: number

  /**
   * Largest WebSocket message we send, in bytes. Bigger writes are split.
   * Keep it at or below the remote's `maxPayload`.
   *
   * @default 1_048_576
   */
  maxMessageSize?: number

  /**
   * Most frames one fragmented message may have. More closes the connection
   * with 1008 (policy violation) and a `WS_ERR_TOO_MANY_BUFFERED_PARTS`
   * `WebSocketProtocolError`.
   *
   * @default 1_024
   */
  maxFragments?: number

  /**
   * Write backpressure: once this many bytes wait in the socket, writers wait
   * for the socket to drain.
   *
   * @default 4_194_304
   */
  maxBufferedAmount?: number

  /**
   * How long `close()` waits for the remote's Close frame before the socket
   * is destroyed.
   *
   * @default 500
   */
  closeTimeout?: number

  /**
   * Most simultaneous sockets one listener holds (upgraded or not). Sockets
   * past it are destroyed at accept, before any byte is parsed.
   *
   * @default Infinity
   */
  maxConnections?: number

  /**
   * Stop listening above `closeAbove` open connections and listen again below
   * `listenBelow`, as `@libp2p/tcp` does.
   */
  closeServerOnMaxConnections?: CloseServerOnMaxConnectionsOpts

  /**
   * Length of the kernel's queue of not-yet-accepted connections (capped by
   * the OS, e.g. `net.core.somaxconn`).
   *
   * @default 4_096
   */
  backlog?: number

  /**
   * Options for the HTTP server that parses upgrade requests (e.g.
   * `maxHeaderSize`).
   */
  http?: HttpServerOptions

  /**
   * TLS options (at least `key` and `cert`) for listening on `/tls/ws` or
   * `/wss`. `certificate:provision` events from auto-TLS add to these.
   */
  https?: HttpsServerOptions

  /**
   * Options passed to the `ws` client when dialing in Node.js: an `agent` for
   * proxies, extra `headers`, TLS `ca`/`rejectUnauthorized`/`servername`, …
   * Compression and redirects stay off whatever is passed here.
   */
  websocket?: ClientOptions
}

/** Every option that has a default, with its default. */
export type WebSocketsConfig = Required<Omit<WebSocketsInit, 'closeServerOnMaxConnections' | 'http' | 'https' | 'websocket'>> & Pick<WebSocketsInit, 'closeServerOnMaxConnections' | 'http' | 'https' | 'websocket'>

export const HANDSHAKE_TIMEOUT_MS = 10_000
export const MAX_PAYLOAD_BYTES = 1024 * 1024
export const MAX_MESSAGE_SIZE_BYTES = 1024 * 1024
export const MAX_FRAGMENTS = 1024
export const MAX_BUFFERED_AMOUNT_BYTES = 4 * 1024 * 1024
export const CLOSE_TIMEOUT_MS = 500
export const BACKLOG = 4096

export const defaultConfig: Required<Omit<WebSocketsInit, 'closeServerOnMaxConnections' | 'http' | 'https' | 'websocket'>> = {
  handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  maxPayload: MAX_PAYLOAD_BYTES,
  maxMessageSize: MAX_MESSAGE_SIZE_BYTES,
  maxFragments: MAX_FRAGMENTS,
  maxBufferedAmount: MAX_BUFFERED_AMOUNT_BYTES,
  closeTimeout: CLOSE_TIMEOUT_MS,
  maxConnections: Infinity,
  backlog: BACKLOG
}

function assertPositive (name: string, value: number, allowInfinity = false): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new InvalidParametersError(`${name} must be a positive number, got ${String(value)}`)
  }
}

/**
 * Merges user options over the defaults once and validates the result.
 *
 * @throws {InvalidParametersError} when a value is out of range
 */
export function verifyConfig (init: WebSocketsInit = {}): WebSocketsConfig {
  const config: WebSocketsConfig = { ...defaultConfig }

  for (const [key, value] of Object.entries(init)) {
    if (value !== undefined) {
      (config as any)[key] = value
    }
  }

  assertPositive('handshakeTimeout', config.handshakeTimeout)
  assertPositive('maxPayload', config.maxPayload)
  assertPositive('maxMessageSize', config.maxMessageSize)
  assertPositive('maxFragments', config.maxFragments)
  assertPositive('maxBufferedAmount', config.maxBufferedAmount)
  assertPositive('closeTimeout', config.closeTimeout)
  assertPositive('maxConnections', config.maxConnections, true)
  assertPositive('backlog', config.backlog)

  const limits = config.closeServerOnMaxConnections

  if (limits != null) {
    assertPositive('closeServerOnMaxConnections.closeAbove', limits.closeAbove)
    assertPositive('closeServerOnMaxConnections.listenBelow', limits.listenBelow)

    if (limits.closeAbove < limits.listenBelow) {
      throw new InvalidParametersError('closeServerOnMaxConnections.closeAbove must be >= listenBelow')
    }
  }

  return config
}

/**
 * The limits `ws` enforces itself while parsing frames. `closeTimeout` and
 * `maxFragments` exist in ws >= 8.19 but not yet in its published types.
 */
export function wsLimits (config: WebSocketsConfig): { maxPayload: number } {
  const limits = {
    maxPayload: config.maxPayload,
    maxFragments: config.maxFragments,
    closeTimeout: config.closeTimeout
  }

  return limits
}
