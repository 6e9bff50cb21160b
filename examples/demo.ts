/**
 * `npm run demo`: a small swarm of libp2p nodes on loopback, each in its own
 * process, each running `tolerant-ws node --json` (our WebSocket transport,
 * noise, yamux, gossipsub and our pubsub discovery). Prints, live, what the
 * nodes report: subscribe, bind, announce, discover, ping. Then a summary
 * table, and exits 0 when every node discovered and pinged every other.
 *
 * Every node binds its listener late (`--bind-delay`), after discovery has
 * started: the start-up race of js-libp2p#2902. The summary checks that it
 * was handled: no record without an address, and each node's first record
 * carried its bound address.
 *
 * Only the first node is dialled directly (`--bootstrap`); everyone else is
 * found through pubsub records alone.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { parseEventLine } from '../src/cli/events.js'
import { loopbackCertificate } from './certificate.js'
import { SwarmState, secs } from './demo-report.js'
import type { TimedNodeEvent } from '../src/cli/events.js'
import type { ChildProcess } from 'node:child_process'

const HELP = `Usage: npm run demo -- [options]

Starts a swarm of libp2p nodes on 127.0.0.1, each in its own process, and
shows them discover and ping each other through tolerant-ws.

Options:
  --nodes <n>        number of nodes, 2–12 (default 4)
  --wss              listen and dial over TLS (/tls/ws) with a throw-away certificate
  --duration <s>     keep the swarm up this long, pinging every second
                     (default: stop as soon as every node found and pinged every other)
  --timeout <s>      give up after this long without a complete swarm
                     (default 20 + 5 per node: 40 for 4 nodes)
  --bind-delay <s>   how late each listener binds after discovery started (default 0.5)
  -h, --help         this help
`

/** libp2p rate-limits inbound connections per host; every node lives on 127.0.0.1 */
const LOOPBACK_ALLOW = '/ip4/127.0.0.1/ipcidr/32'

/** How long a node may take to stop before it is killed, ms */
const STOP_GRACE_MS = 5000

const CLI = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url))

interface DemoOptions {
  nodes: number
  wss: boolean
  durationMs?: number
  timeoutMs: number
  bindDelay: number
}

function usage (message: string): never {
  process.stderr.write(`demo: ${message} (see: npm run demo -- --help)\n`)
  process.exit(2)
}

function parseOptions (argv: string[]): DemoOptions {
  let values: Record<string, string | boolean | undefined>

  try {
    values = parseArgs({
      args: argv,
      options: {
        nodes: { type: 'string' },
        wss: { type: 'boolean' },
        duration: { type: 'string' },
        timeout: { type: 'string' },
        'bind-delay': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      },
      strict: true
    }).values
  } catch (err: any) {
    usage(String(err.message).split('.')[0])
  }

  if (values.help === true) {
    process.stdout.write(HELP)
    process.exit(0)
  }

  const num = (flag: string, value: string | boolean | undefined, fallback: number, min: number, max: number): number => {
    if (value == null) { return fallback }
    const n = Number(value)
    if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      usage(`--${flag} must be a number from ${min} to ${max}, got '${String(value)}'`)
    }
    return n
  }

  const nodes = num('nodes', values.nodes, 4, 2, 12)
  if (!Number.isInteger(nodes)) {
    usage(`--nodes must be a whole number, got '${String(values.nodes)}'`)
  }

  return {
    nodes,
    wss: values.wss === true,
    durationMs: values.duration != null ? num('duration', values.duration, 0, 1, 3600) * 1000 : undefined,
    timeoutMs: num('timeout', values.timeout, 20 + 5 * nodes, 1, 3600) * 1000,
    bindDelay: num('bind-delay', values['bind-delay'], 0.5, 0, 10)
  }
}

const options = parseOptions(process.argv.slice(2))
const started = performance.now()
const now = (): number => performance.now() - started
const state = new SwarmState()
const children: ChildProcess[] = []
let onProgress = (): void => {}

function log (name: string, text: string): void {
  process.stdout.write(`  ${`t+${(now() / 1000).toFixed(2)}s`.padStart(8)}  ${name.padEnd(7)} ${text}\n`)
}

/** starts node `index` and feeds its events into the state */
function spawnNode (index: number, args: string[]): { listening: Promise<string> } {
  const name = `node-${index}`
  state.add(name, now())
  const child = spawn(process.execPath, [CLI, 'node', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)

  let resolveListening: (addr: string) => void = () => {}
  let rejectListening: (err: Error) => void = () => {}
  const listening = new Promise<string>((resolve, reject) => { resolveListening = resolve; rejectListening = reject })
  // node-0's promise is the only one awaited; the others must not become unhandled rejections
  listening.catch(() => {})

  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event: TimedNodeEvent | undefined = parseEventLine(line)

    if (event == null) {
      log(name, line)
      return
    }

    const text = state.apply(index, event)
    if (text != null) {
      log(name, text)
    }
    if (event.event === 'listening') {
      resolveListening(event.addrs[0])
    }
    onProgress()
  })
  createInterface({ input: child.stderr! }).on('line', (line) => { log(name, `! ${line}`) })
  child.on('exit', (code, signal) => {
    if (code !== 0 && !stopping) {
      log(name, `exited early with ${code != null ? `code ${code}` : String(signal)}`)
    }
    rejectListening(new Error(`${name} exited before it was listening`))
    onProgress()
  })

  return { listening }
}

