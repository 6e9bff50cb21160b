/**
 * @packageDocumentation
 *
 * A WebSocket transport for js-libp2p 3 whose listener never throws from
 * `getAddrs()` and whose sockets are bounded at every phase.
 *
 * @example
 *
 * ```TypeScript
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { createLibp2p } from 'libp2p'
 * import { webSockets } from 'tolerant-ws/transport'
 *
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
 *   transports: [webSockets()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()]
 * })
 * ```
 */
import { verifyConfig } from './options.js'
import { WebSocketsTransport } from './transport.js'
import type { WebSocketsInit } from './options.js'
import type { WebSocketsComponents } from './transport.js'
import type { Transport } from '@libp2p/interface'

export { WebSocketsAddr, SecureWebSocketsAddr } from './address.js'
export type { CloseServerOnMaxConnectionsOpts, WebSocketsInit } from './options.js'
export type { WebSocketsComponents, WebSocketsDialEvents } from './transport.js'
export { WebSocketProtocolError, UpgradeRejectedError } from '../errors.js'

/**
 * Creates the WebSocket transport. Options are merged over their defaults
 * and validated once, here.
 *
 * @throws {InvalidParametersError} when an option is out of range
 */
export function webSockets (init: WebSocketsInit = {}): (components: WebSocketsComponents) => Transport {
  const config = verifyConfig(init)

  return (components) => new WebSocketsTransport(components, config)
}
