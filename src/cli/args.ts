/**
 * Command-line parsing for `tolerant-ws`, with `util.parseArgs` and no other
 * dependency. Pure: it reads no file and opens no socket, so every error a
 * user can make with flags is tested on its own. Every problem becomes one
 * {@link UsageError} with a one-line message.
 */
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { TOPIC } from '../discovery/options.js'
import { isWebSocketsAddr } from '../transport/address.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A mistake in the command line: unknown command or flag, missing or
 * malformed value. The CLI prints its message on one line and exits with
 * {@link EXIT_USAGE}.
 */
export class UsageError extends Error {
  static name = 'UsageError'

  /** The command whose `--help` explains the fix, if any */
  readonly command?: string

  constructor (message: string, command?: string) {
    super(message)
    this.name = 'UsageError'
    this.command = command
  }
}

/** Exit code for a bad command line */
export const EXIT_USAGE = 2

/** Exit code for a failure while running (bind failed, dial failed, …) */
export const EXIT_FAILURE = 1

/** The address `tolerant-ws node` listens on without `--listen` */
export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/0/ws'

/** Options of `tolerant-ws node` after parsing */
export interface NodeCommandOptions {
  /** Addresses to listen on; WebSocket addresses only */
  listen: Multiaddr[]
  /** Peers to connect to at start, each with `/p2p/<peer id>` */
  bootstrap: Multiaddr[]
  /** Discovery topics */
  topics: string[]
  /** Announcement interval of the discovery, ms */
  intervalMs: number
  /** Ping every discovered peer this often, ms; 0 pings each once, on discovery */
  pingIntervalMs: number
  /** Stop after this many ms; undefined runs until SIGINT/SIGTERM */
  durationMs?: number
  /** Delay the listeners' bind by this many ms (shows discovery handling the start-up race) */
  bindDelayMs: number
  /** PEM certificate file for `/tls/ws` and `/wss` listeners */
  certFile?: string
  /** PEM key file for `/tls/ws` and `/wss` listeners */
  keyFile?: string
  /** PEM file of a CA to trust when dialing `wss` */
  caFile?: string
  /** Accept any certificate when dialing `wss` */
  insecure: boolean
  /** Address ranges (`/ip4/…/ipcidr/…`) exempt from libp2p's inbound rate limits */
  allow: string[]
  /** Pubsub router */
  router: 'gossipsub' | 'floodsub'
  /** One JSON object per line instead of human-readable lines */
  json: boolean
}

/** Options of `tolerant-ws dial` after parsing */
export interface DialCommandOptions {
  /** The address to dial */
  target: Multiaddr
  /** Whole dial + ping budget, ms */
  timeoutMs: number
  /** PEM file of a CA to trust for `wss` */
  caFile?: string
  /** Accept any certificate for `wss` */
  insecure: boolean
  /** Print only the interop line */
  json: boolean
}

/** `--help`, `help <command>` or `<command> --help` */
export interface HelpCommand {
  /** Always `'help'` */
  command: 'help'
  /** The command whose help to show; the general help when absent */
  topic?: 'node' | 'dial'
}

/** `--version` */
export interface VersionCommand {
  /** Always `'version'` */
  command: 'version'
}

/** `tolerant-ws node …` */
export interface NodeCommand {
  /** Always `'node'` */
  command: 'node'
  /** Its parsed options */
  options: NodeCommandOptions
}

/** `tolerant-ws dial …` */
export interface DialCommand {
  /** Always `'dial'` */
  command: 'dial'
  /** Its parsed options */
  options: DialCommandOptions
}

/** A parsed command line */
export type Command = HelpCommand | VersionCommand | NodeCommand | DialCommand

const COMMANDS = ['node', 'dial', 'help']

/**
 * Parse `process.argv.slice(2)`.
 *
 * @throws {UsageError} for anything a user must fix
 */
export function parseCommandLine (argv: string[]): Command {
  const [first, ...rest] = argv

  if (first == null || first === '-h' || first === '--help') {
    return { command: 'help' }
  }

  if (first === '-v' || first === '--version') {
    return { command: 'version' }
  }

  if (first === 'help') {
    const topic = rest[0]
    if (topic == null) {
      return { command: 'help' }
    }
    if (topic === 'node' || topic === 'dial') {
      return { command: 'help', topic }
    }
    throw new UsageError(`no help for '${topic}'; commands are: node, dial`)
  }

  if (first === 'node') {
    return parseNode(rest)
  }

  if (first === 'dial') {
    return parseDial(rest)
  }

  if (first.startsWith('-')) {
    throw new UsageError(`expected a command before ${first}; commands are: ${COMMANDS.join(', ')}`)
  }

  throw new UsageError(`unknown command '${first}'; commands are: ${COMMANDS.join(', ')}`)
}

