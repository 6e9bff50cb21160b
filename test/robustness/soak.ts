/**
 * ROBUSTNESS 20, the churn soak: `npm run soak` (minutes; not part of npm test).
 *
 * connect → WebSocket upgrade → echo → close, `--cycles` times, with
 * `--aborted` dials aborted at a random moment and `--malformed` connections
 * that send a reserved-opcode frame mixed in. Reports heap (after gc) and
 * handle counts at start and end, and the p99 connect latency of the first
 * and last 1 000 cycles (a last window over the tolerance is measured once
 * more, so a pause caused by another process does not fail the run but a
 * lasting slowdown does). Exits 1 when a criterion fails.
 *
 * ```
 * node --expose-gc dist/test/robustness/soak.js [--cycles 10000] [--aborted 2000] [--malformed 2000]
 *      [--concurrency 4] [--heap-limit-mib 5] [--latency-tolerance 0.2] [--window 1000] [--impl ours|reference]
 * ```
 */
import { parseArgs } from 'node:util'
import { TypedEventEmitter } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { webSockets as referenceWebSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { webSockets } from '../../src/index.js'
import { frame } from './fixtures/frames.js'
import { RawPeer } from './fixtures/net.js'
import { recordingUpgrader } from './fixtures/upgrader.js'
import type { Libp2pEvents, MultiaddrConnection } from '@libp2p/interface'

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '10000' },
    aborted: { type: 'string', default: '2000' },
    malformed: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '4' },
    'heap-limit-mib': { type: 'string', default: '5' },
    'latency-tolerance': { type: 'string', default: '0.2' },
    window: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '200' },
    impl: { type: 'string', default: 'ours' }
  }
})

const CYCLES = Number(values.cycles)
const ABORTED = Number(values.aborted)
const MALFORMED = Number(values.malformed)
const CONCURRENCY = Number(values.concurrency)
const WINDOW = Math.min(Number(values.window), Math.floor(CYCLES / 2))
const MiB = 1024 * 1024
const gc = (globalThis as any).gc as (() => void) | undefined

if (gc == null) {
  process.stderr.write('run with node --expose-gc\n')
  process.exit(2)
}

/** heap after gc; the pauses let finalizers (weak AbortSignal links) run between collections */
async function heap (): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.()
    await sleep(20)
  }
  gc?.()
  return process.memoryUsage().heapUsed
}

function handles (): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) {
    counts[type] = (counts[type] ?? 0) + 1
  }
  return counts
}

function p99 (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

const impl = values.impl === 'reference' ? referenceWebSockets : webSockets
const components = (): any => ({ logger: defaultLogger(), events: new TypedEventEmitter<Libp2pEvents>() })
const upgrader = recordingUpgrader()
upgrader.onInbound = (maConn: MultiaddrConnection) => {
  maConn.addEventListener('message', (evt: any) => {
    if (maConn.status === 'open') { maConn.send(evt.data) }
  })
}
// the recording upgrader keeps every connection; the soak must not
upgrader.inbound.push = () => 0
upgrader.inboundSignals.push = () => 0
upgrader.inboundAborts.push = () => 0

const listener = impl({ handshakeTimeout: 2000, closeTimeout: 500 } as any)(components()).createListener({ upgrader })
await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0/ws'))
const addr = listener.getAddrs()[0]
const transport = impl({ handshakeTimeout: 2000, closeTimeout: 500 } as any)(components())
const dialUpgrader = recordingUpgrader()
const unexpected: string[] = []
const PING = new Uint8Array(32).fill(1)

/** dialed connections not closed yet: heap is measured only when there are none */
const openDialed = new Set<MultiaddrConnection>()

function track (maConn: MultiaddrConnection): void {
  if (maConn.status === 'closed') {
    return
  }
  openDialed.add(maConn)
  maConn.addEventListener('close', () => { openDialed.delete(maConn) }, { once: true })
}

async function cycle (): Promise<number> {
  const start = performance.now()
  // not AbortSignal.timeout(): it would keep every signal alive for 5 s
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort() }, 5000)
  const maConn = await transport.dial(addr, { upgrader: dialUpgrader, signal: controller.signal }).finally(() => { clearTimeout(timer) }) as unknown as MultiaddrConnection
  const latency = performance.now() - start
  track(maConn)
  const echoed = new Promise<void>((resolve, reject) => {
    maConn.addEventListener('message', () => { resolve() }, { once: true })
    maConn.addEventListener('close', () => { reject(new Error('closed before the echo')) }, { once: true })
  })
  maConn.send(PING)
  await echoed
  await maConn.close()
  return latency
}

async function aborted (): Promise<void> {
  const controller = new AbortController()
  const dialing = transport.dial(addr, { upgrader: dialUpgrader, signal: controller.signal })
  setTimeout(() => { controller.abort() }, Math.floor(Math.random() * 3))
  try {
    const conn = await dialing as unknown as MultiaddrConnection
    track(conn)
    conn.abort(new Error('too late to abort the dial'))
  } catch (err: any) {
    if (err.name !== 'AbortError' && err.name !== 'ConnectionFailedError') {
      throw err
    }
  }
}

async function malformed (): Promise<void> {
  const peer = await RawPeer.upgraded(addr)
  peer.socket.write(frame(0x3, Buffer.from('abcd')))
  if (await peer.closedWithin(3000) == null) {
    peer.destroy()
    throw new Error('a malformed connection was not closed')
  }
}

type Job = 'cycle' | 'aborted' | 'malformed'

