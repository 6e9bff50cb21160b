/* eslint-disable no-console */
/**
 * `npm run interop`: the libp2p transport-interop matrix without docker.
 *
 * Starts a local redis-server (installing it with apt-get when missing and
 * running as root), builds the go and rust peers (caches outside the clone),
 * installs the js-libp2p 2 peer, then runs every listener/dialer pair that
 * involves tolerant-ws as two processes, exactly as test-plans does: DEL
 * listenerAddr, start the listener, start the dialer, validate the dialer's
 * one stdout line as upstream's parser does, kill the listener.
 *
 * Flags: --skip-rust (the rust column is reported as skipped), --only <name>
 * (run the pairs involving that implementation), --timeout <s> (per test,
 * default 60). Results: a table on stdout, interop/results/results.{json,md},
 * and a closing line "N passed, N failed". Exits non-zero on any unexpected
 * failure.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync, existsSync } from 'node:fs'
import net from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createClient } from 'redis'

type Transport = 'ws' | 'wss'

interface Impl {
  name: string
  command: string[]
  env?: Record<string, string>
  /** per transport: can it listen, can it dial */
  transports: Partial<Record<Transport, { listen: boolean, dial: boolean }>>
  security: string[]
  muxers: string[]
}

interface TestCase {
  name: string
  dialer: Impl
  listener: Impl
  transport: Transport
  security: string
  muxer: string
  knownFailing?: string
}

interface Result {
  name: string
  dialer: string
  listener: string
  transport: Transport
  security: string
  muxer: string
  outcome: 'pass' | 'fail' | 'known-failing' | 'unexpected-pass' | 'skipped'
  handshakePlusOneRTTMillis?: number
  pingRTTMilllis?: number
  seconds: number
  error?: string
  reason?: string
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const { values: args } = parseArgs({
  options: {
    'skip-rust': { type: 'boolean', default: false },
    only: { type: 'string' },
    timeout: { type: 'string', default: '60' }
  }
})
const testTimeoutSeconds = Number(args.timeout)

/**
 * Cells that fail because of the other implementation, with where that is
 * recorded upstream. Keyed by test name.
 */
const KNOWN_FAILING: Record<string, string> = {}

function log (message: string): void {
  process.stderr.write(`[interop] ${message}\n`)
}

function sh (command: string): { status: number, stdout: string } {
  const result = spawnSync('bash', ['-c', command], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 })
  return { status: result.status ?? 1, stdout: result.stdout ?? '' }
}

function ensureRedis (): string {
  const found = sh('command -v redis-server')

  if (found.status === 0) {
    return found.stdout.trim()
  }

  if (process.getuid?.() !== 0) {
    throw new Error('redis-server is missing and this is not root: install the redis-server package')
  }

  log('installing redis-server with apt-get')

  if (sh('(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null').status !== 0) {
    throw new Error('apt-get install redis-server failed')
  }

  return sh('command -v redis-server').stdout.trim()
}

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise(resolve => server.close(resolve))
  return port
}

function buildForeign (skipRust: boolean): Record<string, string> {
  const targets = skipRust ? 'go' : 'go rust'
  const start = Date.now()
  log(`building foreign peers (${targets}); a cold build takes minutes, a warm one seconds`)
  const built = sh(`bash interop/build-foreign.sh ${targets}`)

  if (built.status !== 0) {
    throw new Error('building the go/rust peers failed')
  }

  log(`foreign peers ready in ${((Date.now() - start) / 1000).toFixed(1)} s`)
  return Object.fromEntries(built.stdout.trim().split('\n').map(line => line.split('=') as [string, string]))
}

function installJsV2 (): void {
  if (existsSync(join(root, 'interop/js-v2/node_modules/libp2p'))) {
    return
  }

  log('installing the js-libp2p 2 peer (interop/js-v2)')

  if (sh('cd interop/js-v2 && npm ci --no-audit --no-fund --loglevel=error').status !== 0) {
    throw new Error('npm ci in interop/js-v2 failed')
  }
}

