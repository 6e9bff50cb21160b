/**
 * `tolerant-ws node`: one libp2p node on tolerant-ws with gossipsub (or
 * floodsub) and pubsubPeerDiscovery, reporting what happens as it happens.
 *
 * The pubsub service and the discovery are wrapped, not changed, so what is
 * printed is what the real modules did: the `subscribed` and `announce`
 * events are the discovery's own `subscribe()` and `publish()` calls, and
 * `peer` is the discovery's own `peer` event.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { floodsub } from '@libp2p/floodsub'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import { pubsubPeerDiscovery } from '../discovery/index.js'
import { defaultInit } from '../discovery/options.js'
import { decodeRecord } from '../discovery/record.js'
import { webSockets } from '../transport/index.js'
import { CommandError, tlsOptions } from './tls.js'
import type { NodeCommandOptions } from './args.js'
import type { NodeEvent } from './events.js'
import type { PubSub } from '../discovery/index.js'
import type { Libp2p, PeerDiscovery, PeerId, PeerInfo, Transport } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'

/** How long one ping may take, ms */
const PING_TIMEOUT_MS = 5000

/**
 * Run a node until `stop` aborts or `options.durationMs` passes, printing
 * every event through `print`.
 *
 * @throws {CommandError} when a certificate cannot be read or a listener
 * cannot bind
 */
export async function runNodeCommand (options: NodeCommandOptions, print: (e: NodeEvent) => void, stop: AbortSignal): Promise<void> {
  const tls = await tlsOptions(options)
  const subscribed = new Set<string>()
  const announced = new Map<string, number>()
  const known = new Map<string, PeerId>()
  const pinging = new Set<string>()
  let listening = false

  // only called from discovery's `peer` events, which start with `node.start()`,
  // after `node` below is assigned
  const pingPeer = (peerId: PeerId): void => {
    const id = peerId.toString()

    if (pinging.has(id)) {
      return
    }

    pinging.add(id)
    node.services.ping.ping(peerId, { signal: AbortSignal.timeout(PING_TIMEOUT_MS) })
      .then(rttMs => { print({ event: 'ping', peerId: id, rttMs }) })
      .catch((err: Error) => { print({ event: 'ping-failed', peerId: id, error: oneLine(err) }) })
      .finally(() => { pinging.delete(id) })
  }

  const onPeer = (info: PeerInfo): void => {
    const id = info.id.toString()
    print({ event: 'peer', peerId: id, addrs: info.multiaddrs.map(String), again: known.has(id) })
    known.set(id, info.id)
    pingPeer(info.id)
  }

  const watchPubSub = (pubsub: PubSub): PubSub => {
    const subscribe = pubsub.subscribe.bind(pubsub)
    const publish = pubsub.publish.bind(pubsub)

    pubsub.subscribe = (topic) => {
      subscribe(topic)
      if (options.topics.includes(topic) && !subscribed.has(topic)) {
        subscribed.add(topic)
        print({ event: 'subscribed', topic, listening })
      }
    }
    pubsub.publish = async (topic, data) => {
      if (options.topics.includes(topic)) {
        const seq = (announced.get(topic) ?? 0) + 1
        announced.set(topic, seq)
        print({ event: 'announce', topic, seq, addrs: recordAddrs(data) })
      }
      return publish(topic, data)
    }

    return pubsub
  }

  const router = options.router === 'floodsub' ? floodsub() : gossipsub()
  const discovery = pubsubPeerDiscovery({ topics: options.topics, interval: options.intervalMs })

  const node = await createLibp2p({
    start: false,
    addresses: { listen: options.listen.map(String) },
    transports: [delayBind(webSockets(tls), options.bindDelayMs)],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { allow: options.allow },
    peerDiscovery: [
      (components: any): PeerDiscovery => {
        const instance = discovery(components)
        instance.addEventListener('peer', (evt) => { onPeer(evt.detail) })
        return instance
      },
      ...(options.bootstrap.length > 0 ? [bootstrap({ list: options.bootstrap.map(String), timeout: 0 })] : [])
    ],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: ((components: any) => watchPubSub((router as any)(components))) as any
    }
  }) as unknown as Libp2p<{ ping: Ping, pubsub: PubSub }>

  const self = node.peerId.toString()

  node.addEventListener('transport:listening', (evt) => {
    listening = true
    const addrs = evt.detail.getAddrs().map(ma => `${ma.toString()}/p2p/${self}`)
    print({ event: 'listening', addrs, subscribedBeforeBind: subscribed.size > 0 })
  })
  node.addEventListener('connection:open', (evt) => {
    print({ event: 'connected', peerId: evt.detail.remotePeer.toString(), remoteAddr: evt.detail.remoteAddr.toString(), direction: evt.detail.direction })
  })
  node.addEventListener('connection:close', (evt) => {
    print({ event: 'disconnected', peerId: evt.detail.remotePeer.toString(), remoteAddr: evt.detail.remoteAddr.toString() })
  })

  print({ event: 'starting', peerId: self, topics: options.topics, listen: options.listen.map(String), bootstrap: options.bootstrap.map(String) })

  try {
    await node.start()
  } catch (err: any) {
    await node.stop()
    throw new CommandError(`could not start: ${oneLine(err)}`)
  }

  const timer = options.pingIntervalMs > 0
    ? setInterval(() => { for (const peerId of known.values()) { pingPeer(peerId) } }, options.pingIntervalMs)
    : undefined
  const reason = await stopped(stop, options.durationMs)

  clearInterval(timer)
  await node.stop()
  print({ event: 'stopped', reason })
}

/** resolves with why the node stops: the signal, or the end of `durationMs` */
async function stopped (stop: AbortSignal, durationMs?: number): Promise<string> {
  return new Promise(resolve => {
    const done = (reason: string): void => {
      clearTimeout(timer)
      stop.removeEventListener('abort', onAbort)
      resolve(reason)
    }
    const onAbort = (): void => { done(String(stop.reason ?? 'stopped')) }
    const timer = durationMs != null ? setTimeout(() => { done(`--duration ${durationMs / 1000}s elapsed`) }, durationMs) : undefined

    if (stop.aborted) {
      onAbort()
      return
    }

    stop.addEventListener('abort', onAbort, { once: true })
  })
}

/** the addresses in one of our discovery records */
function recordAddrs (data: Uint8Array): string[] {
  const verdict = decodeRecord(data, defaultInit)
  return verdict.record?.multiaddrs.map(String) ?? []
}

/**
 * Bind every listener `delayMs` late. libp2p starts discovery in the same
 * `Promise.all` as the transport manager, so with a delay discovery is
 * guaranteed to be running before any address exists: the js-libp2p#2902
 * race, made visible.
 */
function delayBind (factory: (components: any) => Transport, delayMs: number): (components: any) => Transport {
  if (delayMs <= 0) {
    return factory
  }

  return (components) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)

    transport.createListener = (opts) => {
      const listener = createListener(opts)
      const listen = listener.listen.bind(listener)

      listener.listen = async (ma) => {
        // the point of --bind-delay: bind late, on purpose
        await new Promise(resolve => setTimeout(resolve, delayMs))
        await listen(ma)
      }

      return listener
    }

    return transport
  }
}

/** an error's message on one line, for printing */
export function oneLine (err: unknown): string {
  const e = err as Error & { errors?: Error[] }
  const message = e?.message ?? String(err)
  const inner = Array.isArray(e?.errors) && e.errors.length > 0 ? `: ${e.errors.map(x => x.message).join('; ')}` : ''
  return `${message}${inner}`.replace(/\s*\n\s*/g, ' ')
}
