/**
 * @packageDocumentation
 *
 * tolerant-ws: a WebSocket transport and a pubsub peer discovery for
 * js-libp2p 3 that tolerate the start-up race of js-libp2p#2902.
 *
 * @example
 *
 * ```TypeScript
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { createLibp2p } from 'libp2p'
 * import { webSockets } from 'tolerant-ws'
 *
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/0.0.0.0/tcp/0/ws'] },
 *   transports: [webSockets()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()]
 * })
 * ```
 */
export * from './transport/index.js'
export * from './discovery/index.js'
