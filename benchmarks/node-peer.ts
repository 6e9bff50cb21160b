/**
 * A child process running full libp2p 3 nodes (noise + yamux + ping +
 * identify) over one implementation: a listener, a dialer, or a swarm of
 * dialers for the simultaneous-dial scenario.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createBenchNode } from './impls.js'
import { memorySnapshot, serve } from './proc.js'
import { runTransfer, serveThroughput } from './throughput.js'
import type { ImplName, RawConn } from './impls.js'
import type { Stream } from '@libp2p/interface'

/** one dial + ping that takes longer than this counts as a failure */
const ITERATION_TIMEOUT_MS = 10_000

export const THROUGHPUT_PROTOCOL = '/tolerant-ws/bench/throughput/1.0.0'

let node: any
let swarm: any[] = []

function streamToRaw (stream: Stream): RawConn {
  return {
    write: (buf) => stream.send(buf),
    drain: async () => { await stream.onDrain() },
    onData: (listener) => { stream.addEventListener('message', (evt) => { listener(evt.data as any) }) },
    close: async () => { await stream.close() }
  }
}

async function dialer (impl: ImplName): Promise<any> {
  node ??= await createBenchNode(impl, false)
  return node
}

function errorKey (err: any): string {
  return `${err?.name ?? 'Error'}: ${String(err?.message ?? err).slice(0, 100)}`
}

serve({
  async listen ({ impl }: { impl: ImplName }) {
    node = await createBenchNode(impl, true)
    await node.handle(THROUGHPUT_PROTOCOL, (stream: Stream) => {
      serveThroughput(streamToRaw(stream))
    }, { maxInboundStreams: 1024 })
    return { addr: node.getMultiaddrs()[0].toString(), peerId: node.peerId.toString() }
  },

  async cpu () {
    const c = process.cpuUsage()
    return { seconds: (c.user + c.system) / 1e6 }
  },

  async connections () {
    return { count: node?.getConnections().length ?? 0 }
  },

  async memory () {
    return { ...await memorySnapshot(), connections: node?.getConnections().length ?? 0 }
  },

  /** dial + first ping on a new connection each time (the interop suite's handshakePlusOneRTTMillis) */
  async handshake ({ impl, addr, n }: { impl: ImplName, addr: string, n: number }) {
    const d = await dialer(impl)
    const ma = multiaddr(addr)
    const remote = peerIdFromString(addr.split('/p2p/')[1])
    const samples: number[] = []
    /** until dial() resolved (noise + yamux negotiated), before the ping */
    const dialSamples: number[] = []
    const errors: Record<string, number> = {}
    let failures = 0
    const cpu = process.cpuUsage()

    for (let k = 0; k < n; k++) {
      // a stalled dial or ping fails this iteration instead of the run
      const signal = AbortSignal.timeout(ITERATION_TIMEOUT_MS)
      const start = performance.now()
      try {
        await d.dial(ma, { signal })
        dialSamples.push(performance.now() - start)
        await d.services.ping.ping(ma, { signal })
        samples.push(performance.now() - start)
      } catch (err: any) {
        failures++
        const key = errorKey(err)
        errors[key] = (errors[key] ?? 0) + 1
      }
      await d.hangUp(remote)
    }

    const used = process.cpuUsage(cpu)
    return { samples, dialSamples, failures, errors, cpuSeconds: (used.user + used.system) / 1e6 }
  },

  async throughput ({ impl, addr, bytes, direction }: { impl: ImplName, addr: string, bytes: number, direction: 'up' | 'down' }) {
    const d = await dialer(impl)
    const ma = multiaddr(addr)
    const conn = await d.dial(ma)
    const stream = await conn.newStream(THROUGHPUT_PROTOCOL)
    try {
      const cpu = process.cpuUsage()
      const seconds = await runTransfer(streamToRaw(stream), direction, bytes)
      const used = process.cpuUsage(cpu)
      return { seconds, cpuSeconds: (used.user + used.system) / 1e6 }
    } finally {
      await stream.close().catch(() => {})
      await d.hangUp(conn.remotePeer)
    }
  },

  /** `count` started nodes that do not listen */
  async swarm ({ impl, count }: { impl: ImplName, count: number }) {
    swarm = await Promise.all(Array.from({ length: count }, async () => createBenchNode(impl, false)))
    return { count: swarm.length }
  },

  /** every swarm node dials `addr` at once */
  async swarmDial ({ addr }: { addr: string }) {
    const ma = multiaddr(addr)
    const start = performance.now()
    const results = await Promise.allSettled(swarm.map(async n => n.dial(ma)))
    const totalMs = performance.now() - start
    const errors: Record<string, number> = {}
    let failures = 0

    for (const r of results) {
      if (r.status === 'rejected') {
        failures++
        const key = errorKey(r.reason)
        errors[key] = (errors[key] ?? 0) + 1
      }
    }

    return { totalMs, failures, errors }
  },

  async swarmHangUp () {
    await Promise.allSettled(swarm.map(async n => Promise.all(n.getConnections().map(async (c: any) => c.close()))))
    return {}
  }
}, async () => {
  await Promise.allSettled([node?.stop(), ...swarm.map(async n => n.stop())])
})
