/**
 * A `ws` WebSocket as a libp2p `MultiaddrConnection`.
 *
 * - writes: every chunk is one binary message; all chunks of one `sendData`
 *   go out in one corked write; backpressure follows the socket's real
 *   `drain` once `maxBufferedAmount` bytes wait.
 * - reads: `pause()`/`resume()` pause the TCP socket itself.
 * - `close()` sends a Close frame and destroys the socket after `closeTimeout`;
 *   `abort()` destroys it at once.
 * - a remote Close frame is a remote close, a socket that ends without one is
 *   a remote reset; a framing violation closes with its close code and ends
 *   the connection with a {@link WebSocketProtocolError}.
 */
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { WebSocket } from 'ws'
import { WebSocketProtocolError, closeCodeFor } from '../errors.js'
import type { AbortOptions, MultiaddrConnection } from '@libp2p/interface'
import type { AbstractMultiaddrConnectionInit, SendResult } from '@libp2p/utils'
import type { Duplex } from 'node:stream'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface WebSocketConnectionInit extends Omit<AbstractMultiaddrConnectionInit, 'name'> {
  websocket: WebSocket
  /** The TCP (or TLS) socket under the WebSocket */
  socket: Duplex
  maxBufferedAmount: number
  closeTimeout: number
}

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

  constructor (init: WebSocketConnectionInit) {
    super(init)

    this.websocket = init.websocket
    this.socket = init.socket
    this.maxBufferedAmount = init.maxBufferedAmount
    this.closeTimeout = init.closeTimeout
    this.websocket.binaryType = 'nodebuffer'

    this.websocketOnMessage = this.websocketOnMessage.bind(this)
    this.websocketOnError = this.websocketOnError.bind(this)
    this.websocketOnClose = this.websocketOnClose.bind(this)
    this.socketOnDrain = this.socketOnDrain.bind(this)

    this.websocket.on('message', this.websocketOnMessage)
    this.websocket.on('error', this.websocketOnError)
    this.websocket.once('close', this.websocketOnClose)
    this.socket.on('drain', this.socketOnDrain)

    // the remote may have gone between the upgrade and now
    if (this.websocket.readyState === WebSocket.CLOSED) {
      queueMicrotask(() => { this.websocketOnClose(ABNORMAL_CLOSURE) })
    }
  }

  sendData (data: Uint8ArrayList): SendResult {
    if (this.websocket.readyState !== WebSocket.OPEN) {
      // the close event that follows ends this connection
      return { sentBytes: data.byteLength, canSendMore: true }
    }

    this.socket.cork()

    try {
      for (const buf of data) {
        this.websocket.send(buf, { binary: true, compress: false })
      }
    } finally {
      this.socket.uncork()
    }

    const canSendMore = this.websocket.bufferedAmount < this.maxBufferedAmount

    if (!canSendMore && !this.socket.writableNeedDrain) {
      // the socket is under its own high-water mark so it will not emit
      // 'drain' - let the writer continue on the next turn
      setImmediate(this.socketOnDrain)
    }

    return { sentBytes: data.byteLength, canSendMore }
  }

  sendReset (): void {
    this.clearCloseTimer()
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

  private websocketOnMessage (data: Buffer): void {
    this.onData(data)
  }

  private websocketOnError (err: Error & { code?: string }): void {
    // `ws` has already sent the matching Close frame; make sure the socket
    // goes even when the remote never answers it
    this.protocolError = new WebSocketProtocolError(err.message, err.code, closeCodeFor(err.code))
    this.log.error('websocket protocol error %s, closing with %d - %e', this.protocolError.code, this.protocolError.closeCode, err)
    this.clearCloseTimer()
    this.closeTimer = setTimeout(() => { this.websocket.terminate() }, this.closeTimeout)
  }

  private websocketOnClose (code: number): void {
    this.clearCloseTimer()
    this.socket.removeListener('drain', this.socketOnDrain)
    this.websocket.removeListener('message', this.websocketOnMessage)
    this.log('websocket closed with code %d', code)

    if (this.protocolError != null) {
      this.onTransportClosed(this.protocolError)
    } else if (code === ABNORMAL_CLOSURE && !this.closingLocally && this.status === 'open') {
      this.onRemoteReset()
    } else {
      this.onTransportClosed()
    }
  }

  private socketOnDrain (): void {
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

export function toMultiaddrConnection (init: WebSocketConnectionInit): MultiaddrConnection {
  return new WebSocketConnection(init)
}
