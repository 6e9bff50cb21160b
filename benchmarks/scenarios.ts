/**
 * The five scenarios. Each spawns its own listener and dialer processes,
 * warms up, repeats (round-robin over implementations, so load drift hits
 * them all alike) and returns medians with their spread.
 */
import os from 'node:os'
import { LIBP2P_IMPLS } from './impls.js'
import { spawnPeer } from './proc.js'
import { distribution, figure, summarize } from './stats.js'
import type { Options } from './config.js'
import type { ImplName } from './impls.js'
import type { Peer, PeerOptions } from './proc.js'
import type { Figure } from './stats.js'

/** An implementation, possibly with a different environment (e.g. without bufferutil) */
export interface Variant {
  label: string
  impl: ImplName
  env?: Record<string, string>
}

export const NO_BUFFERUTIL = { WS_NO_BUFFER_UTIL: '1' }

export function variants (options: Options, withoutBufferutil: boolean): Variant[] {
  const out: Variant[] = options.impls.map(impl => ({ label: impl, impl }))

  if (options.compare != null && options.impls.includes('tolerant-ws')) {
    out.splice(1, 0, { label: 'tolerant-ws (compare)', impl: 'tolerant-ws', env: { TOLERANT_WS_DIST: options.compare } })
  }

  if (withoutBufferutil) {
    for (const impl of ['tolerant-ws', 'ws'] as ImplName[]) {
      if (options.impls.includes(impl)) {
        out.push({ label: `${impl} (no bufferutil)`, impl, env: NO_BUFFERUTIL })
      }
    }
  }

  return out
}

export type Progress = (text: string) => void

