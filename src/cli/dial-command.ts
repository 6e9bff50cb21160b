/**
 * `tolerant-ws dial`: dial one node, ping it once and print the libp2p
 * test-plans interop line (the same line `interop/js-peer.ts` prints).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import { webSockets } from '../transport/index.js'
import { oneLine } from './node-command.js'
import { CommandError, tlsOptions } from './tls.js'
import type { DialCommandOptions } from './args.js'

/** What one dial measured */
export interface DialResult {
  /** test-plans: dial (TCP, WebSocket upgrade, noise, yamux) plus one ping, ms */
  handshakePlusOneRTTMillis: number
  /** test-plans: the ping's round trip, ms; the key is spelled as test-plans spells it */
  pingRTTMilllis: number
}

/**
 * Dial `options.target`, ping it once and print the result: with `--json`
 * only the interop line, otherwise a human line first.
 *
 * @throws {CommandError} when the dial or the ping fails or times out
 */
export async function runDialCommand (options: DialCommandOptions, write: (line: string) => void, stop: AbortSignal): Promise<DialResult> {
  const tls = await tlsOptions(options)
  const node = await createLibp2p({
    transports: [webSockets(tls)],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() }
  })
  const signal = AbortSignal.any([stop, AbortSignal.timeout(options.timeoutMs)])
  const target = options.target.toString()

  try {
    const start = performance.now()
    const connection = await node.dial(options.target, { signal })
    const connectedMs = performance.now() - start
    const rtt = await node.services.ping.ping(connection.remotePeer, { signal })
    const result: DialResult = {
      handshakePlusOneRTTMillis: performance.now() - start,
      pingRTTMilllis: rtt
    }

    if (!options.json) {
      write(`dialed ${target} (peer ${connection.remotePeer.toString()}) in ${connectedMs.toFixed(1)} ms over ${connection.encryption ?? '?'} + ${connection.multiplexer ?? '?'}; ping ${rtt.toFixed(1)} ms`)
    }

    write(JSON.stringify(result))
    return result
  } catch (err: any) {
    if (stop.aborted) {
      throw new CommandError(`dial ${target}: interrupted`)
    }
    if (signal.aborted) {
      throw new CommandError(`dial ${target}: no answer within ${options.timeoutMs / 1000} s`)
    }
    throw new CommandError(`dial ${target} failed: ${oneLine(err)}`)
  } finally {
    await node.stop()
  }
}