function implementations (binaries: Record<string, string>, skipRust: boolean): { impls: Impl[], skipped: Impl[] } {
  const node = process.execPath
  const ours: Impl = {
    name: 'tolerant-ws',
    command: [node, join(root, 'dist/interop/js-peer.js')],
    transports: { ws: { listen: true, dial: true }, wss: { listen: true, dial: true } },
    security: ['noise', 'tls'],
    muxers: ['yamux', 'mplex']
  }
  const rust: Impl = {
    name: 'rust-v0.56',
    command: [binaries.rust ?? 'rust-peer-not-built'],
    transports: { ws: { listen: true, dial: true } },
    security: ['noise', 'tls'],
    muxers: ['yamux']
  }
  const impls: Impl[] = [
    ours,
    {
      name: 'js-v3 (@libp2p/websockets 10)',
      command: [node, join(root, 'dist/interop/js-peer.js')],
      env: { IMPL: 'websockets-v10' },
      // upstream js peers listen on ws only, and dial ws and wss
      transports: { ws: { listen: true, dial: true }, wss: { listen: false, dial: true } },
      security: ['noise'],
      muxers: ['yamux', 'mplex']
    },
    {
      name: 'js-v2 (@libp2p/websockets 9)',
      command: [node, join(root, 'interop/js-v2/peer.mjs')],
      transports: { ws: { listen: true, dial: true }, wss: { listen: false, dial: true } },
      security: ['noise'],
      muxers: ['yamux', 'mplex']
    },
    {
      name: 'go-v0.48',
      command: [binaries.go],
      transports: { ws: { listen: true, dial: true }, wss: { listen: true, dial: true } },
      security: ['noise', 'tls'],
      muxers: ['yamux']
    }
  ]

  if (!skipRust) {
    impls.push(rust)
  }

  return { impls, skipped: skipRust ? [rust] : [] }
}

/** Every pair that involves tolerant-ws and that both sides support */
function matrix (impls: Impl[]): TestCase[] {
  const [ours] = impls
  const cases: TestCase[] = []
  const pairs: Array<[Impl, Impl]> = [[ours, ours]]

  for (const other of impls.slice(1)) {
    pairs.push([ours, other], [other, ours])
  }

  for (const [dialer, listener] of pairs) {
    for (const transport of ['ws', 'wss'] as const) {
      if (dialer.transports[transport]?.dial !== true || listener.transports[transport]?.listen !== true) {
        continue
      }

      for (const security of dialer.security.filter(s => listener.security.includes(s))) {
        for (const muxer of dialer.muxers.filter(m => listener.muxers.includes(m))) {
          const name = `${dialer.name} x ${listener.name} (${transport}, ${security}, ${muxer})`
          cases.push({ name, dialer, listener, transport, security, muxer, knownFailing: KNOWN_FAILING[name] })
        }
      }
    }
  }

  return cases
}

/** Upstream's parser: one JSON line with exactly these two numeric fields */
function parseDialerOutput (stdout: string): { handshakePlusOneRTTMillis: number, pingRTTMilllis: number } {
  const lines = stdout.split('\n').filter(line => line.trim() !== '')

  if (lines.length !== 1) {
    throw new Error(`expected one line on stdout, got ${lines.length}: ${JSON.stringify(stdout.slice(0, 300))}`)
  }

  const parsed = JSON.parse(lines[0])

  if (typeof parsed.handshakePlusOneRTTMillis !== 'number' || typeof parsed.pingRTTMilllis !== 'number') {
    throw new Error(`missing handshakePlusOneRTTMillis/pingRTTMilllis in ${lines[0]}`)
  }

  return parsed
}

