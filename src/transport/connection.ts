/**
 * A `ws` WebSocket as a libp2p `MultiaddrConnection`.
 *
 * - writes: all chunks of one `sendData` leave in one corked write (one
 * syscall). Runs of small chunks (a muxer's frame header and its payload, a
 * handshake message) are joined into one binary message; a chunk of
 * {@link COALESCE_BYTES} or more is its own message and is never copied.
 * Backpressure follows the socket's real `drain` once `maxBufferedAmount`
 * bytes wait.
 * - reads: the messages of one socket read reach the reader in one event, as
 * the bytes of one read would on a TCP stream: small ones joined, large ones
 * as they are (never copied).
 * `pause()`/`resume()` pause the TCP socket itself.
 * - per connection there are no bound functions: the event listeners are
 * module-level functions (named after the event, as in `ws`) that find their
 * connection through a symbol on the WebSocket or socket.
 * - `close()` sends a Close frame and destroys the socket after
 * `closeTimeout`; `abort()` destroys it at once.
 * - a remote Close frame is a remote close, a socket that ends without one
 * is a remote reset; a framing violation closes with its close code and ends
 * the connection with a {@link WebSocketProtocolError}.
 */
import net from 'node:net'
import tls from 'node:tls'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { WebSocket } from 'ws'
import { WebSocketProtocolError, closeCodeFor } from '../errors.js'
import type { AbortOptions, MultiaddrConnection } from '@libp2p/interface'
import type { AbstractMultiaddrConnectionInit, SendResult } from '@libp2p/utils'
import type { Duplex } from 'node:stream'

export interface WebSocketConnectionInit extends Omit<AbstractMultiaddrConnectionInit, 'name'> {
  websocket: WebSocket
  /** The TCP (or TLS) socket under the WebSocket */
  socket: Duplex
  maxBufferedAmount: number
  closeTimeout: number
}

/**
 * Chunks smaller than this are joined with their neighbours into one
 * message (copying is cheaper than a message each); a joined message is
 * flushed once it reaches this size.
 */
export const COALESCE_BYTES = 16 * 1024

/** Options of every `websocket.send()`: one object, not one per call */
const SEND_OPTIONS = { binary: true, compress: false } as const

/** The connection a WebSocket or its socket belongs to */
const kConnection = Symbol('tolerant-ws:connection')

interface Owned { [kConnection]?: WebSocketConnection }

/** Close code for a normal closure (RFC 6455 §7.4.1) */
const NORMAL_CLOSURE = 1000
/** Close code `ws` reports when the socket ended without a Close frame */
const ABNORMAL_CLOSURE = 1006

export class WebSocketConnection extends AbstractMultiaddrConnection {
  private readonly websocket: WebSocket
  private readonly socket: Duplex
  private readonly maxBufferedAmount: number
  private readonly closeTimeout: number
  private closeTimer?: ReturnType<typeof setTimeout>
  private protocolError?: WebSocketProtocolError
  private closingLocally = false
  private closeHandled = false
  /** messages of the current socket read, not yet handed on */
  private pendingReads?: Uint8Array[]

  constructor (init: WebSocketConnectionInit) {
    super(init)

    this.websocket = init.websocket
    this.socket = init.socket
    this.maxBufferedAmount = init.maxBufferedAmount
    this.closeTimeout = init.closeTimeout
    if (this.websocket.binaryType !== 'nodebuffer') {
      this.websocket.binaryType = 'nodebuffer'
    }

    (this.websocket as Owned)[kConnection] = this
    ;(this.socket as Owned)[kConnection] = this
    this.websocket.on('message', websocketOnMessage)
    this.websocket.on('error', websocketOnError)
    // `ws` emits 'close' once
    this.websocket.on('close', websocketOnClose)
    this.socket.on('drain', socketOnDrain)

    // the remote may have gone between the upgrade and now
    if (this.websocket.readyState === WebSocket.CLOSED) {
      queueMicrotask(() => { this.onWebSocketClose(ABNORMAL_CLOSURE) })
    }
  }

  sendData (data: Uint8ArrayList): SendResult {
    if (this.websocket.readyState !== WebSocket.OPEN) {
      // the close event that follows ends this connection
      return { sentBytes: data.byteLength, canSendMore: true }
    }

    const bufs = [...data]

    if (bufs.length === 1) {
      this.websocket.send(bufs[0], SEND_OPTIONS)
    } else {
      // one write (one syscall) for all the messages of this call. Corking
      // until the next tick instead, to merge separate calls, was measured
      // to delay the first stream after the handshake by ~5 ms
      this.socket.cork()

      try {
        for (const buf of coalesce(bufs)) {
          this.websocket.send(buf, SEND_OPTIONS)
        }
      } finally {
        this.socket.uncork()
      }
    }

    const canSendMore = this.websocket.bufferedAmount < this.maxBufferedAmount

    if (!canSendMore && !this.socket.writableNeedDrain) {
      // the socket is under its own high-water mark so it will not emit
      // 'drain' - let the writer continue on the next turn
      setImmediate(connectionOnImmediateDrain, this)
    }

    return { sentBytes: data.byteLength, canSendMore }
  }

