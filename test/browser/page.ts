/**
 * Runs inside headless Chromium. Bundled by esbuild from
 * `dist/test/browser/page.js`, so `package.json#browser` swaps in the browser
 * dialer (`connect.browser.js`) and listener stub. The test calls the
 * functions on `window.tolerantWs` through `page.evaluate`.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { TypedEventEmitter } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { pubsubPeerDiscovery } from '../../src/discovery/index.js'
import { webSockets } from '../../src/transport/index.js'
import { ECHO_PROTOCOL } from './protocol.js'
import type { DialOutcome, SwarmResult, SwarmRun } from './protocol.js'
import type { PeerDiscovery, Upgrader } from '@libp2p/interface'

declare global {
  interface Window {
    tolerantWs: {
      runSwarm(run: SwarmRun): Promise<SwarmResult>
      dial(addr: string, options: { handshakeTimeout: number, abortAfterMs?: number }): Promise<DialOutcome>
      listenFilter(addrs: string[]): string[]
    }
  }
}

async function runSwarm (run: SwarmRun): Promise<SwarmResult> {
  const started = performance.now()
  const discovered = new Map<string, { addrs: string[], afterMs: number }>()
  const createDiscovery = pubsubPeerDiscovery({ interval: 1000 })
  let onPeer = (): void => {}

  const node = await createLibp2p({
    transports: [webSockets({ maxBufferedAmount: run.maxBufferedAmount })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // libp2p's browser default refuses private addresses and plain /ws;
    // this page only ever talks to 127.0.0.1
    connectionGater: { denyDialMultiaddr: async () => false },
    peerDiscovery: [
      (components: any): PeerDiscovery => {
        const discovery = createDiscovery(components)
        discovery.addEventListener('peer', (evt) => {
          const id = evt.detail.id.toString()
          if (!discovered.has(id)) {
            discovered.set(id, { addrs: evt.detail.multiaddrs.map(String), afterMs: Math.round(performance.now() - started) })
          }
          onPeer()
        })
        return discovery
      }
    ],
    services: { identify: identify(), ping: ping(), pubsub: gossipsub() as any }
  })

  try {
    const bootstrap = multiaddr(run.bootstrap)
    await node.dial(bootstrap)

    await new Promise<void>((resolve, reject) => {
      const missing = (): string[] => run.expect.filter(id => !(discovered.get(id)?.addrs.some(a => a.includes('/ws')) ?? false))
      const timer = setTimeout(() => {
        onPeer = () => {}
        reject(new Error(`not discovered within ${run.timeoutMs} ms: ${missing().join(', ')}`))
      }, run.timeoutMs)
      onPeer = () => {
        if (missing().length === 0) {
          clearTimeout(timer)
          onPeer = () => {}
          resolve()
        }
      }
      onPeer()
    })

    const pings: SwarmResult['pings'] = []
    for (const id of run.expect) {
      const peerId = peerIdFromString(id)
      const rttMs = await node.services.ping.ping(peerId)
      pings.push({ id, rttMs, remoteAddr: node.getConnections(peerId)[0]?.remoteAddr.toString() ?? '' })
    }

    const echoed = await echo(await node.dialProtocol(bootstrap, ECHO_PROTOCOL), run.echoBytes)

    return {
      peerId: node.peerId.toString(),
      discovered: [...discovered].map(([id, d]) => ({ id, ...d })),
      pings,
      echoed
    }
  } finally {
    await node.stop()
  }
}

/** writes `total` patterned bytes in 64 KiB chunks, honouring backpressure, and reads them back */
async function echo (stream: Awaited<ReturnType<Awaited<ReturnType<typeof createLibp2p>>['dialProtocol']>>, total: number): Promise<SwarmResult['echoed']> {
  const CHUNK = 64 * 1024
  let waitedForDrain = 0
  let received = 0
  let same = true

  const reading = (async () => {
    for await (const chunk of stream) {
      const bytes = chunk.subarray()
      for (let i = 0; i < bytes.byteLength; i++) {
        if (bytes[i] !== (received + i) % 251) {
          same = false
        }
      }
      received += bytes.byteLength
      if (received >= total) {
        break
      }
    }
  })()

  for (let offset = 0; offset < total; offset += CHUNK) {
    const chunk = new Uint8Array(Math.min(CHUNK, total - offset))
    for (let i = 0; i < chunk.byteLength; i++) {
      chunk[i] = (offset + i) % 251
    }
    if (!stream.send(chunk)) {
      waitedForDrain++
      await stream.onDrain()
    }
  }

  await reading
  await stream.close()
  return { sent: total, received, same, waitedForDrain }
}

/** one bare transport dial (no libp2p node), to see the transport's own errors */
async function dial (addr: string, options: { handshakeTimeout: number, abortAfterMs?: number }): Promise<DialOutcome> {
  const transport = webSockets({ handshakeTimeout: options.handshakeTimeout })({
    logger: defaultLogger(),
    events: new TypedEventEmitter()
  })
  const controller = new AbortController()
  let listeners = 0
  const signal: any = controller.signal
  const add = signal.addEventListener.bind(signal)
  const remove = signal.removeEventListener.bind(signal)
  signal.addEventListener = (type: string, ...rest: any[]) => { if (type === 'abort') { listeners++ } add(type, ...rest) }
  signal.removeEventListener = (type: string, ...rest: any[]) => { if (type === 'abort') { listeners-- } remove(type, ...rest) }

  const upgrader = {
    upgradeOutbound: async () => { throw new Error('the server under test never upgrades') }
  } as unknown as Upgrader
  const started = performance.now()

  if (options.abortAfterMs != null) {
    setTimeout(() => { controller.abort() }, options.abortAfterMs)
  }

  try {
    await transport.dial(multiaddr(addr), { upgrader, signal: controller.signal })
    return { name: 'none', message: 'the dial succeeded', elapsedMs: performance.now() - started, listenersLeft: listeners }
  } catch (err: any) {
    return { name: err.name, message: err.message, elapsedMs: Math.round(performance.now() - started), listenersLeft: listeners }
  }
}

/** what the transport would listen on here: nothing, browsers cannot listen */
function listenFilter (addrs: string[]): string[] {
  const transport = webSockets()({ logger: defaultLogger(), events: new TypedEventEmitter() })
  return transport.listenFilter(addrs.map(a => multiaddr(a))).map(String)
}

window.tolerantWs = { runSwarm, dial, listenFilter }
document.title = 'ready'
