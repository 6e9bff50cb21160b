/**
 * Certificate files named on the command line, read once, turned into the
 * transport's `https` (listening) and `websocket` (dialing) options.
 */
import { readFile } from 'node:fs/promises'
import type { WebSocketsInit } from '../transport/options.js'

/**
 * A failure while running a command (unreadable file, bind or dial failed).
 * The CLI prints its message on one line and exits with 1.
 */
export class CommandError extends Error {
  static name = 'CommandError'

  constructor (message: string) {
    super(message)
    this.name = 'CommandError'
  }
}

/** The TLS-related flags of a command */
export interface TlsFlags {
  /** `--cert`: PEM certificate to listen with */
  certFile?: string
  /** `--key`: PEM key to listen with */
  keyFile?: string
  /** `--ca`: PEM CA to trust when dialing */
  caFile?: string
  /** `--insecure`: accept any certificate when dialing */
  insecure: boolean
}

async function readPem (flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err: any) {
    throw new CommandError(`cannot read ${flag} ${file}: ${err.code === 'ENOENT' ? 'no such file' : String(err.message)}`)
  }
}

/**
 * Transport options for the TLS flags: `https` when there is a certificate
 * to listen with, `websocket` when dials must trust a CA or any certificate.
 *
 * @throws {CommandError} when a file cannot be read
 */
export async function tlsOptions (flags: TlsFlags): Promise<Pick<WebSocketsInit, 'https' | 'websocket'>> {
  const init: Pick<WebSocketsInit, 'https' | 'websocket'> = {}

  if (flags.certFile != null && flags.keyFile != null) {
    init.https = {
      cert: await readPem('--cert', flags.certFile),
      key: await readPem('--key', flags.keyFile)
    }
  }

  if (flags.insecure) {
    init.websocket = { rejectUnauthorized: false }
  } else if (flags.caFile != null) {
    init.websocket = { ca: await readPem('--ca', flags.caFile) }
  }

  return init
}
