/**
 * What `tolerant-ws node` reports, and how: one JSON object per line with
 * `--json`, one human-readable line otherwise. Pure formatting, tested on its
 * own; the demo reads the JSON form.
 */

/** Something that happened on a node; `ms` is added when it is reported */
export type NodeEvent =
  | { event: 'starting', peerId: string, topics: string[], listen: string[], bootstrap: string[] }
  | { event: 'subscribed', topic: string, listening: boolean }
  | { event: 'listening', addrs: string[], subscribedBeforeBind: boolean }
  | { event: 'announce', topic: string, seq: number, addrs: string[] }
  | { event: 'connected', peerId: string, remoteAddr: string, direction: 'inbound' | 'outbound' }
  | { event: 'disconnected', peerId: string, remoteAddr: string }
  | { event: 'peer', peerId: string, addrs: string[], again: boolean }
  | { event: 'ping', peerId: string, rttMs: number }
  | { event: 'ping-failed', peerId: string, error: string }
  | { event: 'stopped', reason: string }

/** A reported event: the event plus milliseconds since the node's start */
export type TimedNodeEvent = NodeEvent & { ms: number }

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
  }
}

/** Writes events as JSON lines or human lines, stamped with ms since `startedAt` */
export class EventPrinter {
  private readonly json: boolean
  private readonly write: (line: string) => void
  private readonly startedAt: number

  constructor (json: boolean, write: (line: string) => void, startedAt: number = performance.now()) {
    this.json = json
    this.write = write
    this.startedAt = startedAt
  }

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
