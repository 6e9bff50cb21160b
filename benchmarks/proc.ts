/**
 * Child processes for the benchmark: every listener and dialer is its own
 * Node.js process (same binary as the runner), driven over the IPC channel
 * with a tiny request/response protocol.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

interface Request { id: number, cmd: string, args: unknown }

/** No single request to a child may take longer than this */
const CALL_TIMEOUT_MS = 5 * 60_000
interface Response { id: number, ok: boolean, result?: unknown, error?: string }
interface Notice { event: string, data: unknown }

export interface PeerOptions {
  /** extra environment (e.g. `WS_NO_BUFFER_UTIL=1`) */
  env?: Record<string, string>
  /** extra node flags (e.g. `--cpu-prof`) */
  execArgv?: string[]
  args?: string[]
}

export class Peer {
  readonly child: ChildProcess
  private nextId = 1
  private readonly pending = new Map<number, { resolve(v: any): void, reject(e: Error): void }>()
  private readonly listeners = new Map<string, Array<(data: any) => void>>()
  private exited = false
  readonly exitedPromise: Promise<void>

  constructor (child: ChildProcess) {
    this.child = child
    this.exitedPromise = new Promise(resolve => {
      child.once('exit', (code, signal) => {
        this.exited = true
        for (const p of this.pending.values()) {
          p.reject(new Error(`peer ${child.pid ?? '?'} exited (${code ?? signal ?? '?'})`))
        }
        this.pending.clear()
        resolve()
      })
    })
    child.on('message', (msg: Response | Notice) => {
      if ('event' in msg) {
        for (const l of this.listeners.get(msg.event) ?? []) {
          l(msg.data)
        }
        return
      }

      const p = this.pending.get(msg.id)
      if (p == null) {
        return
      }
      this.pending.delete(msg.id)
      if (msg.ok) {
        p.resolve(msg.result)
      } else {
        p.reject(new Error(msg.error))
      }
    })
  }

  /** Rejects after `timeoutMs` so that no scenario can hang the run */
  async call<T = any>(cmd: string, args: unknown = {}, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    if (this.exited) {
      throw new Error(`peer ${this.child.pid ?? '?'} has exited`)
    }

    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${cmd} did not answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v) },
        reject: (e) => { clearTimeout(timer); reject(e) }
      })
      this.child.send({ id, cmd, args } satisfies Request)
    })
  }

  on (event: string, listener: (data: any) => void): void {
    const list = this.listeners.get(event) ?? []
    list.push(listener)
    this.listeners.set(event, list)
  }

  /** asks the peer to exit, kills it after `graceMs` */
  async stop (graceMs = 3000): Promise<void> {
    if (this.exited) {
      return
    }

    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, graceMs)
    try {
      this.child.send({ id: 0, cmd: 'exit', args: {} })
    } catch {
      // best effort: the channel may already be closed; the timer kills it
    }
    await this.exitedPromise
    clearTimeout(timer)
  }
}

/** Forks `script` (a file next to this one in dist/benchmarks) and waits for it to be ready */
export async function spawnPeer (script: string, options: PeerOptions = {}): Promise<Peer> {
  const child = fork(new URL(script, import.meta.url), options.args ?? [], {
    execArgv: ['--expose-gc', ...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced'
  })
  const peer = new Peer(child)

  await new Promise<void>((resolve, reject) => {
    peer.on('ready', () => { resolve() })
    peer.exitedPromise.then(() => { reject(new Error(`${script} exited before it was ready`)) }, reject)
  })

  return peer
}

type Handler = (args: any) => unknown

/** Child side: answers requests with `handlers`, exits on `exit` or when the parent goes */
export function serve (handlers: Record<string, Handler>, onExit?: () => Promise<void>): void {
  const send = (msg: Response | Notice): void => {
    if (process.connected) {
      process.send?.(msg)
    }
  }
  const exit = async (): Promise<void> => {
    try {
      await onExit?.()
    } catch {
      // best effort: the process ends anyway
    }
    process.exit(0)
  }

  process.on('message', (msg: Request) => {
    if (msg.cmd === 'exit') {
      void exit()
      return
    }

    const handler = handlers[msg.cmd]
    Promise.resolve()
      .then(async () => {
        if (handler == null) {
          throw new Error(`unknown command ${msg.cmd}`)
        }
        return handler(msg.args)
      })
      .then(
        (result) => { send({ id: msg.id, ok: true, result }) },
        (err: Error) => { send({ id: msg.id, ok: false, error: `${err.name}: ${err.message}` }) }
      )
  })
  process.on('disconnect', () => { void exit() })
  send({ event: 'ready', data: null })
}

/** Child side: a notice to the runner */
export function notify (event: string, data: unknown): void {
  if (process.connected) {
    process.send?.({ event, data })
  }
}

/** gc (needs --expose-gc) then memory figures */
export async function memorySnapshot (): Promise<{ heapUsed: number, rss: number, external: number, arrayBuffers: number, maxRSS: number }> {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.()
    await new Promise(resolve => setImmediate(resolve))
  }
  const m = process.memoryUsage()

  return {
    heapUsed: m.heapUsed,
    rss: m.rss,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    maxRSS: process.resourceUsage().maxRSS * 1024
  }
}
