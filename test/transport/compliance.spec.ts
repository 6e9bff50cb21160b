/**
 * The transport suite of `@libp2p/interface-compliance-tests`, with real libp2p
 * nodes using noise + yamux, over /ws and over /tls/ws.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import tests from '@libp2p/interface-compliance-tests/transport'
import { webSockets, WebSocketsAddr, SecureWebSocketsAddr } from '../../src/index.js'
import { selfSignedCertificate } from '../fixtures/certificate.js'
import { LOOPBACK_ALLOW } from '../fixtures/nodes.js'
import type { WebSocketsInit } from '../../src/index.js'

function nodeConfig (init: WebSocketsInit, listen?: string): any {
  return {
    ...(listen != null ? { addresses: { listen: [listen, listen] } } : {}),
    transports: [webSockets(init)],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { allow: LOOPBACK_ALLOW },
    connectionGater: { denyDialMultiaddr: () => false }
  }
}

describe('interface-compliance-tests: transport over /ws', () => {
  tests({
    async setup () {
      return {
        dialer: nodeConfig({}),
        listener: nodeConfig({}, '/ip4/127.0.0.1/tcp/0/ws'),
        dialMultiaddrMatcher: WebSocketsAddr,
        listenMultiaddrMatcher: WebSocketsAddr
      }
    },
    async teardown () {}
  })
})

describe('interface-compliance-tests: transport over /tls/ws', () => {
  let https: { key: string, cert: string } | undefined

  tests({
    async setup () {
      https ??= await selfSignedCertificate()

      return {
        dialer: nodeConfig({ websocket: { ca: https.cert } }),
        listener: nodeConfig({ https }, '/ip4/127.0.0.1/tcp/0/tls/ws'),
        dialMultiaddrMatcher: SecureWebSocketsAddr,
        listenMultiaddrMatcher: SecureWebSocketsAddr
      }
    },
    async teardown () {}
  })
})
