/**
 * Child processes for the CLI and example tests: the `tolerant-ws` binary or
 * an example script, run with this Node, its output collected line by line.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseEventLine } from '../../src/cli/events.js'
import type { TimedNodeEvent } from '../../src/cli/events.js'
import type { ChildProcess } from 'node:child_process'

/** `dist/src/cli/bin.js` */
export const CLI = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url))

/** `dist/examples/<name>` */
export function example (name: string): string {
  return fileURLToPath(new URL(`../../examples/${name}`, import.meta.url))
}

/** the environment without variables that would change what the examples do */
function cleanEnv (): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const name of ['PROXY_URL', 'TLS_CERT', 'TLS_KEY', 'TLS_CA', 'DEBUG']) {
    delete env[name]
  }
  return env
}

export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string[]
  stderr: string[]
  ms: number
}

/** A running child; every line of output is kept */
export class Child {
  readonly process: ChildProcess
  readonly stdout: string[] = []
  readonly stderr: string[] = []
  readonly events: TimedNodeEvent[] = []
  readonly finished: Promise<Finished>
  private readonly waiters: Array<() => void> = []

  constructor (script: string, args: string[]) {
    const started = performance.now()
    this.process = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() })

    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      this.stdout.push(line)
      const event = parseEventLine(line)
      if (event != null) {
        this.events.push(event)
      }
      this.notify()
    })
    createInterface({ input: this.process.stderr! }).on('line', (line) => {
      this.stderr.push(line)
      this.notify()
    })

    // 'close' (not 'exit'): stdio pipes are closed too, so no handle is left behind
    this.finished = new Promise(resolve => {
      this.process.once('close', (code, signal) => {
        this.notify()
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr, ms: performance.now() - started })
      })
    })
  }

  private notify (): void {
    for (const waiter of this.waiters.splice(0)) {
      waiter()
    }
  }

  /** resolves with the first event matching `match`; rejects after `timeoutMs` or when the child ends first */
  async waitForEvent (match: (e: TimedNodeEvent) => boolean, timeoutMs = 20_000): Promise<TimedNodeEvent> {
    const deadline = Date.now() + timeoutMs

    for (;;) {
      const found = this.events.find(match)
      if (found != null) {
        return found
      }
      if (this.process.exitCode != null || this.process.signalCode != null) {
        throw new Error(`the process ended without the event; stderr: ${this.stderr.join(' | ')}`)
      }
      const left = deadline - Date.now()
      if (left <= 0) {
        throw new Error(`no matching event within ${timeoutMs} ms; events: ${this.events.map(e => e.event).join(', ')}; stderr: ${this.stderr.join(' | ')}`)
      }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process and its pipes closed */
  async stop (graceMs = 5000): Promise<Finished> {
    if (this.process.exitCode == null && this.process.signalCode == null) {
      this.process.kill('SIGTERM')
      const timer = setTimeout(() => { this.process.kill('SIGKILL') }, graceMs)
      const finished = await this.finished
      clearTimeout(timer)
      return finished
    }
    return this.finished
  }
}

/** runs a script to the end; kills it after `timeoutMs` */
export async function run (script: string, args: string[], timeoutMs: number): Promise<Finished> {
  const child = new Child(script, args)
  const timer = setTimeout(() => { child.process.kill('SIGKILL') }, timeoutMs)
  const finished = await child.finished
  clearTimeout(timer)
  return finished
}

/** runs the `tolerant-ws` binary to the end */
export async function runCli (args: string[], timeoutMs = 30_000): Promise<Finished> {
  return run(CLI, args, timeoutMs)
}

/** a stack trace line, which the CLI must never print */
export const STACK_FRAME = /^\s+at .+[(:]\d+/