let stopping = false

async function stopAll (): Promise<void> {
  stopping = true
  await Promise.all(children.map(async (child) => {
    if (child.exitCode != null || child.signalCode != null) {
      return
    }
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => { child.kill('SIGKILL') }, STOP_GRACE_MS)
    await exited
    clearTimeout(timer)
  }))
}

/** resolves when the swarm is complete (or, with --duration, when that ends); rejects on timeout */
async function waitForSwarm (): Promise<void> {
  const deadline = options.durationMs ?? options.timeoutMs

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      onProgress = () => {}
      if (options.durationMs != null && state.complete()) {
        resolve()
      } else {
        reject(new Error(`the swarm was not complete after ${secs(deadline)}`))
      }
    }, Math.max(0, deadline - now()))

    onProgress = () => {
      if (children.some(c => c.exitCode != null || c.signalCode != null)) {
        clearTimeout(timer)
        onProgress = () => {}
        reject(new Error('a node exited'))
      } else if (options.durationMs == null && state.complete()) {
        clearTimeout(timer)
        onProgress = () => {}
        resolve()
      }
    }
  })
}

async function run (): Promise<boolean> {
  const transport = options.wss ? 'wss (/tls/ws, self-signed certificate)' : 'ws'
  process.stdout.write(`tolerant-ws demo: ${options.nodes} nodes over ${transport} on 127.0.0.1, one process each, gossipsub + pubsub discovery\n`)
  process.stdout.write(`Every listener binds ${options.bindDelay} s after discovery started (the js-libp2p#2902 race); only node-0 is dialled directly.\n\n`)

  const common = [
    '--allow', LOOPBACK_ALLOW,
    '--bind-delay', String(options.bindDelay),
    '--interval', '5',
    '--ping-interval', options.durationMs != null ? '1' : '0'
  ]
  let tmp: string | undefined

  try {
    if (options.wss) {
      tmp = await mkdtemp(join(tmpdir(), 'tolerant-ws-demo-'))
      const { key, cert } = await loopbackCertificate()
      await writeFile(join(tmp, 'key.pem'), key)
      await writeFile(join(tmp, 'cert.pem'), cert)
      common.push('--listen', '/ip4/127.0.0.1/tcp/0/tls/ws', '--cert', join(tmp, 'cert.pem'), '--key', join(tmp, 'key.pem'), '--ca', join(tmp, 'cert.pem'))
    } else {
      common.push('--listen', '/ip4/127.0.0.1/tcp/0/ws')
    }

    const first = spawnNode(0, common)
    const bootstrap = await Promise.race([
      first.listening,
      new Promise<never>((resolve, reject) => setTimeout(() => { reject(new Error('node-0 did not start listening within 20 s')) }, 20_000).unref())
    ])

    for (let i = 1; i < options.nodes; i++) {
      spawnNode(i, [...common, '--bootstrap', bootstrap])
    }

    const ticker = options.durationMs != null ? setInterval(() => { log('demo', state.totals()) }, 5000) : undefined
    try {
      await waitForSwarm()
    } finally {
      clearInterval(ticker)
    }
    log('demo', options.durationMs != null ? `${secs(options.durationMs)} elapsed, stopping the swarm` : 'every node found and pinged every other node; stopping the swarm')
    return true
  } catch (err: any) {
    log('demo', `FAILED: ${String(err.message)}`)
    for (const gap of state.missing().slice(0, 10)) {
      log('demo', `  ${gap}`)
    }
    return false
  } finally {
    await stopAll()
    if (tmp != null) {
      await rm(tmp, { recursive: true, force: true })
    }
  }
}

process.once('SIGINT', () => {
  process.stdout.write('\ninterrupted, stopping the swarm\n')
  stopAll().finally(() => process.exit(130))
})

const ok = await run()
const total = now()
const race = state.raceChecks()

process.stdout.write(`\nSummary: ${options.nodes} nodes, ${options.wss ? 'wss' : 'ws'}, ${secs(total)} in all (times are since each node's own start)\n\n`)
process.stdout.write(`${state.nodeTable()}\n\n`)
process.stdout.write('bound: listener bound, since the node started; 1st record: first announcement, after the node had both an address and a connected peer\n\n')
process.stdout.write(`Who found whom (seconds after the finder started):\n${state.matrix()}\n\n`)
process.stdout.write(`${ok && state.complete() ? '✔' : '✘'} every node discovered every other node through pubsub and pinged it\n`)
for (const check of race) {
  process.stdout.write(`${check.ok ? '✔' : '✘'} ${check.text}\n`)
}

process.exitCode = ok && state.complete() && race.every(c => c.ok) ? 0 : 1
