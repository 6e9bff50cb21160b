/**
 * What `tolerant-ws node` reports, and how: one JSON object per line with
 * `--json`, one human-readable line otherwise. Pure formatting, tested on its
 * own; the demo reads the JSON form.
 */

/** The node was created: its identity and configuration */
export interface StartingEvent {
  /** Always `'starting'` */
  event: 'starting'
  /** Our peer id */
  peerId: string
  /** Discovery topics */
  topics: string[]
  /** `--listen` addresses as given */
  listen: string[]
  /** `--bootstrap` addresses as given */
  bootstrap: string[]
}

/** Discovery subscribed to one of its topics */
export interface SubscribedEvent {
  /** Always `'subscribed'` */
  event: 'subscribed'
  /** The topic subscribed to */
  topic: string
  /** Whether a listener was bound already (false shows the #2902 race) */
  listening: boolean
}

/** A listener is bound */
export interface ListeningEvent {
  /** Always `'listening'` */
  event: 'listening'
  /** Its addresses, each ending in `/p2p/<our peer id>` */
  addrs: string[]
  /** Whether discovery had subscribed before this bind */
  subscribedBeforeBind: boolean
}

/** Discovery published our record */
export interface AnnounceEvent {
  /** Always `'announce'` */
  event: 'announce'
  /** The topic published to */
  topic: string
  /** 1 for the first record on this topic, then 2, 3, … */
  seq: number
  /** The addresses inside the record, decoded from the bytes published */
  addrs: string[]
}

/** A connection opened */
export interface ConnectedEvent {
  /** Always `'connected'` */
  event: 'connected'
  /** The remote peer */
  peerId: string
  /** The remote address of the connection */
  remoteAddr: string
  /** `inbound`: the remote dialled us; `outbound`: we dialled */
  direction: 'inbound' | 'outbound'
}

/** A connection closed */
export interface DisconnectedEvent {
  /** Always `'disconnected'` */
  event: 'disconnected'
  /** The remote peer */
  peerId: string
  /** The remote address of the connection */
  remoteAddr: string
}

/** Discovery emitted a peer */
export interface PeerEvent {
  /** Always `'peer'` */
  event: 'peer'
  /** The discovered peer */
  peerId: string
  /** The addresses from its record */
  addrs: string[]
  /** Whether this peer was discovered before (its record changed or was repeated) */
  again: boolean
}

/** A ping answered */
export interface PingEvent {
  /** Always `'ping'` */
  event: 'ping'
  /** The peer pinged */
  peerId: string
  /** Round trip, ms */
  rttMs: number
}

/** A ping failed */
export interface PingFailedEvent {
  /** Always `'ping-failed'` */
  event: 'ping-failed'
  /** The peer pinged */
  peerId: string
  /** The error, on one line */
  error: string
}

/** The node stopped */
export interface StoppedEvent {
  /** Always `'stopped'` */
  event: 'stopped'
  /** `SIGINT`, `SIGTERM` or `--duration …s elapsed` */
  reason: string
}

/** Something that happened on a node; `ms` is added when it is reported */
export type NodeEvent =
  | StartingEvent
  | SubscribedEvent
  | ListeningEvent
  | AnnounceEvent
  | ConnectedEvent
  | DisconnectedEvent
  | PeerEvent
  | PingEvent
  | PingFailedEvent
  | StoppedEvent

/** A reported event: the event plus `ms`, milliseconds since the node's start */
export type TimedNodeEvent = NodeEvent & {
  /** Milliseconds since the node's start */
  ms: number
}

/** `12D3KooWAbCd…uvwxyz`: enough to tell peers apart on one screen */
export function shortPeerId (peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 8)}…${peerId.slice(-6)}` : peerId
}

/** `[  1.234s]` */
export function stamp (ms: number): string {
  return `[${(ms / 1000).toFixed(3).padStart(8)}s]`
}

/** One human-readable line for an event, without the time stamp */
export function describeEvent (e: NodeEvent): string {
  switch (e.event) {
    case 'starting':
      return `peer id ${e.peerId}; discovery topics ${e.topics.join(', ')}`
    case 'subscribed':
      return `discovery subscribed to ${e.topic}${e.listening ? '' : ' (no listener bound yet)'}`
    case 'listening':
      return `listening on ${e.addrs.join(', ')}${e.subscribedBeforeBind ? ' (discovery was already running)' : ''}`
    case 'announce':
      return `announced #${e.seq} on ${e.topic}: ${e.addrs.length === 0 ? 'no address' : e.addrs.join(', ')}`
    case 'connected':
      return `connected ${e.direction === 'inbound' ? '←' : '→'} ${shortPeerId(e.peerId)} ${e.remoteAddr}`
    case 'disconnected':
      return `disconnected ${shortPeerId(e.peerId)} ${e.remoteAddr}`
    case 'peer':
      return `discovered${e.again ? ' again' : ''} ${e.peerId} at ${e.addrs.join(', ')}`
    case 'ping':
      return `ping ${shortPeerId(e.peerId)} ${e.rttMs.toFixed(1)} ms`
    case 'ping-failed':
      return `ping ${shortPeerId(e.peerId)} failed: ${e.error}`
    case 'stopped':
      return `stopped (${e.reason})`
    default:
      // unreachable: every NodeEvent has a case above
      return noDescription(e)
  }
}

/**
 * A NodeEvent without a case in `describeEvent` fails to compile here; at run
 * time an unknown event has no description (`undefined`), as it always had.
 */
function noDescription (e: never): string {
  return undefined as unknown as string
}

/** Writes events as JSON lines or human lines, stamped with ms since `startedAt` */
export class EventPrinter {
  private readonly json: boolean
  private readonly write: (line: string) => void
  private readonly startedAt: number

  /**
   * @param json - JSON lines instead of human lines
   * @param write - writes one line (without its newline)
   * @param startedAt - `performance.now()` at the node's start
   */
  constructor (json: boolean, write: (line: string) => void, startedAt: number = performance.now()) {
    this.json = json
    this.write = write
    this.startedAt = startedAt
  }

  /** Writes one event */
  print (e: NodeEvent): void {
    const ms = Math.round(performance.now() - this.startedAt)
    this.write(this.json ? JSON.stringify({ ...e, ms }) : `${stamp(ms)} ${describeEvent(e)}`)
  }
}

/**
 * Parse one line of `tolerant-ws node --json`; `undefined` for a line that
 * is not an event.
 */
export function parseEventLine (line: string): TimedNodeEvent | undefined {
  try {
    const value = JSON.parse(line)
    return typeof value?.event === 'string' && typeof value.ms === 'number' ? value : undefined
  } catch {
    // not JSON: some other output on the line
    return undefined
  }
}
