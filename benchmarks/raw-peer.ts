/**
 * A child process that listens or dials with one implementation, below
 * libp2p's upgrader (a pass-through upgrader hands the MultiaddrConnection
 * back): connection setup, bulk transfer, many simultaneous dials, memory.
 */
import { rawImpl } from './impls.js'
import { memorySnapshot, serve } from './proc.js'
import { runTransfer, serveThroughput } from './throughput.js'
import type { ImplName, RawConn, RawImpl, RawServer } from './impls.js'

let impl: RawImpl | undefined
let server: RawServer | undefined
let accepted = 0
let held: RawConn[] = []

function use (name: ImplName): RawImpl {
  impl ??= rawImpl(name)
  return impl
}

serve({
  /** `idle`: accept and hold connections, attach nothing to them (the memory scenario) */
  async listen ({ impl: name, idle }: { impl: ImplName, idle?: boolean }) {
    server = await use(name).listen((conn) => {
      accepted++
      if (idle !== true) {
        serveThroughput(conn)
      }
    })
    return { addr: server.addr }
  },

  async cpu () {
    const c = process.cpuUsage()
    return { seconds: (c.user + c.system) / 1e6 }
  },

  async memory () {
    return { ...await memorySnapshot(), accepted }
  },

  /** sequential dials, each closed before the next; milliseconds until dial() resolved */
  async setup ({ impl: name, addr, n }: { impl: ImplName, addr: string, n: number }) {
    const i = use(name)
    const samples: number[] = []
    const cpu = process.cpuUsage()

    for (let k = 0; k < n; k++) {
      const start = performance.now()
      const conn = await i.dial(addr)
      samples.push(performance.now() - start)
      await conn.close()
    }

    const used = process.cpuUsage(cpu)
    return { samples, cpuSeconds: (used.user + used.system) / 1e6 }
  },

  async throughput ({ impl: name, addr, bytes, direction }: { impl: ImplName, addr: string, bytes: number, direction: 'up' | 'down' }) {
    const conn = await use(name).dial(addr)
    try {
      const cpu = process.cpuUsage()
      const seconds = await runTransfer(conn, direction, bytes)
      const used = process.cpuUsage(cpu)
      return { seconds, cpuSeconds: (used.user + used.system) / 1e6 }
    } finally {
      await conn.close()
    }
  },

  /** `n` dials at once; the connections stay open until closeAll */
  async concurrent ({ impl: name, addr, n }: { impl: ImplName, addr: string, n: number }) {
    const i = use(name)
    const before = await memorySnapshot()
    const start = performance.now()
    let lastMs = 0
    const results = await Promise.allSettled(Array.from({ length: n }, async () => {
      const conn = await i.dial(addr)
      lastMs = performance.now() - start
      return conn
    }))
    const totalMs = performance.now() - start
    const errors: Record<string, number> = {}

    for (const r of results) {
      if (r.status === 'fulfilled') {
        held.push(r.value)
      } else {
        const key = `${r.reason?.name ?? 'Error'}: ${String(r.reason?.message ?? r.reason).slice(0, 80)}`
        errors[key] = (errors[key] ?? 0) + 1
      }
    }

    const after = await memorySnapshot()
    return { totalMs, lastConnectedMs: lastMs, connected: held.length, failures: n - held.length, errors, before, after }
  },

  async closeAll () {
    const conns = held
    held = []
    await Promise.allSettled(conns.map(async c => { await c.close() }))
    return { closed: conns.length }
  }
}, async () => {
  await server?.close()
})
