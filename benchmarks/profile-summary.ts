/* eslint-disable no-console */
/**
 * Summarises a `--cpu-prof` profile: self time by function and by package,
 * and total (inclusive) time of the functions matching a pattern.
 *
 * ```
 * node dist/benchmarks/profile-summary.js FILE.cpuprofile [top] [pattern]
 * ```
 */
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

function where (url: string): string {
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (m != null) {
    return m[1]
  }
  if (url.startsWith('node:')) {
    return url
  }
  if (url.includes('/dist/src/')) {
    return 'tolerant-ws ' + url.slice(url.indexOf('/dist/src/') + 10)
  }
  if (url.includes('/dist/benchmarks/')) {
    return 'benchmark harness'
  }
  return url === '' ? '(native)' : url
}

function main (): void {
  const [file, topArg, pattern] = process.argv.slice(2)
  const top = Number(topArg ?? 25)
  const profile: Profile = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) {
      parent.set(c, n.id)
    }
  }

  const self = new Map<number, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    self.set(id, (self.get(id) ?? 0) + dt)
    total += dt
  })

  const byFn = new Map<string, number>()
  const byPkg = new Map<string, number>()
  const inclusive = new Map<string, number>()

  for (const [id, t] of self) {
    const n = byId.get(id)!
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`
    byFn.set(key, (byFn.get(key) ?? 0) + t)
    byPkg.set(where(n.callFrame.url), (byPkg.get(where(n.callFrame.url)) ?? 0) + t)

    // inclusive time: count each distinct frame once per stack
    const seen = new Set<string>()
    let cur: number | undefined = id
    while (cur != null) {
      const f = byId.get(cur)!.callFrame
      const k = `${f.functionName || '(anonymous)'} ${where(f.url)}:${f.lineNumber + 1}`
      if (!seen.has(k)) {
        seen.add(k)
        inclusive.set(k, (inclusive.get(k) ?? 0) + t)
      }
      cur = parent.get(cur)
    }
  }

  const pct = (t: number): string => `${((100 * t) / total).toFixed(1).padStart(5)} %`
  const idle = [...byFn].filter(([k]) => k.startsWith('(idle)') || k.startsWith('(program)') || k.startsWith('(garbage collector)'))
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled; ${idle.map(([k, t]) => `${k.split(' ')[0]} ${pct(t)}`).join(', ')}`)
  console.log('\nself time by package:')
  for (const [k, t] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${pct(t)}  ${k}`)
  }
  console.log('\nself time by function:')
  for (const [k, t] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${pct(t)}  ${k}`)
  }
  if (pattern != null) {
    console.log(`\ninclusive time of functions matching /${pattern}/:`)
    const re = new RegExp(pattern)
    for (const [k, t] of [...inclusive].filter(([k]) => re.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${pct(t)}  ${k}`)
    }
  }
}

main()
