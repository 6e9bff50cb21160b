/**
 * Browser dialer: opens a native `WebSocket`, bounded by `handshakeTimeout`
 * and the caller's signal, and leaves no listener on that signal. Replaces
 * `connect.js` in bundles through `package.json#browser`.
 *
 * A page cannot set TLS options, headers or an agent, so `config.websocket`
 * is ignored here; for `/tls/sni/HOST/ws` addresses the URL names `HOST`,
 * because a browser takes the TLS server name from the URL.
 */
import { AbortError, ConnectionFailedError, TimeoutError } from '@libp2p/interface'
import { toBrowserMultiaddrConnection } from './connection.browser.js'
import type { DialTarget } from './address.js'
import type { ConnectOptions } from './connect.js'
import type { MultiaddrConnection } from '@libp2p/interface'

/**
 * The URL a browser dials: the target's URL, with the host replaced by the
 * SNI name when the address pins an IP and names a host.
 */
export function browserUrl (target: DialTarget): string {
  if (target.servername == null) {
    return target.url
  }

  const url = new URL(target.url)
  url.hostname = target.servername
  return url.toString()
}

/**
 * Open a WebSocket to `options.target` and wrap it as a `MultiaddrConnection`.
 *
 * @throws {AbortError} when `options.signal` aborts before the socket opens
 * @throws {TimeoutError} when the socket is not open within `handshakeTimeout`
 * @throws {ConnectionFailedError} when the browser fails the connection
 * (refused, TLS, a non-101 answer: a page is not told which)
 */
export async function connect (options: ConnectOptions): Promise<MultiaddrConnection> {
  const { config, log } = options
  const signal = options.signal
  const url = browserUrl(options.target)

  if (signal?.aborted === true) {
    throw new AbortError('Dial was aborted before it started')
  }

  let websocket: WebSocket

  try {
    websocket = new WebSocket(url)
  } catch (err: any) {
    // a malformed URL or a blocked port throws a SyntaxError/SecurityError
    options.metrics?.increment({ error: true })
    throw new ConnectionFailedError(`Could not connect to ${url}: ${String(err.message ?? err)}`)
  }

  websocket.binaryType = 'arraybuffer'

  return new Promise<MultiaddrConnection>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      websocket.removeEventListener('open', onOpen)
      websocket.removeEventListener('error', onError)
    }
    const fail = (err: Error): void => {
      cleanup()
      // closing a CONNECTING socket fails it; the browser fires error and close, no one listens
      websocket.close()
      options.metrics?.increment({ error: true })
      reject(err)
    }
    const onAbort = (): void => {
      options.metrics?.increment({ abort: true })
      fail(new AbortError(`Dial to ${url} was aborted`))
    }
    const onTimeout = (): void => {
      options.metrics?.increment({ timeout: true })
      fail(new TimeoutError(`WebSocket handshake with ${url} did not complete within ${config.handshakeTimeout}ms`))
    }
    const onError = (): void => {
      // browsers give no reason, on purpose
      fail(new ConnectionFailedError(`Could not connect to ${url}`))
    }
    const onOpen = (): void => {
      cleanup()
      options.metrics?.increment({ connect: true })
      log('connected to %s', url)

      try {
        resolve(toBrowserMultiaddrConnection({
          websocket,
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
    websocket.addEventListener('open', onOpen, { once: true })
    websocket.addEventListener('error', onError, { once: true })
  })
}
