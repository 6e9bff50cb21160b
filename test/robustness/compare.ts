/**
 * `npm run robustness:compare`: the hostile transport cases of ROBUSTNESS.md
 * against tolerant-ws and against the published `@libp2p/websockets`, each case
 * in its own process (a crash or a hang fails that case only). Prints a
 * markdown table; `--json FILE` also writes the raw results.
 *
 * tolerant-ws runs with handshakeTimeout 2 s and closeTimeout 500 ms (and
 * maxPayload 1 MiB, maxConnections 10 where the case says so); the reference
 * has no such options and runs with its defaults.
 */
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const CASES: Array<[string, string]> = [
  ['1a', 'Silent sockets are closed (100 sockets, within 5 s)'],
  ['1b', 'close() resolves in < 1 s with 100 silent sockets connected'],
  ['2', 'Slowloris headers are cut off (50 sockets, within 5 s)'],
  ['3', 'Stalled after 101: socket destroyed at the upgrade timeout'],
  ['4', 'Header abuse answered and closed in < 100 ms'],
  ['5', 'Hostile Sec-WebSocket-Protocol/Extensions answered in < 50 ms'],
  ['6', 'Not WebSocket at all: answered or closed in < 100 ms'],
  ['7', '16 malformed frames: right close code, process survives'],
  ['8', 'A message over the payload limit is refused with 1009'],
  ['9', 'Fragment flood (100 000 continuations) is cut off'],
  ['10', 'Compression refused; RSV1 frame closed with 1002'],
  ['11', 'Ping flood from a peer that never reads is reset'],
  ['12', 'Slow consumer: read backpressure, < 8 MiB unread'],
  ['13', 'Stalled peer: bounded buffer; abort() frees the socket'],
  ['14', 'Chaotic chunking is byte-exact (16 connections)'],
  ['15', 'Dials aborted at every phase: AbortError, nothing left'],
  ['16', 'Tarpit: typed error in time, socket closed; no redirect'],
  ['17', 'close() under load: < 1 s, close once, all destroyed'],
  ['18', 'Close/abort races: one close each; abort() is immediate'],
  ['19', 'maxConnections: sockets past the limit are dropped'],
  ['20', 'Churn (600 cycles + 120 aborted + 120 malformed)'],
  ['21', 'Error hygiene: resets mid-handshake, writes after RST']
]

const { values } = parseArgs({ options: { json: { type: 'string' }, only: { type: 'string' }, timeout: { type: 'string', default: '90' } } })
// its exports map hides package.json: read it from the file
const version = JSON.parse(readFileSync(new URL('../../../node_modules/@libp2p/websockets/package.json', import.meta.url), 'utf8')).version as string
const script = new URL('./fixtures/compare-case.js', import.meta.url).pathname

interface Outcome { pass: boolean, detail: string, ms: number }

async function runCase (impl: string, id: string): Promise<Outcome> {
  const start = Date.now()
  const env = { ...process.env }
  delete env.DEBUG
  const child = spawn(process.execPath, ['--expose-gc', script, impl, id], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let stdout = ''
  let stderr = ''
  let hung = false
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timer = setTimeout(() => { hung = true; child.kill('SIGKILL') }, Number(values.timeout) * 1000)
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  clearTimeout(timer)
  const ms = Date.now() - start
  const line = stdout.trim().split('\n').reverse().find(l => l.startsWith('{'))

  if (line != null) {
    const result = JSON.parse(line) as { pass: boolean, detail: string }
    return { ...result, ms }
  }

  if (hung) {
    return { pass: false, detail: `hung: killed after ${values.timeout} s`, ms }
  }

  const error = stderr.split('\n').find(l => /Error|error:/.test(l))?.trim() ?? `exit code ${String(code)}`
  return { pass: false, detail: `process crashed (exit ${String(code)}): ${error}`, ms }
}

const only = values.only?.split(',')
const results: Array<{ id: string, name: string, ours: Outcome, reference: Outcome }> = []

for (const [id, name] of CASES) {
  if (only != null && !only.includes(id)) { continue }
  const ours = await runCase('ours', id)
  const reference = await runCase('reference', id)
  results.push({ id, name, ours, reference })
  process.stderr.write(`${id.padEnd(3)} ours ${ours.pass ? 'pass' : 'FAIL'} (${ours.detail}) | reference ${reference.pass ? 'pass' : 'FAIL'} (${reference.detail})\n`)
}

const mark = (o: Outcome): string => o.pass ? '✅ pass' : '❌ fail'
const cell = (text: string): string => text.replace(/\|/g, '\\|').slice(0, 110)
const lines = [
  `| # | case | tolerant-ws | @libp2p/websockets ${version} | reference failure |`,
  '| --- | --- | --- | --- | --- |',
  ...results.map(r => `| ${r.id} | ${r.name} | ${mark(r.ours)} | ${mark(r.reference)} | ${r.reference.pass ? '' : cell(r.reference.detail)} |`)
]
const oursPassed = results.filter(r => r.ours.pass).length
const referencePassed = results.filter(r => r.reference.pass).length
process.stdout.write(`\n${lines.join('\n')}\n\ntolerant-ws passes ${oursPassed}/${results.length}; @libp2p/websockets ${version} passes ${referencePassed}/${results.length} (Node ${process.version}, ${new Date().toISOString().slice(0, 10)})\n`)

for (const r of results.filter(r => !r.ours.pass)) {
  process.stdout.write(`tolerant-ws failed ${r.id}: ${r.ours.detail}\n`)
}

if (values.json != null) {
  writeFileSync(values.json, JSON.stringify({ node: process.version, reference: version, results }, null, 2))
}

// the closing line CI counts: tolerant-ws's own results
process.stdout.write(`robustness-compare: ${oursPassed} passed, ${results.length - oursPassed} failed\n`)
process.exitCode = oursPassed === results.length ? 0 : 1
