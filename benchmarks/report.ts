/**
 * The results file's shape, the targets of the issue, and the markdown
 * report with ratios against `@libp2p/websockets` computed from the same run.
 */
import { fmt, formatFigure } from './stats.js'
import type { Sizes } from './config.js'
import type { ConcurrencyResult, DiscoveryResult, LatencyResult, ThroughputResult } from './scenarios.js'
import type { Figure } from './stats.js'

export interface Results {
  meta: {
    date: string
    command: string
    quick: boolean
    node: string
    platform: string
    cpus: number
    cpuModel: string
    memoryGiB: number
    loadBefore: number[]
    loadAfter: number[]
    durationS: number
    bufferutil: boolean
    router: string
    sizes: Sizes
    versions: Record<string, string>
    scenarioLoad: Record<string, { before: number[], after: number[], seconds: number }>
  }
  setup?: Record<string, LatencyResult>
  stack?: Record<string, LatencyResult>
  throughput?: { raw: Record<string, ThroughputResult>, stack: Record<string, ThroughputResult> }
  concurrency?: { raw: Record<string, Record<string, ConcurrencyResult>>, stack: Record<string, ConcurrencyResult> }
  discovery?: Record<string, DiscoveryResult>
}

const OURS = 'tolerant-ws'
const REF = '@libp2p/websockets'

export interface TargetCheck {
  figure: string
  ours: string
  reference: string
  ratio: string
  target: string
  met: boolean | undefined
}

function ratio (a: number | undefined, b: number | undefined): number {
  return a != null && b != null && b !== 0 ? a / b : NaN
}

function r2 (x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : '–'
}

function kib (bytes: number | undefined): string {
  return bytes == null || !Number.isFinite(bytes) ? '–' : `${(bytes / 1024).toFixed(1)} KiB`
}

function mib (bytes: number | undefined): string {
  return bytes == null || !Number.isFinite(bytes) ? '–' : `${(bytes / 2 ** 20).toFixed(0)} MiB`
}

function med (f: Figure | undefined): number | undefined {
  return f?.median
}

