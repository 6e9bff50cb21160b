/**
 * `npm run bench [-- --quick]`: every scenario, side by side on this Node
 * binary, for tolerant-ws, `@libp2p/websockets` 10, `@libp2p/tcp`, raw ws and
 * raw net. Writes NAME.json, NAME.md and NAME.svg under benchmarks/results/.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { renderSvg } from './chart.js'
import { parseArgs } from './config.js'
import { renderMarkdown } from './report.js'
import { discovery, fullStack, load, rawConcurrency, rawSetup, stackConcurrency, throughput } from './scenarios.js'
import type { Results } from './report.js'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const require = createRequire(import.meta.url)

function version (pkg: string): string {
  try {
    const path = require.resolve(`${pkg}/package.json`, { paths: [repoRoot] })
    return JSON.parse(readFileSync(path, 'utf8')).version
  } catch {
    try {
      const path = `${repoRoot}/node_modules/${pkg}/package.json`
      return JSON.parse(readFileSync(path, 'utf8')).version
    } catch {
      return '?'
    }
  }
}

function hasBufferutil (): boolean {
  try {
    require.resolve('bufferutil', { paths: [repoRoot] })
    return true
  } catch {
    return false
  }
}

async function main (): Promise<void> {
  const options = parseArgs(process.argv.slice(2), `${repoRoot}benchmarks/results`)
  mkdirSync(options.outDir, { recursive: true })
  if (options.profileDir != null) {
    mkdirSync(options.profileDir, { recursive: true })
  }

  const started = Date.now()
  const tty = process.stderr.isTTY
  const progress = (text: string): void => {
    const line = `[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s, load ${os.loadavg()[0].toFixed(2)}] ${text}`
    process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`)
  }

  const results: Results = {
    meta: {
      date: new Date().toISOString(),
      command: `npm run bench --${options.quick ? ' --quick' : ''} ${process.argv.slice(2).filter(a => a !== '--quick').join(' ')}`.trim(),
      quick: options.quick,
      node: process.version,
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? '?',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      loadBefore: load(),
      loadAfter: [],
      durationS: 0,
      bufferutil: hasBufferutil(),
      router: options.router,
      sizes: options.sizes,
      versions: Object.fromEntries(['tolerant-ws', '@libp2p/websockets', '@libp2p/tcp', 'ws', 'bufferutil', 'libp2p', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux', '@libp2p/gossipsub', '@libp2p/pubsub-peer-discovery'].map(p => [p, p === 'tolerant-ws' ? JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')).version : version(p)])),
      scenarioLoad: {}
    }
  }

  const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const before = load()
    const t = Date.now()
    const out = await fn()
    results.meta.scenarioLoad[name] = { before, after: load(), seconds: Math.round((Date.now() - t) / 1000) }
    return out
  }

  for (const scenario of options.scenarios) {
    switch (scenario) {
      case 'setup':
        results.setup = await stage('setup', async () => rawSetup(options, progress))
        break
      case 'stack':
        results.stack = await stage('stack', async () => fullStack(options, progress))
        break
      case 'throughput':
        results.throughput = await stage('throughput', async () => throughput(options, progress))
        break
      case 'concurrency':
        results.concurrency = await stage('concurrency', async () => {
          const raw: Record<string, any> = {}
          for (const n of options.sizes.concurrentRaw) {
            raw[n] = await rawConcurrency(options, progress, n)
          }
          return { raw, stack: await stackConcurrency(options, progress) }
        })
        break
      case 'discovery':
        results.discovery = await stage('discovery', async () => discovery(options, progress))
        break
      default:
        throw new Error(`unknown scenario ${String(scenario)}`)
    }
  }

  results.meta.loadAfter = load()
  results.meta.durationS = Math.round((Date.now() - started) / 1000)
  if (tty) {
    process.stderr.write('\r\x1b[K')
  }

  const base = `${options.outDir}/${options.name}`
  const markdown = renderMarkdown(results, `${options.name}.svg`)
  writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + '\n')
  writeFileSync(`${base}.md`, markdown)
  writeFileSync(`${base}.svg`, renderSvg(results))
  process.stdout.write(markdown)
  process.stdout.write(`\nwrote ${base}.json, ${base}.md, ${base}.svg in ${results.meta.durationS} s\n`)
}

main().then(() => { process.exit(0) }, (err) => {
  process.stderr.write(`\nbenchmark failed: ${err.stack ?? err}\n`)
  process.exit(1)
})
