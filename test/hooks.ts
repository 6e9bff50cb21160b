/**
 * Root hooks: the run fails on an uncaught exception, an unhandled rejection,
 * a MaxListenersExceededWarning, or sockets/servers left open after a file.
 */
import type { Context } from 'mocha'

const problems: string[] = []

function onUncaught (err: Error): void {
  problems.push(`uncaughtException: ${err.stack ?? err.message}`)
}

function onUnhandled (reason: unknown): void {
  problems.push(`unhandledRejection: ${(reason as Error)?.stack ?? String(reason)}`)
}

function onWarning (warning: Error): void {
  if (warning.name === 'MaxListenersExceededWarning') {
    problems.push(`MaxListenersExceededWarning: ${warning.message}`)
  }
}

/** Handle types that mean a leaked socket or server */
const NETWORK_HANDLES = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TLSWrap', 'PipeWrap'])

function networkHandles (): number {
  return process.getActiveResourcesInfo().filter(type => NETWORK_HANDLES.has(type)).length
}

let baseline = 0
let currentFile: string | undefined
let fileBaseline = 0

async function settled (expected: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms
  let count = networkHandles()

  while (count > expected && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 50))
    count = networkHandles()
  }

  return count
}

export const mochaHooks = {
  beforeAll (): void {
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUnhandled)
    process.on('warning', onWarning)
    baseline = networkHandles()
  },

  async beforeEach (this: Context): Promise<void> {
    const file = this.currentTest?.file

    if (file !== currentFile) {
      if (currentFile != null) {
        const count = await settled(fileBaseline, 3000)

        if (count > fileBaseline) {
          problems.push(`${count - fileBaseline} socket/server handle(s) left open after ${currentFile}: ${process.getActiveResourcesInfo().join(', ')}`)
        }
      }

      currentFile = file
      fileBaseline = networkHandles()
    }
  },

  afterEach (): void {
    if (problems.length > 0) {
      const found = problems.splice(0, problems.length)
      throw new Error(`The process reported problems during this test:\n${found.join('\n')}`)
    }
  },

  async afterAll (): Promise<void> {
    process.removeListener('uncaughtException', onUncaught)
    process.removeListener('unhandledRejection', onUnhandled)
    process.removeListener('warning', onWarning)

    const count = await settled(baseline, 3000)

    if (count > baseline) {
      problems.push(`${count - baseline} socket/server handle(s) left open at the end of the run: ${process.getActiveResourcesInfo().join(', ')}`)
    }

    if (problems.length > 0) {
      throw new Error(problems.join('\n'))
    }
  }
}
