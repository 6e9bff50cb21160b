/**
 * Pure helpers: which multiaddrs this transport handles, and how a multiaddr
 * becomes a WebSocket URL. No sockets here, so they are tested on their own.
 */
import { InvalidMultiaddrError } from '@libp2p/interface'
import { CODE_DNS, CODE_DNS4, CODE_DNS6, CODE_HTTP_PATH, CODE_IP4, CODE_IP6, CODE_P2P, CODE_SNI, CODE_TCP, CODE_TLS, CODE_WS, CODE_WSS } from '@multiformats/multiaddr'
import { and, code, fmt, optional, or, value } from '@multiformats/multiaddr-matcher/utils'
import { multiaddrToUri } from '@multiformats/multiaddr-to-uri'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { MultiaddrMatcher } from '@multiformats/multiaddr-matcher'

const HOST_PORT = and(
  or(value(CODE_IP4), value(CODE_IP6), value(CODE_DNS), value(CODE_DNS4), value(CODE_DNS6)),
  value(CODE_TCP)
)
const PATH_AND_PEER = [optional(value(CODE_HTTP_PATH)), optional(value(CODE_P2P))]

/** `/ip4|ip6|dns|dns4|dns6/…/tcp/…/ws[/http-path/…][/p2p/…]` */
export const WebSocketsAddr: MultiaddrMatcher = fmt(and(HOST_PORT, code(CODE_WS), ...PATH_AND_PEER))

/** The same with `/wss` or `/tls[/sni/HOST]/ws` */
export const SecureWebSocketsAddr: MultiaddrMatcher = fmt(or(
  and(HOST_PORT, code(CODE_WSS), ...PATH_AND_PEER),
  and(HOST_PORT, code(CODE_TLS), optional(value(CODE_SNI)), code(CODE_WS), ...PATH_AND_PEER)
))

/** Any address this transport can dial or listen on */
export function isWebSocketsAddr (ma: Multiaddr): boolean {
  return WebSocketsAddr.exactMatch(ma) || SecureWebSocketsAddr.exactMatch(ma)
}

export interface DialTarget {
  /** The URL handed to the WebSocket client */
  url: string

  /** TLS server name when the address pins an IP and names a host with `/sni` */
  servername?: string
}

/**
 * Turns a dialable multiaddr into a WebSocket URL. `/p2p/…` is dropped,
 * `/http-path/…` becomes the URL path. For `/ip4/1.2.3.4/tcp/443/tls/sni/example.com/ws`
 * the URL keeps the IP (no extra DNS lookup) and the SNI is returned apart.
 *
 * @throws {InvalidMultiaddrError} when the address is not a WebSocket address
 */
export function toDialTarget (ma: Multiaddr): DialTarget {
  if (!isWebSocketsAddr(ma)) {
    throw new InvalidMultiaddrError(`${ma.toString()} is not a WebSocket address`)
  }

  const components = ma.getComponents().filter(c => c.code !== CODE_P2P)
  const sni = components.find(c => c.code === CODE_SNI)?.value
  const host = components[0]

  if (sni == null || (host.code !== CODE_IP4 && host.code !== CODE_IP6)) {
    return { url: multiaddrToUri(ma.decapsulateCode(CODE_P2P)) }
  }

  const ip = host.code === CODE_IP6 ? `[${host.value}]` : host.value
  const port = components.find(c => c.code === CODE_TCP)?.value
  const path = components.find(c => c.code === CODE_HTTP_PATH)?.value

  return {
    url: `wss://${ip}:${port}${path != null ? decodeURIComponent(path) : ''}`,
    servername: sni
  }
}