function peerOptions (options: Options, variant: Variant, role: string): PeerOptions {
  const execArgv = options.profileDir != null
    ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${variant.label.replace(/[^a-z0-9]+/gi, '_')}-${role}-${Date.now()}.cpuprofile`]
    : []

  return { env: variant.env, execArgv }
}

interface Pair { variant: Variant, listener: Peer, dialer: Peer, addr: string }

async function startPairs (options: Options, vs: Variant[], script: string, idle = false): Promise<Pair[]> {
  const pairs: Pair[] = []

  for (const variant of vs) {
    const listener = await spawnPeer(script, peerOptions(options, variant, 'listener'))
    const { addr } = await listener.call('listen', { impl: variant.impl, idle })
    const dialer = await spawnPeer(script, peerOptions(options, variant, 'dialer'))
    pairs.push({ variant, listener, dialer, addr })
  }

  return pairs
}

async function stopPairs (pairs: Pair[]): Promise<void> {
  await Promise.all(pairs.flatMap(p => [p.listener.stop(), p.dialer.stop()]))
}

export interface LatencyResult {
  p50: Figure
  p90: Figure
  p99: Figure
  /** 1000 / mean setup time */
  perSecond: Figure
  distribution: Record<string, number>
  samples: number
  /** iterations that failed or took longer than 10 s (full stack only) */
  failures: number
  errors: Record<string, number>
  /** CPU milliseconds per iteration (dial, and close or hang-up) in each process */
  dialerCpuMs: Figure
  listenerCpuMs: Figure
  /** full stack: p50 until dial() resolved, before the ping */
  dialOnlyP50?: Figure
}

async function latencyScenario (options: Options, progress: Progress, title: string, script: string, cmd: string, impls: ImplName[], n: number, warmup: number, repeats: number): Promise<Record<string, LatencyResult>> {
  const vs = variants(options, false).filter(v => impls.includes(v.impl))
  const pairs = await startPairs(options, vs, script)
  const runs = new Map<string, { p50: number[], p90: number[], p99: number[], perSecond: number[], all: number[], failures: number, errors: Record<string, number>, dialerCpu: number[], listenerCpu: number[], dialP50: number[] }>()

  try {
    for (const p of pairs) {
      progress(`${title}: warm-up ${p.variant.label}`)
      await p.dialer.call(cmd, { impl: p.variant.impl, addr: p.addr, n: warmup })
      runs.set(p.variant.label, { p50: [], p90: [], p99: [], perSecond: [], all: [], failures: 0, errors: {}, dialerCpu: [], listenerCpu: [], dialP50: [] })
    }

    for (let r = 0; r < repeats; r++) {
      for (const p of pairs) {
        progress(`${title}: ${p.variant.label}, repeat ${r + 1}/${repeats}, ${n} dials`)
        const lc = await p.listener.call<{ seconds: number }>('cpu')
        const { samples, dialSamples, failures, errors, cpuSeconds } = await p.dialer.call<{ samples: number[], dialSamples?: number[], failures?: number, errors?: Record<string, number>, cpuSeconds: number }>(cmd, { impl: p.variant.impl, addr: p.addr, n })
        const lc2 = await p.listener.call<{ seconds: number }>('cpu')
        const s = summarize(samples)
        const run = runs.get(p.variant.label)!
        run.p50.push(s.p50)
        run.p90.push(s.p90)
        run.p99.push(s.p99)
        run.perSecond.push(1000 / s.mean)
        run.all.push(...samples)
        if (dialSamples != null) {
          run.dialP50.push(summarize(dialSamples).p50)
        }
        // CPU per dial, both ends: closing is included, as it is part of every iteration
        run.dialerCpu.push(1000 * cpuSeconds / n)
        run.listenerCpu.push(1000 * (lc2.seconds - lc.seconds) / n)
        run.failures += failures ?? 0
        addErrors(run.errors, errors ?? {})
      }
    }
  } finally {
    await stopPairs(pairs)
  }

  const out: Record<string, LatencyResult> = {}
  for (const [label, run] of runs) {
    out[label] = {
      p50: figure(run.p50),
      p90: figure(run.p90),
      p99: figure(run.p99),
      perSecond: figure(run.perSecond),
      distribution: distribution(run.all),
      samples: run.all.length,
      failures: run.failures,
      errors: run.errors,
      dialerCpuMs: figure(run.dialerCpu),
      listenerCpuMs: figure(run.listenerCpu),
      ...(run.dialP50.length > 0 ? { dialOnlyP50: figure(run.dialP50) } : {})
    }
  }
  return out
}

/** 1. dial() until the MultiaddrConnection is returned (pass-through upgrader), sequential */
export async function rawSetup (options: Options, progress: Progress): Promise<Record<string, LatencyResult>> {
  const s = options.sizes
  return latencyScenario(options, progress, 'raw setup', './raw-peer.js', 'setup', options.impls, s.setupDials, s.setupWarmup, s.setupRepeats)
}

/** 2. libp2p nodes, new connection each time: dial + first ping */
export async function fullStack (options: Options, progress: Progress): Promise<Record<string, LatencyResult>> {
  const s = options.sizes
  return latencyScenario(options, progress, 'full stack', './node-peer.js', 'handshake', LIBP2P_IMPLS, s.stackDials, s.stackWarmup, s.stackRepeats)
}

/** CPU time ÷ wall time of each process during a transfer (1 = one core busy) */
export interface CpuShare { dialer: number, listener: number }

export interface ThroughputResult {
  /** MiB/s */
  up: Figure
  down: Figure
  /** median CPU share of each process while transferring */
  cpu: { up: CpuShare, down: CpuShare }
}

async function transfers (options: Options, progress: Progress, title: string, script: string, vs: Variant[]): Promise<Record<string, ThroughputResult>> {
  const s = options.sizes
  const mib = s.transferBytes / (1024 * 1024)
  const pairs = await startPairs(options, vs, script)
  const runs = new Map<string, { up: number[], down: number[], upCpu: CpuShare[], downCpu: CpuShare[] }>()

  try {
    for (const p of pairs) {
      progress(`${title}: warm-up ${p.variant.label}`)
      for (const direction of ['up', 'down']) {
        await p.dialer.call('throughput', { impl: p.variant.impl, addr: p.addr, bytes: Math.min(s.transferBytes / 4, 16 * 1024 * 1024), direction })
      }
      runs.set(p.variant.label, { up: [], down: [], upCpu: [], downCpu: [] })
    }

    for (let r = 0; r < s.transferRepeats; r++) {
      for (const p of pairs) {
        for (const direction of ['up', 'down'] as const) {
          progress(`${title}: ${p.variant.label} ${direction}, repeat ${r + 1}/${s.transferRepeats}, ${mib} MiB`)
          const lc = await p.listener.call<{ seconds: number }>('cpu')
          const { seconds, cpuSeconds } = await p.dialer.call<{ seconds: number, cpuSeconds: number }>('throughput', { impl: p.variant.impl, addr: p.addr, bytes: s.transferBytes, direction })
          const lc2 = await p.listener.call<{ seconds: number }>('cpu')
          const run = runs.get(p.variant.label)!
          run[direction].push(mib / seconds)
          run[`${direction}Cpu`].push({ dialer: cpuSeconds / seconds, listener: (lc2.seconds - lc.seconds) / seconds })
        }
      }
    }
  } finally {
    await stopPairs(pairs)
  }

  const out: Record<string, ThroughputResult> = {}
  for (const [label, run] of runs) {
    const share = (xs: CpuShare[]): CpuShare => ({ dialer: figure(xs.map(x => x.dialer)).median, listener: figure(xs.map(x => x.listener)).median })
    out[label] = { up: figure(run.up), down: figure(run.down), cpu: { up: share(run.upCpu), down: share(run.downCpu) } }
  }
  return out
}

/** 3. bulk transfer over one raw connection and over one libp2p stream */
export async function throughput (options: Options, progress: Progress): Promise<{ raw: Record<string, ThroughputResult>, stack: Record<string, ThroughputResult> }> {
  const raw = await transfers(options, progress, 'raw throughput', './raw-peer.js', variants(options, true))
  const stackVariants = variants(options, true).filter(v => LIBP2P_IMPLS.includes(v.impl))
  const stack = await transfers(options, progress, 'full-stack throughput', './node-peer.js', stackVariants)
  return { raw, stack }
}

export interface ConcurrencyResult {
  dials: number
  /** ms until every dial settled */
  timeMs: Figure
  /** failed dials, summed over repeats */
  failures: number
  errors: Record<string, number>
  /** listener process peak RSS, bytes */
  listenerPeakRss: Figure
  /** bytes per open connection after gc */
  listenerHeapPerConn?: Figure
  listenerRssPerConn?: Figure
  dialerHeapPerConn?: Figure
  dialerRssPerConn?: Figure
}

function addErrors (into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) {
    into[k] = (into[k] ?? 0) + v
  }
}

/** 4a. `n` simultaneous raw dials: time, failures, listener memory */
export async function rawConcurrency (options: Options, progress: Progress, n: number): Promise<Record<string, ConcurrencyResult>> {
  const out: Record<string, ConcurrencyResult> = {}
  const repeats = options.sizes.concurrencyRepeats
  const acc = new Map<string, { time: number[], failures: number, errors: Record<string, number>, peak: number[], lh: number[], lr: number[], dh: number[], dr: number[] }>()

  for (let r = 0; r < repeats; r++) {
    for (const variant of variants(options, false)) {
      const impl = variant.impl
      progress(`concurrency: ${n} simultaneous raw dials, ${variant.label}, repeat ${r + 1}/${repeats}`)
      // a fresh pair each time: peak RSS and per-connection memory start clean
      const [pair] = await startPairs(options, [variant], './raw-peer.js', true)
      try {
        const base = await pair.listener.call('memory')
        const res = await pair.dialer.call('concurrent', { impl, addr: pair.addr, n })
        // let the listener finish accepting what the dialer saw connected
        await waitFor(async () => (await pair.listener.call('memory')).accepted >= res.connected, 5000)
        const after = await pair.listener.call('memory')
        const a = acc.get(variant.label) ?? { time: [], failures: 0, errors: {}, peak: [], lh: [], lr: [], dh: [], dr: [] }
        a.time.push(res.totalMs)
        a.failures += res.failures
        addErrors(a.errors, res.errors)
        a.peak.push(after.maxRSS)
        if (res.connected > 0) {
          a.lh.push((after.heapUsed - base.heapUsed) / res.connected)
          a.lr.push((after.rss - base.rss) / res.connected)
          a.dh.push((res.after.heapUsed - res.before.heapUsed) / res.connected)
          a.dr.push((res.after.rss - res.before.rss) / res.connected)
        }
        acc.set(variant.label, a)
        await pair.dialer.call('closeAll')
      } finally {
        await stopPairs([pair])
      }
    }
  }

  for (const [impl, a] of acc) {
    out[impl] = {
      dials: n,
      timeMs: figure(a.time),
      failures: a.failures,
      errors: a.errors,
      listenerPeakRss: figure(a.peak),
      listenerHeapPerConn: figure(a.lh),
      listenerRssPerConn: figure(a.lr),
      dialerHeapPerConn: figure(a.dh),
      dialerRssPerConn: figure(a.dr)
    }
  }
  return out
}

async function waitFor (check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check()) {
      return true
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return false
}

/** 4b. `n` simultaneous full-stack dials, each from its own libp2p node */
export async function stackConcurrency (options: Options, progress: Progress): Promise<Record<string, ConcurrencyResult>> {
  const s = options.sizes
  const n = s.concurrentStack
  const out: Record<string, ConcurrencyResult> = {}

  for (const variant of variants(options, false).filter(v => LIBP2P_IMPLS.includes(v.impl))) {
    const impl = variant.impl
    const time: number[] = []
    const peak: number[] = []
    const errors: Record<string, number> = {}
    let failures = 0

    for (let r = 0; r < s.concurrencyRepeats; r++) {
      progress(`concurrency: ${n} simultaneous full-stack dials, ${variant.label}, repeat ${r + 1}/${s.concurrencyRepeats} (starting ${n} nodes)`)
      const listener = await spawnPeer('./node-peer.js', peerOptions(options, variant, 'listener'))
      const swarms: Peer[] = []
      try {
        const { addr } = await listener.call('listen', { impl })
        const per = Math.ceil(n / s.stackSwarmProcesses)
        await Promise.all(Array.from({ length: s.stackSwarmProcesses }, async (_, k) => {
          const count = Math.min(per, n - k * per)
          const peer = await spawnPeer('./node-peer.js', peerOptions(options, variant, `swarm${k}`))
          swarms.push(peer)
          await peer.call('swarm', { impl, count })
        }))
        progress(`concurrency: ${n} simultaneous full-stack dials, ${variant.label}, repeat ${r + 1}/${s.concurrencyRepeats}`)
        const results = await Promise.all(swarms.map(async p => p.call('swarmDial', { addr })))
        time.push(Math.max(...results.map(x => x.totalMs)))
        for (const x of results) {
          failures += x.failures
          addErrors(errors, x.errors)
        }
        peak.push((await listener.call('memory')).maxRSS)
      } finally {
        await Promise.all([listener.stop(10_000), ...swarms.map(async p => p.stop(10_000))])
      }
    }

    out[variant.label] = { dials: n, timeMs: figure(time), failures, errors, listenerPeakRss: figure(peak) }
  }

  return out
}

export interface DiscoveryResult {
  nodes: number
  /** ms from the last node's start until every node discovered every other */
  convergenceMs: Figure
  /** repeats that did not converge within the timeout */
  timeouts: number
  /** nodes still missing peers at the timeout, summed */
  unconverged: number
  /** per timed-out repeat: each node's peers found / connections at the timeout */
  atTimeout: string[]
  /** ms from the first to the last node's start */
  startSpreadMs: Figure
  /** ms from the last node's start until the last joining node's connection to the bootstrap node opened */
  lastConnectionMs: Figure
  /** CPU ms of a joining node from its start until all converged (median node of each repeat) */
  nodeCpuMs: Figure
  /** CPU ms of the bootstrap node from its start until all converged */
  bootstrapCpuMs: Figure
  /** CPU ms of all nodes from their starts until all converged, ÷ the machine's cores */
  cpuPerCoreMs: Figure
}

/** 5. discovery convergence of `discoveryNodes` processes, one bootstrap node */
export async function discovery (options: Options, progress: Progress): Promise<Record<string, DiscoveryResult>> {
  const s = options.sizes
  const out: Record<string, DiscoveryResult> = {}
  const stacks: Array<{ label: string, stack: 'ours' | 'reference', env?: Record<string, string> }> = [
    { label: 'ours', stack: 'ours' },
    ...(options.compareDiscovery != null ? [{ label: 'ours (compare)', stack: 'ours' as const, env: { TOLERANT_WS_DISCOVERY_DIST: options.compareDiscovery } }] : []),
    { label: 'reference', stack: 'reference' }
  ]
  const acc = new Map<string, { conv: number[], spread: number[], lastConnection: number[], nodeCpu: number[], bootstrapCpu: number[], cpuPerCore: number[], timeouts: number, unconverged: number, missing: string[] }>()

  for (let r = 0; r < s.discoveryRepeats; r++) {
    for (const { label, stack, env } of stacks) {
      progress(`discovery: ${s.discoveryNodes} nodes, ${label}, repeat ${r + 1}/${s.discoveryRepeats} (starting processes)`)
      const peers: Peer[] = []
      const converged: number[] = []
      const starts: number[] = []
      try {
        // processes start in parallel; the nodes in them start below
        const spawned = await Promise.allSettled(Array.from({ length: s.discoveryNodes }, async (_, i) =>
          spawnPeer('./discovery-peer.js', peerOptions(options, { label: `discovery-${label}`, impl: 'tolerant-ws', env }, `node${i}`))))
        for (const r of spawned.filter((r): r is PromiseFulfilledResult<Peer> => r.status === 'fulfilled')) {
          r.value.on('converged', (d: { at: number }) => { converged.push(d.at) })
          peers.push(r.value)
        }
        if (peers.length < s.discoveryNodes) {
          throw new Error(`only ${peers.length} of ${s.discoveryNodes} discovery processes started`)
        }
        // the bootstrap node first, then every other node at once
        const boot = await peers[0].call('start', { stack, router: options.router, total: s.discoveryNodes })
        starts.push(boot.startedAt)
        const rest = await Promise.all(peers.slice(1).map(async p => p.call('start', { stack, router: options.router, total: s.discoveryNodes, bootstrapAddr: `${boot.addr}` })))
        for (const x of rest) {
          starts.push(x.startedAt)
        }
        const lastStart = Math.max(...starts)
        progress(`discovery: ${s.discoveryNodes} nodes, ${label}, repeat ${r + 1}/${s.discoveryRepeats} (waiting for convergence)`)
        const ok = await waitFor(async () => converged.length >= s.discoveryNodes, s.discoveryTimeoutMs)
        // at once, so the CPU figures end (about) when the last node converged
        const st = await Promise.all(peers.map(async p => p.call('status').catch(() => ({ found: -1, connections: -1, cpuMs: NaN, firstConnectionAt: undefined }))))
        const a = acc.get(label) ?? { conv: [], spread: [], lastConnection: [], nodeCpu: [], bootstrapCpu: [], cpuPerCore: [], timeouts: 0, unconverged: 0, missing: [] }
        a.spread.push(lastStart - Math.min(...starts))
        const joining = st.slice(1)
        a.lastConnection.push(Math.max(...joining.map(x => (x.firstConnectionAt ?? Infinity) - lastStart)))
        a.nodeCpu.push(figure(joining.map(x => x.cpuMs)).median)
        a.bootstrapCpu.push(st[0].cpuMs)
        a.cpuPerCore.push(st.reduce((sum, x) => sum + x.cpuMs, 0) / os.cpus().length)
        if (ok) {
          a.conv.push(Math.max(...converged) - lastStart)
        } else {
          a.missing.push(st.map(x => `${x.found}/${x.connections}`).join(' '))
          a.timeouts++
          a.unconverged += s.discoveryNodes - converged.length
          a.conv.push(Infinity)
        }
        acc.set(label, a)
      } finally {
        await Promise.all(peers.map(async p => p.stop(5000)))
      }
    }
  }

  for (const [stack, a] of acc) {
    out[stack] = {
      nodes: s.discoveryNodes,
      convergenceMs: figure(a.conv),
      timeouts: a.timeouts,
      unconverged: a.unconverged,
      atTimeout: a.missing,
      startSpreadMs: figure(a.spread),
      lastConnectionMs: figure(a.lastConnection),
      nodeCpuMs: figure(a.nodeCpu),
      bootstrapCpuMs: figure(a.bootstrapCpu),
      cpuPerCoreMs: figure(a.cpuPerCore)
    }
  }
  return out
}

export function load (): number[] {
  return os.loadavg().map(l => Math.round(l * 100) / 100)
}
