/**
 * @packageDocumentation
 *
 * The `tolerant-ws` command line: `tolerant-ws node` runs one node and
 * prints what it discovers and pings; `tolerant-ws dial <multiaddr>` dials
 * and pings once. Every error is one line on stderr and a non-zero exit
 * code, never a stack trace: 2 for a bad command line, 1 for a failure while
 * running.
 */
import { readFileSync } from 'node:fs'
import { EXIT_FAILURE, EXIT_USAGE, UsageError, parseCommandLine } from './args.js'
import { DIAL_HELP, MAIN_HELP, NODE_HELP } from './help.js'
import type { Command } from './args.js'

/** Exit code after Ctrl-C twice */
const EXIT_INTERRUPTED = 130

function fail (message: string, code: number): number {
  process.stderr.write(`tolerant-ws: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
  return code
}

/** The help for one command, or the main help */
function helpText (topic?: 'node' | 'dial'): string {
  if (topic === 'node') {
    return NODE_HELP
  }

  if (topic === 'dial') {
    return DIAL_HELP
  }

  return MAIN_HELP
}

function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))
  return `tolerant-ws ${String(pkg.version)} (node ${process.version})`
}

/**
 * Run one command line and return the exit code. The `tolerant-ws`
 * binary (`bin.ts`) calls it with `process.argv.slice(2)`.
 */
export async function main (argv: string[]): Promise<number> {
  let command: Command

  try {
    command = parseCommandLine(argv)
  } catch (err: any) {
    if (err instanceof UsageError) {
      const hint = err.command != null ? ` (see: tolerant-ws ${err.command} --help)` : ' (see: tolerant-ws --help)'
      return fail(`${err.message}${hint}`, EXIT_USAGE)
    }
    throw err
  }

  if (command.command === 'help') {
    process.stdout.write(helpText(command.topic))
    return 0
  }

  if (command.command === 'version') {
    process.stdout.write(`${version()}\n`)
    return 0
  }

  // libp2p 3 needs Promise.withResolvers (Node >= 22); say so instead of crashing inside it
  if (typeof (Promise as any).withResolvers !== 'function') {
    return fail(`Node.js ${process.version} is too old: libp2p 3 needs Node.js 22 or later (in this repository, run it with npx)`, EXIT_FAILURE)
  }

  const controller = new AbortController()
  const writeLine = (line: string): void => { process.stdout.write(`${line}\n`) }
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.exit(EXIT_INTERRUPTED)
    }
    controller.abort(signal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  try {
    if (command.command === 'node') {
      const { runNodeCommand } = await import('./node-command.js')
      const { EventPrinter } = await import('./events.js')
      const printer = new EventPrinter(command.options.json, writeLine)
      await runNodeCommand(command.options, (e) => { printer.print(e) }, controller.signal)
    } else {
      const { runDialCommand } = await import('./dial-command.js')
      await runDialCommand(command.options, writeLine, controller.signal)
    }

    return 0
  } catch (err: any) {
    return fail(err?.name === 'CommandError' ? err.message : `${String(err?.name ?? 'Error')}: ${String(err?.message ?? err)}`, EXIT_FAILURE)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