/** Every target of the issue, judged from this run alone */
// one block per target, in the issue's order
// eslint-disable-next-line complexity
export function checkTargets (res: Results): TargetCheck[] {
  const checks: TargetCheck[] = []

  if (res.setup?.[OURS] != null) {
    const o = res.setup[OURS].p50.median
    const ref = res.setup[REF]?.p50.median
    const ws = res.setup.ws?.p50.median
    const x = ratio(o, ref)
    const y = ratio(o, ws)
    checks.push({
      figure: 'raw setup p50',
      ours: `${fmt(o, 3)} ms`,
      reference: `${fmt(ref ?? NaN, 3)} ms (ws↔ws ${fmt(ws ?? NaN, 3)} ms)`,
      ratio: `${r2(x)} (÷ ws: ${r2(y)})`,
      target: '≤ 0.60×, ≤ 1.2× ws↔ws',
      met: Number.isFinite(x) && Number.isFinite(y) ? x <= 0.6 && y <= 1.2 : undefined
    })
  }

  if (res.stack?.[OURS] != null) {
    const o = res.stack[OURS].p50.median
    const ref = res.stack[REF]?.p50.median
    const tcp = res.stack['@libp2p/tcp']?.p50.median
    const x = ratio(o, ref)
    const y = ratio(o, tcp)
    checks.push({
      figure: 'full stack handshake + 1 RTT p50',
      ours: `${fmt(o)} ms`,
      reference: `${fmt(ref ?? NaN)} ms (tcp ${fmt(tcp ?? NaN)} ms)`,
      ratio: `${r2(x)} (÷ tcp: ${r2(y)})`,
      target: '≤ 0.90×, ≤ 1.15× tcp',
      met: Number.isFinite(x) && Number.isFinite(y) ? x <= 0.9 && y <= 1.15 : undefined
    })
  }

  for (const level of ['raw', 'stack'] as const) {
    const t = res.throughput?.[level]
    if (t?.[OURS] == null) {
      continue
    }
    const [upT, downT] = level === 'raw' ? [3, 1.5] : [1.5, 1.2]
    const up = ratio(med(t[OURS].up), med(t[REF]?.up))
    const down = ratio(med(t[OURS].down), med(t[REF]?.down))
    checks.push({
      figure: `${level === 'raw' ? 'raw' : 'full-stack'} throughput up / down`,
      ours: `${fmt(med(t[OURS].up) ?? NaN, 0)} / ${fmt(med(t[OURS].down) ?? NaN, 0)} MiB/s`,
      reference: `${fmt(med(t[REF]?.up) ?? NaN, 0)} / ${fmt(med(t[REF]?.down) ?? NaN, 0)} MiB/s`,
      ratio: `${r2(up)} / ${r2(down)}`,
      target: `≥ ${upT}× / ≥ ${downT}×`,
      met: Number.isFinite(up) && Number.isFinite(down) ? up >= upT && down >= downT : undefined
    })
  }

  const raw = res.concurrency?.raw
  if (raw != null) {
    const biggest = Object.keys(raw).map(Number).sort((a, b) => b - a)[0]
    const c = raw[biggest]
    if (c?.[OURS] != null) {
      const lh = ratio(med(c[OURS].listenerHeapPerConn), med(c[REF]?.listenerHeapPerConn))
      const dh = ratio(med(c[OURS].dialerHeapPerConn), med(c[REF]?.dialerHeapPerConn))
      checks.push({
        figure: `heap per idle connection (listener / dialer, ${biggest} open)`,
        ours: `${kib(med(c[OURS].listenerHeapPerConn))} / ${kib(med(c[OURS].dialerHeapPerConn))}`,
        reference: `${kib(med(c[REF]?.listenerHeapPerConn))} / ${kib(med(c[REF]?.dialerHeapPerConn))}`,
        ratio: `${r2(lh)} / ${r2(dh)}`,
        target: '≤ 0.5×',
        met: Number.isFinite(lh) && Number.isFinite(dh) ? lh <= 0.5 && dh <= 0.5 : undefined
      })
    }
    const c2k = raw[2000]
    if (c2k?.[OURS] != null) {
      const x = ratio(med(c2k[OURS].timeMs), med(c2k[REF]?.timeMs))
      checks.push({
        figure: '2 000 simultaneous raw dials',
        ours: `${fmt(med(c2k[OURS].timeMs) ?? NaN, 0)} ms, ${c2k[OURS].failures} failed`,
        reference: `${fmt(med(c2k[REF]?.timeMs) ?? NaN, 0)} ms, ${c2k[REF]?.failures ?? '–'} failed`,
        ratio: r2(x),
        target: '0 failures, ≤ 0.7× time',
        met: Number.isFinite(x) ? x <= 0.7 && c2k[OURS].failures === 0 : undefined
      })
    }
  }

  const sc = res.concurrency?.stack
  if (sc?.[OURS] != null) {
    checks.push({
      figure: `${sc[OURS].dials} simultaneous full-stack dials`,
      ours: `${sc[OURS].failures} failed, ${fmt(med(sc[OURS].timeMs) ?? NaN, 0)} ms`,
      reference: `${sc[REF]?.failures ?? '–'} failed, ${fmt(med(sc[REF]?.timeMs) ?? NaN, 0)} ms`,
      ratio: r2(ratio(med(sc[OURS].timeMs), med(sc[REF]?.timeMs))),
      target: '0 failures, default timeouts',
      met: sc[OURS].failures === 0
    })
  }

  const d = res.discovery
  if (d?.ours != null) {
    const o = d.ours.convergenceMs.median
    checks.push({
      figure: `discovery convergence, ${d.ours.nodes} nodes`,
      ours: convergence(d.ours),
      reference: d.reference == null ? '–' : convergence(d.reference),
      ratio: r2(ratio(o, d.reference?.convergenceMs.median)),
      target: '≤ 2 000 ms after the last start',
      met: d.ours.timeouts === 0 && o <= 2000
    })
  }

  return checks
}

function convergence (d: DiscoveryResult): string {
  const ms = `${fmt(d.convergenceMs.median, 0)} ms`
  return d.timeouts > 0 ? `${ms}, ${d.timeouts} runs timed out` : ms
}

function verdict (met: boolean | undefined): string {
  if (met == null) {
    return '–'
  }
  return met ? 'yes' : '**no**'
}