  sendReset (): void {
    this.clearCloseTimer()

    // a RST, not a FIN: a peer that stopped reading would otherwise keep
    // the connection and our unsent bytes in the kernel (FIN-WAIT-1). Only
    // a plain TCP socket can do it; a TLS socket is destroyed below
    if (this.socket instanceof net.Socket && !(this.socket instanceof tls.TLSSocket) && !this.socket.destroyed) {
      this.socket.resetAndDestroy()
    }

    this.websocket.terminate()
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    if (this.websocket.readyState === WebSocket.CLOSED) {
      return
    }

    this.closingLocally = true

    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        options?.signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = (): void => {
        this.websocket.terminate()
      }
      const timer = setTimeout(() => {
        this.log('remote did not answer our Close frame within %dms, destroying the socket', this.closeTimeout)
        this.websocket.terminate()
      }, this.closeTimeout)

      this.websocket.once('close', done)
      options?.signal?.addEventListener('abort', onAbort, { once: true })

      if (options?.signal?.aborted === true) {
        onAbort()
      } else if (this.websocket.readyState === WebSocket.OPEN) {
        this.websocket.close(NORMAL_CLOSURE)
      }
    })
  }

  sendPause (): void {
    this.websocket.pause()
  }

  sendResume (): void {
    this.websocket.resume()
  }

  /**
   * Called by {@link websocketOnError}.
   *
   * @internal
   */
  onWebSocketError (err: Error & { code?: string }): void {
    // `ws` has already sent the matching Close frame; make sure the socket
    // goes even when the remote never answers it
    this.protocolError = new WebSocketProtocolError(err.message, err.code, closeCodeFor(err.code))
    this.log.error('websocket protocol error %s, closing with %d - %e', this.protocolError.code, this.protocolError.closeCode, err)
    this.clearCloseTimer()
    this.closeTimer = setTimeout(() => { this.websocket.terminate() }, this.closeTimeout)
  }

  /**
   * Called by {@link websocketOnMessage}. Messages that arrive in one socket
   * read are handed on in one event, once that read is done, as the bytes of
   * one read would be on a TCP stream: the reader (a noise decoder, a muxer)
   * parses a few chunks instead of one event per message. Small messages are
   * joined ({@link coalesce}); large ones are never copied.
   *
   * @internal
   */
  onWebSocketMessage (data: Buffer): void {
    if (this.pendingReads == null) {
      this.pendingReads = [data]
      queueMicrotask(() => { this.flushReads() })
    } else {
      this.pendingReads.push(data)
    }
  }

  private flushReads (): void {
    const reads = this.pendingReads

    if (reads == null) {
      return
    }

    this.pendingReads = undefined

    const parts = reads.length === 1 ? reads : coalesce(reads)
    this.onData(parts.length === 1 ? parts[0] : new Uint8ArrayList(...parts))
  }

  /**
   * Called by {@link websocketOnClose}.
   *
   * @internal
   */
  onWebSocketClose (code: number): void {
    if (this.closeHandled) {
      return
    }

    // data that arrived before the close is delivered first
    this.flushReads()
    this.closeHandled = true
    this.clearCloseTimer()
    this.socket.removeListener('drain', socketOnDrain)
    this.websocket.removeListener('message', websocketOnMessage)
    this.log('websocket closed with code %d', code)

    if (this.protocolError != null) {
      this.onTransportClosed(this.protocolError)
    } else if (code === ABNORMAL_CLOSURE && !this.closingLocally && this.status === 'open') {
      this.onRemoteReset()
    } else {
      this.onTransportClosed()
    }
  }

  /**
   * Called by {@link socketOnDrain}.
   *
   * @internal
   */
  onSocketDrain (): void {
    if (this.websocket.bufferedAmount < this.maxBufferedAmount) {
      this.safeDispatchEvent('drain')
    }
  }

  private clearCloseTimer (): void {
    if (this.closeTimer != null) {
      clearTimeout(this.closeTimer)
      this.closeTimer = undefined
    }
  }
}

/**
 * The chunks to send or hand on for `bufs`: a chunk of {@link COALESCE_BYTES}
 * or more stays as it is (never copied), and each run of smaller neighbours
 * is joined into chunks of about that size.
 */
export function coalesce (bufs: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let first = 0
  let pending = 0

  for (let i = 0; i <= bufs.length; i++) {
    const buf: Uint8Array | undefined = bufs[i]
    const large = buf != null && buf.byteLength >= COALESCE_BYTES

    // flush the run of small chunks before a large chunk, at the end, or
    // once the run is big enough
    if (buf == null || large || pending >= COALESCE_BYTES) {
      if (i - first === 1) {
        out.push(bufs[first])
      } else if (i - first > 1) {
        out.push(Buffer.concat(bufs.slice(first, i), pending))
      }

      first = i
      pending = 0
    }

    if (large) {
      out.push(buf)
      first = i + 1
    } else if (buf != null) {
      pending += buf.byteLength
    }
  }

  return out
}

function websocketOnMessage (this: WebSocket & Owned, data: Buffer): void {
  this[kConnection]?.onWebSocketMessage(data)
}

function websocketOnError (this: WebSocket & Owned, err: Error & { code?: string }): void {
  this[kConnection]?.onWebSocketError(err)
}

function websocketOnClose (this: WebSocket & Owned, code: number): void {
  this[kConnection]?.onWebSocketClose(code)
}

function socketOnDrain (this: Duplex & Owned): void {
  this[kConnection]?.onSocketDrain()
}

function connectionOnImmediateDrain (connection: WebSocketConnection): void {
  connection.onSocketDrain()
}

export function toMultiaddrConnection (init: WebSocketConnectionInit): MultiaddrConnection {
  return new WebSocketConnection(init)
}
