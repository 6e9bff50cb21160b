/**
 * A browser's native `WebSocket` as a libp2p `MultiaddrConnection`.
 *
 * - writes: every chunk is one binary message. Browsers have no `drain`
 * event, so once `maxBufferedAmount` bytes wait in `bufferedAmount` the
 * writer is paused and `bufferedAmount` is polled every
 * {@link BUFFERED_AMOUNT_POLL_MS} until it falls to half of that; then
 * `drain` is dispatched.
 * - reads: a browser `WebSocket` cannot be paused; while the stream is
 * paused, messages collect in the stream's read buffer (bounded by its
 * `maxReadBufferLength`).
 * - `close()` sends a Close frame and resolves when the browser reports the
 * socket closed, or after `closeTimeout` (a page cannot destroy a socket;
 * the browser finishes the closing handshake on its own).
 * - `abort()` closes with {@link ABORT_CLOSE_CODE}: a page may only send 1000
 * or 3000–4999, so 1002/1006 are not available here.
 * - a close the browser reports as not clean (`wasClean: false`) while the
 * connection is open is a remote reset; a text message is a protocol error.
 */
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { WebSocketProtocolError } from '../errors.js'
import type { AbortOptions, MultiaddrConnection } from '@libp2p/interface'
import type { AbstractMultiaddrConnectionInit, SendResult } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/** How often `bufferedAmount` is checked while a writer waits for it to fall */
export const BUFFERED_AMOUNT_POLL_MS = 10

/** Close code for a normal closure (RFC 6455 §7.4.1) */
const NORMAL_CLOSURE = 1000

/**
 * Close code sent by `abort()` and on a protocol error: the first code of the
 * private-use range, because a page may not send 1002 or 1006.
 */
export const ABORT_CLOSE_CODE = 4000

/** `WebSocket.OPEN` / `WebSocket.CLOSED`, without relying on a global at import time */
const OPEN = 1
const CLOSED = 3

/**
 * What {@link BrowserWebSocketConnection} needs besides the base
 * `AbstractMultiaddrConnection` options.
 */
export interface BrowserWebSocketConnectionInit extends Omit<AbstractMultiaddrConnectionInit, 'name'> {
  /** An open native `WebSocket` */
  websocket: WebSocket
  /** Bytes allowed in `bufferedAmount` before writers wait */
  maxBufferedAmount: number
  /** Milliseconds `close()` waits for the browser to report the socket closed */
  closeTimeout: number
}

/**
 * A libp2p `MultiaddrConnection` over a browser's native `WebSocket`. Create
 * it with {@link toBrowserMultiaddrConnection} once the socket is open.
 */
export class BrowserWebSocketConnection extends AbstractMultiaddrConnection {
  private readonly websocket: WebSocket
  private readonly maxBufferedAmount: number
  private readonly closeTimeout: number
  private pollTimer?: ReturnType<typeof setTimeout>
  private closingLocally = false

  constructor (init: BrowserWebSocketConnectionInit) {
    super(init)

    this.websocket = init.websocket
    this.maxBufferedAmount = init.maxBufferedAmount
    this.closeTimeout = init.closeTimeout
    this.websocket.binaryType = 'arraybuffer'

    this.websocketOnMessage = this.websocketOnMessage.bind(this)
    this.websocketOnClose = this.websocketOnClose.bind(this)
    this.pollBufferedAmount = this.pollBufferedAmount.bind(this)

    this.websocket.addEventListener('message', this.websocketOnMessage)
    this.websocket.addEventListener('close', this.websocketOnClose, { once: true })

    // the remote may have gone between 'open' and now
    if (this.websocket.readyState === CLOSED) {
      queueMicrotask(() => { this.websocketOnClose(new CloseEvent('close', { wasClean: false, code: 1006 })) })
    }
  }

  sendData (data: Uint8ArrayList): SendResult {
    if (this.websocket.readyState !== OPEN) {
      // the close event that follows ends this connection
      return { sentBytes: data.byteLength, canSendMore: true }
    }

    for (const buf of data) {
      this.websocket.send(toArrayBufferView(buf))
    }

    const canSendMore = this.websocket.bufferedAmount < this.maxBufferedAmount

    if (!canSendMore) {
      this.startPolling()
    }

    return { sentBytes: data.byteLength, canSendMore }
  }

  sendReset (): void {
    this.stopPolling()

    if (this.websocket.readyState !== CLOSED) {
      this.closingLocally = true
      this.websocket.close(ABORT_CLOSE_CODE, 'aborted')
    }
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    if (this.websocket.readyState === CLOSED) {
      return
    }

    this.closingLocally = true

    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.websocket.removeEventListener('close', done)
        options?.signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(() => {
        this.log('the browser did not report the socket closed within %dms', this.closeTimeout)
        done()
      }, this.closeTimeout)

      this.websocket.addEventListener('close', done)
      options?.signal?.addEventListener('abort', done, { once: true })

      if (options?.signal?.aborted === true) {
        done()
      }

      this.websocket.close(NORMAL_CLOSURE)
    })
  }

  sendPause (): void {
    // a browser WebSocket cannot be paused; the stream buffers what arrives
  }

  sendResume (): void {
    // see sendPause
  }

  private websocketOnMessage (evt: MessageEvent): void {
    if (evt.data instanceof ArrayBuffer) {
      this.onData(new Uint8Array(evt.data))
      return
    }

    this.abort(new WebSocketProtocolError('Received a text message; libp2p sends binary messages only', 'WS_ERR_UNEXPECTED_TEXT', ABORT_CLOSE_CODE))
  }

  private websocketOnClose (evt: CloseEvent): void {
    this.stopPolling()
    this.websocket.removeEventListener('message', this.websocketOnMessage)
    this.log('websocket closed with code %d, clean %s', evt.code, evt.wasClean)

    if (!evt.wasClean && !this.closingLocally && this.status === 'open') {
      this.onRemoteReset()
    } else {
      this.onTransportClosed()
    }
  }

  private startPolling (): void {
    if (this.pollTimer == null) {
      this.pollTimer = setTimeout(this.pollBufferedAmount, BUFFERED_AMOUNT_POLL_MS)
    }
  }

  private stopPolling (): void {
    if (this.pollTimer != null) {
      clearTimeout(this.pollTimer)
      this.pollTimer = undefined
    }
  }

  private pollBufferedAmount (): void {
    this.pollTimer = undefined

    if (this.websocket.readyState !== OPEN) {
      return
    }

    if (this.websocket.bufferedAmount <= this.maxBufferedAmount / 2) {
      this.safeDispatchEvent('drain')
      return
    }

    this.startPolling()
  }
}

/**
 * `WebSocket.send()` takes an `ArrayBufferView` backed by a plain
 * `ArrayBuffer`; copy only when the chunk lives in a `SharedArrayBuffer`.
 */
function toArrayBufferView (buf: Uint8Array): Uint8Array<ArrayBuffer> {
  return buf.buffer instanceof ArrayBuffer ? buf as Uint8Array<ArrayBuffer> : Uint8Array.from(buf)
}

/**
 * Wrap an open native `WebSocket` as a `MultiaddrConnection`.
 */
export function toBrowserMultiaddrConnection (init: BrowserWebSocketConnectionInit): MultiaddrConnection {
  return new BrowserWebSocketConnection(init)
}
