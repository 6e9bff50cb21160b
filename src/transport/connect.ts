/**
 * Node.js dialer: opens a WebSocket with `ws` (never a global `WebSocket`),
 * bounded by `handshakeTimeout` and the caller's signal at every phase (TCP
 * connect, TLS, HTTP upgrade). Leaves no listener on the caller's signal.
 */
import { AbortError, ConnectionFailedError, InvalidParametersError, TimeoutError } from '@libp2p/interface'
import { WebSocket } from 'ws'
import { UpgradeRejectedError } from '../errors.js'
import { toMultiaddrConnection } from './connection.js'
import { wsLimits } from './options.js'
import type { DialTarget } from './address.js'
import type { WebSocketsConfig } from './options.js'
import type { AbortOptions, Logger, MultiaddrConnection, CounterGroup } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { IncomingMessage, ClientRequest } from 'node:http'
import type { Duplex } from 'node:stream'

export interface ConnectOptions extends AbortOptions {
  remoteAddr: Multiaddr
  target: DialTarget
  config: WebSocketsConfig
  log: Logger
  connectionLog: Logger
  metrics?: CounterGroup
}

export async function connect (options: ConnectOptions): Promise<MultiaddrConnection> {
  const { target, config, log } = options
  const signal = options.signal

  if (signal?.aborted === true) {
    throw new AbortError('Dial was aborted before it started')
  }

  let websocket: WebSocket

  try {
    websocket = new WebSocket(target.url, {
      ...config.websocket,
      ...(target.servername != null ? { servername: target.servername } : {}),
      ...wsLimits(config),
      perMessageDeflate: false,
      followRedirects: false
    })
  } catch (err: any) {
    // ws validates its options synchronously (e.g. an http.Agent for a wss URL)
    options.metrics?.increment({ error: true })
    throw new InvalidParametersError(`Cannot dial ${target.url} with these websocket options: ${err.message}`)
  }

  let socket: Duplex | undefined

  return new Promise<MultiaddrConnection>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      websocket.removeListener('open', onOpen)
      websocket.removeListener('error', onError)
      websocket.removeListener('upgrade', onUpgrade)
      websocket.removeListener('unexpected-response', onUnexpectedResponse)
    }
    const fail = (err: Error): void => {
      cleanup()
      // terminate() during the handshake makes `ws` emit one more 'error'
      websocket.on('error', (err) => { log.trace('error after failed dial to %s - %e', target.url, err) })
      websocket.terminate()
      options.metrics?.increment({ error: true })
      reject(err)
    }
    const onAbort = (): void => {
      options.metrics?.increment({ abort: true })
      fail(new AbortError(`Dial to ${target.url} was aborted`))
    }
    const onTimeout = (): void => {
      options.metrics?.increment({ timeout: true })
      fail(new TimeoutError(`WebSocket handshake with ${target.url} did not complete within ${config.handshakeTimeout}ms`))
    }
    const onError = (err: Error & { code?: string }): void => {
      const message = `Could not connect to ${target.url}: ${err.message}`
      // after the server's 101 arrived, any failure is a bad upgrade answer
      fail(socket != null ? new UpgradeRejectedError(message, 101) : new ConnectionFailedError(message))
    }
    const onUnexpectedResponse = (req: ClientRequest, res: IncomingMessage): void => {
      req.destroy()
      res.destroy()
      fail(new UpgradeRejectedError(`${target.url} answered the upgrade with HTTP ${res.statusCode ?? '?'}`, res.statusCode))
    }
    const onUpgrade = (res: IncomingMessage): void => {
      socket = res.socket
    }
    const onOpen = (): void => {
      cleanup()

      if (socket == null) {
        fail(new ConnectionFailedError(`No socket after connecting to ${target.url}`))
        return
      }

      options.metrics?.increment({ connect: true })
      log('connected to %s', target.url)

      try {
        resolve(toMultiaddrConnection({
          websocket,
          socket,
          remoteAddr: options.remoteAddr,
          direction: 'outbound',
          log: options.connectionLog,
          metrics: options.metrics,
          maxBufferedAmount: config.maxBufferedAmount,
          maxMessageSize: config.maxMessageSize,
          closeTimeout: config.closeTimeout
        }))
      } catch (err: any) {
        fail(err)
      }
    }

    const timer = setTimeout(onTimeout, config.handshakeTimeout)
    signal?.addEventListener('abort', onAbort, { once: true })
    websocket.once('open', onOpen)
    websocket.once('error', onError)
    websocket.once('upgrade', onUpgrade)
    websocket.once('unexpected-response', onUnexpectedResponse)
  })
}
