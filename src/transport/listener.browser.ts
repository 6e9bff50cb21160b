import { UnsupportedOperationError } from '@libp2p/interface'
import type { Listener } from '@libp2p/interface'

/** Browsers cannot accept connections; the transport's listenFilter returns none */
export const CAN_LISTEN = false

export function createListener (): Listener {
  throw new UnsupportedOperationError('WebSocket listeners cannot be created in a browser')
}