async function runCase (test: TestCase, redisAddr: string, redis: { del(key: string): Promise<unknown> }): Promise<Result> {
  await redis.del('listenerAddr')
  const start = Date.now()
  const baseEnv = {
    ...process.env,
    transport: test.transport,
    security: test.security,
    muxer: test.muxer,
    ip: '0.0.0.0',
    redis_addr: redisAddr,
    test_timeout_seconds: String(testTimeoutSeconds)
  }
  const stderr: string[] = []
  const start_ = (impl: Impl, isDialer: boolean): ReturnType<typeof spawn> => {
    const child = spawn(impl.command[0], impl.command.slice(1), {
      env: { ...baseEnv, ...impl.env, is_dialer: String(isDialer) },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    child.stderr?.on('data', (chunk: Buffer) => { stderr.push(`${isDialer ? 'dialer' : 'listener'}: ${chunk.toString()}`) })
    return child
  }

  const listener = start_(test.listener, false)
  const dialer = start_(test.dialer, true)
  let stdout = ''
  dialer.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  listener.stdout?.resume()

  const status = await new Promise<number | null>(resolve => {
    const timer = setTimeout(() => { dialer.kill('SIGKILL') }, (testTimeoutSeconds + 10) * 1000)
    dialer.once('exit', (code) => { clearTimeout(timer); resolve(code) })
  })

  listener.kill('SIGTERM')
  const killTimer = setTimeout(() => listener.kill('SIGKILL'), 2000)
  await new Promise(resolve => listener.exitCode != null || listener.signalCode != null ? resolve(undefined) : listener.once('exit', resolve))
  clearTimeout(killTimer)

  const result: Result = {
    name: test.name,
    dialer: test.dialer.name,
    listener: test.listener.name,
    transport: test.transport,
    security: test.security,
    muxer: test.muxer,
    outcome: 'pass',
    seconds: (Date.now() - start) / 1000,
    reason: test.knownFailing
  }

  try {
    if (status !== 0) {
      throw new Error(`dialer exited with ${status}`)
    }

    Object.assign(result, parseDialerOutput(stdout))
    result.outcome = test.knownFailing != null ? 'unexpected-pass' : 'pass'
  } catch (err: any) {
    result.outcome = test.knownFailing != null ? 'known-failing' : 'fail'
    result.error = `${err.message}\n${stderr.join('').split('\n').slice(-15).join('\n')}`
  }

  return result
}

function markdown (results: Result[], date: string): string {
  const rows = results.map(r => `| ${r.name} | ${r.outcome}${r.reason != null ? ` (${r.reason})` : ''} | ${r.handshakePlusOneRTTMillis?.toFixed(1) ?? '–'} | ${r.pingRTTMilllis?.toFixed(2) ?? '–'} |`)
  return [
    `Interop matrix, ${date}, \`npm run interop\` (Node ${process.version}, loopback + eth0 on one machine)`,
    '',
    '| test | result | handshakePlusOneRTTMillis | pingRTTMilllis |',
    '| --- | --- | --- | --- |',
    ...rows
  ].join('\n')
}

async function main (): Promise<number> {
  const redisServer = ensureRedis()
  const binaries = buildForeign(args['skip-rust'] === true)
  installJsV2()

  const { impls, skipped } = implementations(binaries, args['skip-rust'] === true)
  let cases = matrix(impls)

  if (args.only != null) {
    cases = cases.filter(c => c.dialer.name.startsWith(args.only ?? '') || c.listener.name.startsWith(args.only ?? ''))
  }

  const port = await freePort()
  const server = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const redisAddr = `127.0.0.1:${port}`
  const redis = createClient({ url: `redis://${redisAddr}` })
  redis.on('error', () => {})

  for (let i = 0; ; i++) {
    try {
      await redis.connect()
      break
    } catch (err) {
      if (i > 50) {
        throw err
      }
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  const results: Result[] = []

  try {
    for (const [index, test] of cases.entries()) {
      process.stderr.write(`[interop] ${index + 1}/${cases.length} ${test.name} … `)
      const result = await runCase(test, redisAddr, redis)
      results.push(result)
      process.stderr.write(`${result.outcome} (${result.seconds.toFixed(1)} s)\n`)

      if (result.outcome === 'fail') {
        process.stderr.write(`${result.error ?? ''}\n`)
      }
    }
  } finally {
    await redis.quit().catch(() => {})
    server.kill('SIGTERM')
  }

  for (const impl of skipped) {
    results.push({ name: `${impl.name} (all cells)`, dialer: impl.name, listener: impl.name, transport: 'ws', security: '-', muxer: '-', outcome: 'skipped', seconds: 0, reason: 'skipped with --skip-rust' })
  }

  const date = new Date().toISOString().slice(0, 10)
  const dir = join(root, 'interop/results')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ date, node: process.version, results }, null, 2))
  const table = markdown(results, date)
  writeFileSync(join(dir, 'results.md'), table + '\n')
  console.log(table)

  const passed = results.filter(r => r.outcome === 'pass' || r.outcome === 'known-failing').length
  const failed = results.filter(r => r.outcome === 'fail' || r.outcome === 'unexpected-pass').length
  console.log(`\ninterop: ${passed} passed, ${failed} failed`)
  return failed === 0 && passed > 0 ? 0 : 1
}

main().then(code => {
  process.exitCode = code
}, (err: Error) => {
  console.error(`[interop] ${err.stack ?? err.message}`)
  console.log('\ninterop: 0 passed, 1 failed')
  process.exitCode = 1
})