function parseNode (argv: string[]): Command {
  const { values } = parse('node', argv, {
    listen: { type: 'string', multiple: true },
    bootstrap: { type: 'string', multiple: true },
    topic: { type: 'string', multiple: true },
    interval: { type: 'string' },
    'ping-interval': { type: 'string' },
    duration: { type: 'string' },
    'bind-delay': { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    ca: { type: 'string' },
    insecure: { type: 'boolean' },
    allow: { type: 'string', multiple: true },
    router: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  }, false)

  if (values.help === true) {
    return { command: 'help', topic: 'node' }
  }

  const listen = (values.listen as string[] | undefined ?? [DEFAULT_LISTEN]).map(value => webSocketAddr('node', '--listen', value))
  const bootstrap = (values.bootstrap as string[] | undefined ?? []).map(value => {
    const ma = webSocketAddr('node', '--bootstrap', value)
    if (ma.getComponents().every(c => c.name !== 'p2p')) {
      throw new UsageError(`--bootstrap ${value} needs the peer id: …/p2p/<peer id>`, 'node')
    }
    return ma
  })
  const topics = values.topic as string[] | undefined ?? [TOPIC]

  if (topics.some(t => t.trim() === '')) {
    throw new UsageError('--topic must not be empty', 'node')
  }

  const certFile = values.cert as string | undefined
  const keyFile = values.key as string | undefined

  if ((certFile == null) !== (keyFile == null)) {
    throw new UsageError('--cert and --key go together', 'node')
  }

  const secure = listen.filter(ma => ma.getComponents().some(c => c.name === 'tls' || c.name === 'wss'))
  if (secure.length > 0 && certFile == null) {
    throw new UsageError(`--listen ${secure[0].toString()} needs --cert and --key`, 'node')
  }

  const router = values.router as string | undefined ?? 'gossipsub'
  if (router !== 'gossipsub' && router !== 'floodsub') {
    throw new UsageError(`--router must be gossipsub or floodsub, got '${router}'`, 'node')
  }

  const allow = (values.allow as string[] | undefined ?? []).map(value => {
    const ma = anyAddr('node', '--allow', value)
    if (ma.getComponents().every(c => c.name !== 'ipcidr')) {
      throw new UsageError(`--allow ${value} is not an address range, e.g. /ip4/127.0.0.1/ipcidr/32`, 'node')
    }
    return ma.toString()
  })

  const duration = values.duration as string | undefined

  return {
    command: 'node',
    options: {
      listen,
      bootstrap,
      topics,
      intervalMs: seconds('node', '--interval', values.interval as string | undefined, 10, 0.001),
      pingIntervalMs: seconds('node', '--ping-interval', values['ping-interval'] as string | undefined, 10, 0),
      durationMs: duration == null ? undefined : seconds('node', '--duration', duration, 0, 0.001),
      bindDelayMs: seconds('node', '--bind-delay', values['bind-delay'] as string | undefined, 0, 0),
      certFile,
      keyFile,
      caFile: values.ca as string | undefined,
      insecure: values.insecure === true,
      allow,
      router,
      json: values.json === true
    }
  }
}

function parseDial (argv: string[]): Command {
  const { values, positionals } = parse('dial', argv, {
    timeout: { type: 'string' },
    ca: { type: 'string' },
    insecure: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  }, true)

  if (values.help === true) {
    return { command: 'help', topic: 'dial' }
  }

  if (positionals.length === 0) {
    throw new UsageError('dial needs a multiaddr, e.g. tolerant-ws dial /ip4/127.0.0.1/tcp/4001/ws/p2p/12D3Koo…', 'dial')
  }

  if (positionals.length > 1) {
    throw new UsageError(`dial takes one multiaddr, got ${positionals.length}`, 'dial')
  }

  return {
    command: 'dial',
    options: {
      target: webSocketAddr('dial', 'dial', positionals[0]),
      timeoutMs: seconds('dial', '--timeout', values.timeout as string | undefined, 30, 0.001),
      caFile: values.ca as string | undefined,
      insecure: values.insecure === true,
      json: values.json === true
    }
  }
}

type OptionSpec = Record<string, { type: 'string' | 'boolean', multiple?: boolean, short?: string }>

function parse (command: string, argv: string[], options: OptionSpec, allowPositionals: boolean): { values: Record<string, unknown>, positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals, strict: true })
    return { values, positionals }
  } catch (err: any) {
    throw new UsageError(describeParseError(err, command), command)
  }
}

/** `util.parseArgs` messages are long and mention `--` tricks; say what is wrong instead */
function describeParseError (err: Error & { code?: string }, command: string): string {
  const flag = /'(-[^']*)'/.exec(err.message)?.[1]

  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${flag ?? ''} for '${command}'`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument for '${command}': ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(err.message)
        ? `${flag?.split(',').pop()?.trim().split(' ')[0] ?? 'an option'} needs a value`
        : `${flag ?? 'an option'} takes no value`
    default:
      return err.message.split('\n')[0]
  }
}

function anyAddr (command: string, flag: string, value: string): Multiaddr {
  try {
    return multiaddr(value)
  } catch (err: any) {
    throw new UsageError(`${flag}: '${value}' is not a valid multiaddr (${String(err.message).split('\n')[0]})`, command)
  }
}

function webSocketAddr (command: string, flag: string, value: string): Multiaddr {
  const ma = anyAddr(command, flag, value)

  if (!isWebSocketsAddr(ma)) {
    throw new UsageError(`${flag}: ${value} is not a WebSocket address (…/tcp/<port>/ws, …/tls/ws or …/wss)`, command)
  }

  return ma
}

function number (command: string, flag: string, value: string, min: number): number {
  const n = Number(value)

  if (value.trim() === '' || !Number.isFinite(n) || n < min) {
    throw new UsageError(`${flag} must be a number of seconds ≥ ${min}, got '${value}'`, command)
  }

  return n
}

/** a value given in seconds, returned in ms */
function seconds (command: string, flag: string, value: string | undefined, defaultSeconds: number, min: number): number {
  return Math.round((value == null ? defaultSeconds : number(command, flag, value, min)) * 1000)
}
