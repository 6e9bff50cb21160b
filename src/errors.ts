/**
 * Errors raised by tolerant-ws. Each subclasses the nearest `@libp2p/interface`
 * error so `instanceof` checks written against libp2p keep working; match on
 * `err.name` rather than on messages.
 */
import { ConnectionFailedError, ProtocolError } from '@libp2p/interface'

/**
 * The WebSocket close code a protocol violation maps to, by the `code` that
 * `ws` gives its errors (RFC 6455 §7.4.1). Unknown codes map to 1002.
 */
const CLOSE_CODE_BY_WS_ERROR: Record<string, number> = {
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
  WS_ERR_TOO_MANY_PENDING_PONGS: 1008
}

/**
 * Maps a `ws` error code to the close code sent for it.
 */
export function closeCodeFor (wsErrorCode: string | undefined): number {
  return (wsErrorCode != null ? CLOSE_CODE_BY_WS_ERROR[wsErrorCode] : undefined) ?? 1002
}

/**
 * The remote broke the WebSocket framing protocol (reserved opcode, unmasked
 * client frame, oversized message, invalid UTF-8 in a close reason, …). The
 * connection was closed with {@link WebSocketProtocolError.closeCode}.
 */
export class WebSocketProtocolError extends ProtocolError {
  static name = 'WebSocketProtocolError'

  /** The machine-readable code, e.g. `WS_ERR_INVALID_OPCODE` */
  readonly code: string

  /** The WebSocket close code sent to the remote, e.g. 1002 */
  readonly closeCode: number

  constructor (message: string, code: string = 'WS_ERR_PROTOCOL', closeCode: number = closeCodeFor(code)) {
    super(message)
    this.name = 'WebSocketProtocolError'
    this.code = code
    this.closeCode = closeCode
  }
}

/**
 * A dial reached a server that did not answer the WebSocket upgrade with a
 * valid `101 Switching Protocols` (a redirect, an error page, a bad
 * `Sec-WebSocket-Accept`). Redirects are never followed.
 */
export class UpgradeRejectedError extends ConnectionFailedError {
  static name = 'UpgradeRejectedError'

  /** The HTTP status the server answered with, when it answered one */
  readonly statusCode?: number

  constructor (message: string, statusCode?: number) {
    super(message)
    this.name = 'UpgradeRejectedError'
    this.statusCode = statusCode
  }
}
