/* eslint-disable no-console */
/**
 * The libp2p/test-plans transport-interop contract (see ../shared/INTEROP.md),
 * independent of which js-libp2p release runs it: each peer script passes its
 * own modules in. Used by js-peer.ts (js-libp2p 3: tolerant-ws or
 * `@libp2p/websockets` 10) and js-v2/peer.mjs (js-libp2p 2).
 *
 * Environment: transport (ws|wss), security (noise|tls), muxer (yamux|mplex),
 * is_dialer ("true" = dialer), ip (default 0.0.0.0), redis_addr (default
 * redis:6379), test_timeout_seconds or test_timeout_secs (default 180).
 *
 * The dialer prints one line on stdout:
 * `{"handshakePlusOneRTTMillis": <ms>, "pingRTTMilllis": <ms>}`.
 * Everything else goes to stderr. Exit 0 on success, 1 on any failure.
 */

export interface PeerSettings {
  transport: 'ws' | 'wss'
  security: 'noise' | 'tls'
  muxer: 'yamux' | 'mplex'
  isDialer: boolean
}

/** The modules of one js-libp2p release */
export interface PeerStack {
  createLibp2p(options: any): Promise<any>
  multiaddr(addr: string): any
  createClient(options: { url: string }): any
  /** The transport for these settings (a wss listener gets a certificate here) */
  transport(settings: PeerSettings): Promise<any>
  encrypters: Partial<Record<PeerSettings['security'], () => any>>
  muxers: Partial<Record<PeerSettings['muxer'], () => any>>
  services: Record<string, () => any>
}

function env (name: string, fallback?: string): string {
  const value = process.env[name]

  if (value == null || value === '') {
    if (fallback == null) {
      throw new Error(`environment variable ${name} is required`)
    }

    return fallback
  }

  return value
}

function oneOf<T extends string> (name: string, allowed: readonly T[]): T {
  const value = env(name)

  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(`${name}=${value} is not supported (${allowed.join(', ')})`)
  }

  return value as T
}

async function run (stack: PeerStack): Promise<void> {
  const settings: PeerSettings = {
    transport: oneOf('transport', ['ws', 'wss'] as const),
    security: oneOf('security', ['noise', 'tls'] as const),
    muxer: oneOf('muxer', ['yamux', 'mplex'] as const),
    isDialer: env('is_dialer', 'false') === 'true'
  }
  const ip = env('ip', '0.0.0.0')
  const redisAddr = env('redis_addr', 'redis:6379')
  const timeoutSeconds = Number(process.env.test_timeout_seconds ?? process.env.test_timeout_secs ?? 180)
  const encrypter = stack.encrypters[settings.security]
  const muxer = stack.muxers[settings.muxer]

  if (encrypter == null || muxer == null) {
    throw new Error(`this peer does not support ${settings.security}/${settings.muxer}`)
  }

  const redis = stack.createClient({ url: `redis://${redisAddr}` })
  redis.on('error', (err: Error) => { console.error('redis error', err.message) })
  await redis.connect()

  const node = await stack.createLibp2p({
    addresses: {
      listen: settings.isDialer ? [] : [`/ip4/${ip}/tcp/0/${settings.transport === 'wss' ? 'tls/ws' : 'ws'}`]
    },
    transports: [await stack.transport(settings)],
    connectionEncrypters: [encrypter()],
    streamMuxers: [muxer()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: Object.fromEntries(Object.entries(stack.services).map(([name, factory]) => [name, factory()]))
  })

  try {
    if (settings.isDialer) {
      const reply = await redis.blPop('listenerAddr', timeoutSeconds)

      if (reply == null) {
        throw new Error(`no listener address in Redis within ${timeoutSeconds}s`)
      }

      const target = stack.multiaddr(reply.element)
      console.error(`dialing ${target.toString()}`)
      const signal = AbortSignal.timeout(timeoutSeconds * 1000)
      const start = performance.now()
      const connection = await node.dial(target, { signal })
      const rtt: number = await node.services.ping.ping(connection.remotePeer, { signal })
      const handshakePlusOneRTT = performance.now() - start
      console.log(JSON.stringify({ handshakePlusOneRTTMillis: handshakePlusOneRTT, pingRTTMilllis: rtt }))
    } else {
      const addrs: any[] = node.getMultiaddrs()
      const addr = addrs.find(ma => !/^\/ip4\/127\.|^\/ip6\/::1\//.test(ma.toString())) ?? addrs[0]

      if (addr == null) {
        throw new Error('the listener has no address')
      }

      console.error(`listening on ${addrs.map(String).join(', ')}; publishing ${addr.toString()}`)
      await redis.rPush('listenerAddr', addr.toString())
      await new Promise(resolve => setTimeout(resolve, timeoutSeconds * 1000))
    }
  } finally {
    await Promise.allSettled([node.stop(), redis.quit()])
  }
}

/** Runs the peer and exits the process: 0 on success, 1 on any failure */
export function runPeer (stack: PeerStack): void {
  run(stack).then(() => {
    process.exit(0)
  }, (err: Error) => {
    console.error(err.stack ?? err.message)
    process.exit(1)
  })
}