async function run (jobs: Job[], latencies: number[]): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++]
      try {
        if (job === 'cycle') { latencies.push(await cycle()) } else if (job === 'aborted') { await aborted() } else { await malformed() }
      } catch (err: any) {
        unexpected.push(`${job}: ${err.name as string}: ${err.message as string}`)
      }
    }
  }))
}

function plan (cycles: number, abortedCount: number, malformedCount: number): Job[] {
  const jobs: Job[] = []
  const total = cycles + abortedCount + malformedCount
  let c = 0; let a = 0; let m = 0
  for (let i = 0; i < total; i++) {
    // spread the aborted and malformed jobs evenly through the cycles
    if (a < abortedCount && (a + 1) / abortedCount <= (i + 1) / total) { jobs.push('aborted'); a++ } else if (m < malformedCount && (m + 1) / malformedCount <= (i + 1) / total) { jobs.push('malformed'); m++ } else if (c < cycles) { jobs.push('cycle'); c++ }
  }
  return jobs
}

async function settle (): Promise<void> {
  const deadline = Date.now() + 10_000
  while (((listener as any).socketCount > 0 || openDialed.size > 0) && Date.now() < deadline) { await sleep(20) }
  await sleep(600) // close timers of the last connections
}

await run(plan(Number(values.warmup), 0, 0), [])
await settle()
const heapStart = await heap()
const handlesStart = handles()
const rssStart = process.memoryUsage().rss
const started = Date.now()
const latencies: number[] = []
let lastReport = Date.now()
const progress = setInterval(() => {
  if (Date.now() - lastReport > 10_000) {
    lastReport = Date.now()
    process.stderr.write(`  … ${latencies.length}/${CYCLES} cycles, heap ${(process.memoryUsage().heapUsed / MiB).toFixed(1)} MiB\n`)
  }
}, 1000)
await run(plan(CYCLES, ABORTED, MALFORMED), latencies)
clearInterval(progress)
const durationMs = Date.now() - started
await settle()
const heapEnd = await heap()
let handlesEnd = handles()
for (let i = 0; i < 50 && JSON.stringify(handlesEnd) !== JSON.stringify(handlesStart); i++) {
  await sleep(100)
  handlesEnd = handles()
}
const rssEnd = process.memoryUsage().rss

const first = p99(latencies.slice(0, WINDOW))
let last = p99(latencies.slice(-WINDOW))
const heapGrowth = heapEnd - heapStart
const tolerance = Number(values['latency-tolerance'])
// a slowdown caused by us (growing tables, leaked listeners) persists; one
// caused by another process on a shared machine passes: a last window over
// the tolerance is measured once more, and the second window is the figure
let lastRetried: number | undefined
if (last > first * (1 + tolerance)) {
  const again: number[] = []
  await run(plan(WINDOW, 0, 0), again)
  await settle()
  lastRetried = last
  last = p99(again)
}
const checks = {
  heap: heapGrowth < Number(values['heap-limit-mib']) * MiB,
  handles: JSON.stringify(handlesEnd) === JSON.stringify(handlesStart),
  latency: last <= first * (1 + tolerance),
  noUnexpectedErrors: unexpected.length === 0,
  listenerEmpty: (listener as any).socketCount === 0 || (listener as any).socketCount === undefined
}
const report = {
  impl: values.impl,
  cycles: latencies.length,
  aborted: ABORTED,
  malformed: MALFORMED,
  concurrency: CONCURRENCY,
  durationMs,
  heapStartMiB: Number((heapStart / MiB).toFixed(2)),
  heapEndMiB: Number((heapEnd / MiB).toFixed(2)),
  heapGrowthMiB: Number((heapGrowth / MiB).toFixed(2)),
  rssStartMiB: Number((rssStart / MiB).toFixed(1)),
  rssEndMiB: Number((rssEnd / MiB).toFixed(1)),
  handlesStart,
  handlesEnd,
  connectP99FirstMs: Number(first.toFixed(2)),
  connectP99LastMs: Number(last.toFixed(2)),
  /** the first last-window figure when it was over the tolerance and measured again */
  connectP99LastFirstTryMs: lastRetried != null ? Number(lastRetried.toFixed(2)) : undefined,
  latencyWindow: WINDOW,
  unexpected: unexpected.slice(0, 10),
  unexpectedCount: unexpected.length,
  checks,
  pass: Object.values(checks).every(Boolean)
}

process.stdout.write(`churn soak (${report.impl}): ${report.cycles} cycles + ${ABORTED} aborted + ${MALFORMED} malformed in ${(durationMs / 1000).toFixed(1)} s\n`)
process.stdout.write(`  heap after gc: ${report.heapStartMiB} → ${report.heapEndMiB} MiB (growth ${report.heapGrowthMiB} MiB, limit ${values['heap-limit-mib']} MiB)\n`)
process.stdout.write(`  rss: ${report.rssStartMiB} → ${report.rssEndMiB} MiB\n`)
process.stdout.write(`  handles: ${JSON.stringify(handlesStart)} → ${JSON.stringify(handlesEnd)}\n`)
process.stdout.write(`  connect p99: first ${WINDOW} ${report.connectP99FirstMs} ms, last ${WINDOW} ${report.connectP99LastMs} ms (tolerance ${tolerance * 100}%)${lastRetried != null ? `; the last window measured ${lastRetried.toFixed(2)} ms first and was measured again` : ''}\n`)
process.stdout.write(`  ${report.pass ? 'PASS' : 'FAIL'} ${JSON.stringify(checks)}\n`)
process.stdout.write(JSON.stringify(report) + '\n')

await listener.close()
process.exitCode = report.pass ? 0 : 1
