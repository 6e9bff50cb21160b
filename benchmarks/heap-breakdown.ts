/* eslint-disable no-console */
/**
 * Where a listener's heap per idle connection goes. The listener runs in
 * this process below libp2p's upgrader (pass-through, as in the memory
 * scenario); a child process opens the idle `ws` clients. A heap snapshot is
 * taken before and after they connect, and the difference is grouped by V8
 * node type and constructor.
 *
 * npm run bench:heap -- [tolerant-ws|@libp2p/websockets|ws] [connections]
 */
import { fork } from 'node:child_process'
import { getHeapSnapshot } from 'node:v8'
import { multiaddrToUri } from '@multiformats/multiaddr-to-uri'
import { WebSocket } from 'ws'
import { rawImpl } from './impls.js'
import type { ImplName } from './impls.js'

interface Category { count: number, bytes: number }

const HEAP_IMPLS: ImplName[] = ['tolerant-ws', '@libp2p/websockets', 'ws']

function gc (): void {
  const collect = (globalThis as any).gc

  if (typeof collect !== 'function') {
    throw new Error('run with --expose-gc')
  }

  collect()
  collect()
}

/** Self size and count of every heap object, by type and constructor */
async function snapshot (): Promise<Map<string, Category>> {
  gc()
  let json = ''

  for await (const chunk of getHeapSnapshot()) {
    json += String(chunk)
  }

  const snap = JSON.parse(json)
  const { node_fields: fields, node_types: nodeTypes } = snap.snapshot.meta
  const types: string[] = nodeTypes[0]
  const stride: number = fields.length
  const nodes: number[] = snap.nodes
  const strings: string[] = snap.strings
  const out = new Map<string, Category>()

  for (let i = 0; i < nodes.length; i += stride) {
    const type = types[nodes[i]]
    // names of strings, numbers and code are their contents: group them by type
    const key = ['object', 'closure', 'native', 'hidden', 'array'].includes(type)
      ? `${type} ${strings[nodes[i + 1]].slice(0, 60)}`
      : type
    const c = out.get(key) ?? { count: 0, bytes: 0 }
    c.count++
    c.bytes += nodes[i + 3]
    out.set(key, c)
  }

  return out
}

async function openClients (url: string, n: number): Promise<WebSocket[]> {
  return Promise.all(Array.from({ length: n }, async () => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    ws.once('open', () => { resolve(ws) })
    ws.once('error', reject)
  })))
}

async function main (): Promise<void> {
  if (process.argv[2] === '--client') {
    const clients = await openClients(process.argv[3], Number(process.argv[4]))
    process.send?.('open')
    // stay connected until the listener is done measuring
    process.once('disconnect', () => { clients.forEach(ws => { ws.terminate() }) })
    return
  }

  const impl = (process.argv[2] ?? 'tolerant-ws') as ImplName
  const n = Number(process.argv[3] ?? 1000)

  if (!HEAP_IMPLS.includes(impl) || !(n > 0)) {
    throw new Error(`usage: heap-breakdown [${HEAP_IMPLS.join('|')}] [connections]`)
  }

  let accepted = 0
  const server = await rawImpl(impl).listen(() => { accepted++ })
  const url = server.addr.startsWith('/') ? multiaddrToUri(server.addr) : server.addr
  const before = await snapshot()
  gc()
  const heapBefore = process.memoryUsage().heapUsed

  const child = fork(new URL(import.meta.url).pathname, ['--client', url, String(n)])
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => { resolve() })
    child.once('exit', code => { reject(new Error(`client exited with ${code}`)) })
  })

  gc()
  const heapAfter = process.memoryUsage().heapUsed
  const after = await snapshot()
  child.disconnect()

  const rows = [...after].map(([key, a]) => {
    const b = before.get(key) ?? { count: 0, bytes: 0 }
    return { key, count: (a.count - b.count) / n, bytes: (a.bytes - b.bytes) / n }
  }).filter(r => r.bytes !== 0)
  // compiled code is per process, not per connection; native objects live outside the JS heap
  const total = rows.filter(r => r.key !== 'code' && !r.key.startsWith('native ')).reduce((sum, r) => sum + r.bytes, 0)

  console.log(`${impl}: ${accepted} idle inbound connections`)
  console.log(`heapUsed difference: ${((heapAfter - heapBefore) / n).toFixed(0)} B per connection`)
  console.log(`snapshot difference (JS heap objects, without compiled code): ${total.toFixed(0)} B per connection\n`)
  console.log('B/conn  objects/conn  type constructor')

  for (const r of rows.sort((x, y) => y.bytes - x.bytes).slice(0, 30)) {
    console.log(`${r.bytes.toFixed(0).padStart(6)}  ${r.count.toFixed(2).padStart(12)}  ${r.key}`)
  }

  await server.close()
}

main().catch(err => {
  console.error(err)
  process.exitCode = 1
})
