#!/usr/bin/env node
/**
 * The `tolerant-ws` executable: runs {@link main} and exits with its code.
 * Errors are one line on stderr, never a stack trace.
 */
import { EXIT_FAILURE } from './args.js'
import { main } from './index.js'

function oneLine (text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}

// a stray error deep in a dependency must not print a stack trace at the user
process.on('uncaughtException', (err) => {
  process.stderr.write(`tolerant-ws: unexpected ${err.name}: ${oneLine(err.message)}\n`)
  process.exit(EXIT_FAILURE)
})
process.on('unhandledRejection', (reason: any) => {
  process.stderr.write(`tolerant-ws: warning: ${oneLine(String(reason?.message ?? reason))}\n`)
})
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // the reader went away (e.g. `| head`): stop quietly
  if (err.code === 'EPIPE') {
    process.exit(0)
  }
})

// stdout and stderr are synchronous for files, pipes and terminals on Linux
// and macOS, so nothing printed is lost; exiting also ends any timer a
// dependency left behind
process.exit(await main(process.argv.slice(2)))