function table (header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => i === 0 ? '---' : '---:').join(' | ')} |`,
    ...rows.map(r => `| ${r.join(' | ')} |`)
  ].join('\n') + '\n'
}

function ratioTo (value: number | undefined, ref: number | undefined): string {
  return r2(ratio(value, ref))
}

export function renderMarkdown (res: Results, svgName: string): string {
  const m = res.meta
  const s = m.sizes
  const out: string[] = []

  out.push(`## Benchmark results${m.quick ? ' (quick run)' : ''}\n`)
  out.push(`${m.date.slice(0, 16).replace('T', ' ')} UTC · Node ${m.node} · ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB · ${m.platform} · load average ${m.loadBefore.join(' / ')} before, ${m.loadAfter.join(' / ')} after · ${m.durationS} s · \`${m.command}\` · bufferutil ${m.bufferutil ? 'installed' : 'absent'}\n`)
  out.push('Medians over repeats, with the lowest and highest repeat in parentheses. Ratios are ours ÷ `@libp2p/websockets` from this run. Each listener and dialer is its own process on loopback.\n')
  out.push(`![benchmark chart](${svgName})\n`)

  const checks = checkTargets(res)
  if (checks.length > 0) {
    out.push('### Targets\n')
    out.push(table(['figure', 'tolerant-ws', '@libp2p/websockets', 'ratio', 'target', 'met'],
      checks.map(c => [c.figure, c.ours, c.reference, c.ratio, c.target, verdict(c.met)])))
  }

  const latency = (title: string, data: Record<string, LatencyResult> | undefined, note: string): void => {
    if (data == null) {
      return
    }
    out.push(`### ${title}\n`)
    out.push(`${note}\n`)
    const ref = data[REF]
    out.push(table(['', 'p50 ms', 'p90 ms', 'p99 ms', 'conn/s', 'p50 ÷ ref', 'CPU ms/dial (dialer / listener)', 'failed'],
      Object.entries(data).map(([label, r]) => [label, formatFigure(r.p50, 3), formatFigure(r.p90, 3), formatFigure(r.p99, 3), formatFigure(r.perSecond, 0), ratioTo(r.p50.median, ref?.p50.median),
        r.dialerCpuMs == null ? '–' : `${fmt(r.dialerCpuMs.median, 3)} / ${fmt(r.listenerCpuMs.median, 3)}`, String(r.failures ?? 0)])))
    for (const [label, r] of Object.entries(data).filter(([, r]) => Object.keys(r.errors ?? {}).length > 0)) {
      out.push(`- ${label}: ${Object.entries(r.errors).map(([e, k]) => `${k}× ${e}`).join('; ')}\n`)
    }
  }

  latency('1. Raw connection setup', res.setup, `\`dial()\` until the \`MultiaddrConnection\` is returned (pass-through upgrader); for \`ws\` until \`open\`, for \`net\` until \`connect\`. Sequential, ${s.setupDials} dials × ${s.setupRepeats} repeats after ${s.setupWarmup} warm-up dials; each connection is closed before the next dial (not timed; its CPU is in the CPU column).`)
  latency('2. Full stack: dial + first ping', res.stack, `libp2p 3 nodes with noise + yamux + ping + identify; a new connection each time; \`dial()\` then \`ping()\` (the interop suite's \`handshakePlusOneRTTMillis\`), then hang up (not timed; its CPU is in the CPU column); an iteration over 10 s counts as failed. ${s.stackDials} dials × ${s.stackRepeats} repeats after ${s.stackWarmup} warm-up dials. Loopback is allow-listed in the benchmark nodes (\`connectionManager.allow\`): libp2p's default inbound rate limit refuses a loopback benchmark. libp2p's connection monitor is off: its ping every 10 s collides with the measured ping (one outbound ping stream per connection) and aborts the connection.`)

  if (res.throughput != null) {
    out.push('### 3. Throughput (MiB/s)\n')
    out.push(`${s.transferBytes / 2 ** 20} MiB in 64 KiB writes over one connection (raw) or one stream (full stack: noise + yamux), × ${s.transferRepeats} repeats, after a ${Math.min(s.transferBytes / 4, 16 * 2 ** 20) / 2 ** 20} MiB warm-up in each direction. Up = dialer → listener, down = listener → dialer. CPU: CPU time ÷ wall time of the dialer/listener process during the transfer (1.00 = one core busy). "no bufferutil" runs both processes with \`WS_NO_BUFFER_UTIL=1\` (masking in JavaScript).\n`)
    const labels = [...new Set([...Object.keys(res.throughput.raw), ...Object.keys(res.throughput.stack)])]
    const rr = res.throughput.raw[REF]
    const sr = res.throughput.stack[REF]
    const cpu = (t: ThroughputResult | undefined): string => t?.cpu == null ? '–' : `${t.cpu.up.dialer.toFixed(2)}/${t.cpu.up.listener.toFixed(2)} · ${t.cpu.down.dialer.toFixed(2)}/${t.cpu.down.listener.toFixed(2)}`
    out.push(table(['', 'raw up', 'raw down', 'raw ÷ ref (up / down)', 'raw CPU up · down', 'stack up', 'stack down', 'stack ÷ ref (up / down)', 'stack CPU up · down'],
      labels.map(l => {
        const r = res.throughput!.raw[l]
        const st = res.throughput!.stack[l]
        return [l, formatFigure(r?.up, 0), formatFigure(r?.down, 0), `${ratioTo(med(r?.up), med(rr?.up))} / ${ratioTo(med(r?.down), med(rr?.down))}`, cpu(r),
          formatFigure(st?.up, 0), formatFigure(st?.down, 0), st == null ? '–' : `${ratioTo(med(st?.up), med(sr?.up))} / ${ratioTo(med(st?.down), med(sr?.down))}`, cpu(st)]
      })))
  }

  if (res.concurrency != null) {
    out.push('### 4. Simultaneous dials and memory\n')
    out.push(`All dials started at once from one dialer process; time until every dial settled. Memory: listener (and dialer) process after \`gc()\`, with every connection open and idle, minus before the dials, ÷ open connections. Peak RSS: the listener process's \`maxRSS\`. ${s.concurrencyRepeats} repeat(s), a fresh listener and dialer each time.\n`)
    for (const [n, byImpl] of Object.entries(res.concurrency.raw)) {
      const ref = byImpl[REF]
      out.push(`**${n} simultaneous raw dials**\n`)
      out.push(table(['', 'time ms', 'time ÷ ref', 'failed', 'listener peak RSS', 'listener heap/conn', 'listener RSS/conn', 'dialer heap/conn', 'dialer RSS/conn'],
        Object.entries(byImpl).map(([l, c]) => [l, formatFigure(c.timeMs, 0), ratioTo(med(c.timeMs), med(ref?.timeMs)), String(c.failures), mib(med(c.listenerPeakRss)),
          kib(med(c.listenerHeapPerConn)), kib(med(c.listenerRssPerConn)), kib(med(c.dialerHeapPerConn)), kib(med(c.dialerRssPerConn))])))
      const errs = Object.entries(byImpl).filter(([, c]) => Object.keys(c.errors).length > 0)
      for (const [l, c] of errs) {
        out.push(`- ${l}: ${Object.entries(c.errors).map(([e, k]) => `${k}× ${e}`).join('; ')}\n`)
      }
    }
    const st = res.concurrency.stack
    if (Object.keys(st).length > 0) {
      const any = Object.values(st)[0]
      out.push(`\n**${any.dials} simultaneous full-stack dials** (${any.dials} libp2p nodes in ${s.stackSwarmProcesses} processes, each dialing the listener once; default dial and upgrade timeouts; loopback allow-listed, \`maxConnections\` 10 000)\n`)
      out.push(table(['', 'time ms', 'time ÷ ref', 'failed', 'listener peak RSS'],
        Object.entries(st).map(([l, c]) => [l, formatFigure(c.timeMs, 0), ratioTo(med(c.timeMs), med(st[REF]?.timeMs)), String(c.failures), mib(med(c.listenerPeakRss))])))
      for (const [l, c] of Object.entries(st).filter(([, c]) => Object.keys(c.errors).length > 0)) {
        out.push(`- ${l}: ${Object.entries(c.errors).map(([e, k]) => `${k}× ${e}`).join('; ')}\n`)
      }
    }
  }

  if (res.discovery != null) {
    out.push('\n### 5. Discovery convergence\n')
    out.push(`${s.discoveryNodes} libp2p nodes, one process each, ${m.router}, default discovery options (10 s interval); node 0 starts first, the others at once with node 0 as their only bootstrap peer (\`@libp2p/bootstrap\`, timeout 0). Time from the last node's start until every node's pubsub discovery has emitted every other node with at least one address. ours = tolerant-ws transport + discovery; reference = \`@libp2p/websockets\` + \`@libp2p/pubsub-peer-discovery\`. ${s.discoveryRepeats} repeat(s), timeout ${s.discoveryTimeoutMs / 1000} s.\n`)
    out.push('Besides convergence: when the last joining node\'s connection to the bootstrap node opened (after the last start), and the CPU time the nodes used from their start until all had converged: a joining node (median), the bootstrap node, and all nodes together ÷ the cores (the convergence time if the cores had been busy with nothing else).\n')
    out.push(table(['', 'convergence ms', 'timed out', 'start spread ms', 'last connection ms', 'CPU ms / joining node', 'CPU ms bootstrap', 'CPU ms all ÷ cores'],
      Object.entries(res.discovery).map(([l, d]) => [l, formatFigure(d.convergenceMs, 0), `${d.timeouts}/${s.discoveryRepeats}`, formatFigure(d.startSpreadMs, 0),
        formatFigure(d.lastConnectionMs, 0), formatFigure(d.nodeCpuMs, 0), formatFigure(d.bootstrapCpuMs, 0), formatFigure(d.cpuPerCoreMs, 0)])))
  }

  out.push('\n<details><summary>Versions and load per scenario</summary>\n')
  out.push(table(['package', 'version'], Object.entries(m.versions).map(([k, v]) => [k, v])))
  out.push(table(['scenario', 'load before', 'load after', 'seconds'], Object.entries(m.scenarioLoad).map(([k, v]) => [k, v.before.join(' / '), v.after.join(' / '), String(v.seconds)])))
  out.push('</details>\n')

  return out.join('\n')
}
