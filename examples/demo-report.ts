/**
 * The demo's bookkeeping, apart from its processes: turns the JSON events of
 * `tolerant-ws node --json` into progress lines, knows when the swarm is
 * complete (every node discovered and pinged every other) and renders the
 * final summary. Pure, so it is tested without starting a node.
 */
import type { TimedNodeEvent } from '../src/cli/events.js'

/** What the demo learnt about one node */
export interface NodeState {
  /** `node-0`, `node-1`, … */
  name: string
  /** Known once the node reported `starting` */
  peerId?: string
  /** demo time (ms) when the process was spawned */
  spawnedAt: number
  /** node time (ms since its start) of the discovery's first subscription */
  subscribedMs?: number
  /** node time the listener was bound */
  boundMs?: number
  /** whether discovery had subscribed before the bind */
  subscribedBeforeBind?: boolean
  /** node time of the first connection to another node */
  connectedMs?: number
  /** listen addresses, without `/p2p/…` */
  addrs: string[]
  /** node time and addresses of the first announcement */
  firstAnnounce?: {
    /** node time */
    ms: number
    /** the record's addresses, without `/p2p/…` */
    addrs: string[]
  }
  /** Records announced */
  announces: number
  /** announcements that carried no address (the #2902 symptom; should stay 0) */
  emptyAnnounces: number
  /** peer id → node time of the first discovery */
  found: Map<string, number>
  /** peer id → ping round trips, ms */
  pings: Map<string, number[]>
  /** Pings that failed */
  pingFailures: number
  /** Node time it stopped */
  stoppedMs?: number
}

/** `/ip4/…/ws/p2p/12D3…` → `/ip4/…/ws` */
export function withoutPeerId (addr: string): string {
  const at = addr.indexOf('/p2p/')
  return at === -1 ? addr : addr.slice(0, at)
}

/** seconds with two decimals: `1.23 s` */
export function secs (ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}

function median (values: number[]): number | undefined {
  if (values.length === 0) {
    return undefined
  }
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** left-aligned columns separated by two spaces */
export function renderTable (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()
  return [line(header), line(widths.map(w => '─'.repeat(w))), ...rows.map(line)].join('\n')
}

/** One race check: whether it held, and what it says */
export interface RaceCheck {
  /** whether it held on every node */
  ok: boolean
  /** the line printed for it */
  text: string
}

/** The whole swarm, fed one event at a time */
export class SwarmState {
  /** every node, in spawn order */
  readonly nodes: NodeState[] = []

  /** registers a node about to be spawned at demo time `at` */
  add (name: string, at: number): NodeState {
    const node: NodeState = { name, spawnedAt: at, addrs: [], announces: 0, emptyAnnounces: 0, found: new Map(), pings: new Map(), pingFailures: 0 }
    this.nodes.push(node)
    return node
  }

  /** a node's name by peer id, or a short peer id for a stranger */
  nameOf (peerId: string): string {
    return this.nodes.find(n => n.peerId === peerId)?.name ?? `${peerId.slice(0, 8)}…${peerId.slice(-6)}`
  }

  /**
   * Records one event of node `index`. Returns the progress line to print,
   * or `undefined` for events not worth a line (repeated pings, connections).
   */
  // eslint-disable-next-line complexity -- one short case per event type; split up it would read worse
  apply (index: number, e: TimedNodeEvent): string | undefined {
    const node = this.nodes[index]

    switch (e.event) {
      case 'starting':
        node.peerId = e.peerId
        return `started, peer id ${e.peerId}`
      case 'subscribed':
        node.subscribedMs ??= e.ms
        return `discovery subscribed to ${e.topic} at ${secs(e.ms)}${e.listening ? '' : ' — listener not bound yet'}`
      case 'listening':
        node.boundMs ??= e.ms
        node.subscribedBeforeBind ??= e.subscribedBeforeBind
        node.addrs.push(...e.addrs.map(withoutPeerId))
        return `bound ${e.addrs.map(withoutPeerId).join(', ')} at ${secs(e.ms)}${e.subscribedBeforeBind ? ' (discovery was already running)' : ''}`
      case 'announce':
        node.announces++
        if (e.addrs.length === 0) {
          node.emptyAnnounces++
        }
        if (node.firstAnnounce == null) {
          node.firstAnnounce = { ms: e.ms, addrs: e.addrs.map(withoutPeerId) }
          const ready = this.readyMs(node)
          const after = ready != null ? `, ${secs(e.ms - ready)} after it had ${ready === node.boundMs ? 'an address' : 'a peer to tell'}` : ''
          return `announced its first record: ${e.addrs.length === 0 ? 'NO ADDRESS' : e.addrs.map(withoutPeerId).join(', ')}${after}`
        }
        return e.addrs.length === 0 ? `announced a record with NO ADDRESS (#${e.seq})` : undefined
      case 'connected':
        if (node.connectedMs == null) {
          node.connectedMs = e.ms
          return `connected ${e.direction === 'inbound' ? 'from' : 'to'} ${this.nameOf(e.peerId)} at ${secs(e.ms)}`
        }
        return undefined
      case 'peer': {
        const first = !node.found.has(e.peerId)
        if (first) {
          node.found.set(e.peerId, e.ms)
        }
        return first ? `found ${this.nameOf(e.peerId)} at ${e.addrs.map(withoutPeerId).join(', ')}, ${secs(e.ms)} after start` : undefined
      }
      case 'ping': {
        const rtts = node.pings.get(e.peerId) ?? []
        rtts.push(e.rttMs)
        node.pings.set(e.peerId, rtts)
        return rtts.length === 1 ? `pinged ${this.nameOf(e.peerId)}: ${e.rttMs.toFixed(0)} ms` : undefined
      }
      case 'ping-failed':
        node.pingFailures++
        return `ping ${this.nameOf(e.peerId)} failed: ${e.error}`
      case 'stopped':
        node.stoppedMs = e.ms
        return undefined
      default:
        return undefined
    }
  }

  /**
   * Node time from which a node could announce: it had an address (bound)
   * and someone to send the record to (connected). Discovery never
   * publishes to an empty topic, so the first node waits for the second.
   */
  readyMs (node: NodeState): number | undefined {
    return node.boundMs != null && node.connectedMs != null ? Math.max(node.boundMs, node.connectedMs) : undefined
  }

  /** every node found every other node through discovery and pinged it */
  complete (): boolean {
    return this.missing().length === 0
  }

  /** `node-1 has not found node-2`, … */
  missing (): string[] {
    const gaps: string[] = []

    for (const a of this.nodes) {
      for (const b of this.nodes) {
        if (a === b) {
          continue
        }
        if (a.peerId == null || b.peerId == null) {
          gaps.push(`${a.peerId == null ? a.name : b.name} has not started`)
        } else if (!a.found.has(b.peerId)) {
          gaps.push(`${a.name} has not found ${b.name}`)
        } else if (!a.pings.has(b.peerId)) {
          gaps.push(`${a.name} has not pinged ${b.name}`)
        }
      }
    }

    return [...new Set(gaps)]
  }

  /** The #2902 checks, one line each: true when the race was handled on every node */
  raceChecks (): RaceCheck[] {
    const n = this.nodes.length
    const before = this.nodes.filter(s => s.subscribedBeforeBind === true).length
    const empty = this.nodes.reduce((sum, s) => sum + s.emptyAnnounces, 0)
    const real = this.nodes.filter(s => s.firstAnnounce != null && s.firstAnnounce.addrs.length > 0 && s.firstAnnounce.addrs.every(a => s.addrs.includes(a))).length

    return [
      { ok: before === n, text: `discovery was running before the listener was bound on ${before}/${n} nodes` },
      { ok: empty === 0, text: `records announced without an address: ${empty}` },
      { ok: real === n, text: `first record carried the bound address on ${real}/${n} nodes` }
    ]
  }

  /** one line of totals, for progress while the swarm runs */
  totals (): string {
    const n = this.nodes.length
    const pairs = n * (n - 1)
    const found = this.nodes.reduce((sum, s) => sum + s.found.size, 0)
    const rtts = this.nodes.flatMap(s => [...s.pings.values()].flat())
    const med = median(rtts)
    return `${found}/${pairs} discoveries, ${rtts.length} pings${med != null ? ` (median ${med.toFixed(0)} ms)` : ''}, ${this.nodes.reduce((sum, s) => sum + s.pingFailures, 0)} failed`
  }

  /** per-node table */
  nodeTable (): string {
    const others = this.nodes.length - 1
    const rows = this.nodes.map(s => {
      const ids = this.nodes.filter(o => o !== s && o.peerId != null).map(o => o.peerId as string)
      const foundTimes = ids.map(id => s.found.get(id))
      const allFound = foundTimes.every(t => t != null) && foundTimes.length === others ? Math.max(...foundTimes as number[]) : undefined
      const rtts = [...s.pings.values()].flat()
      const med = median(rtts)
      const ready = this.readyMs(s)

      return [
        s.name,
        s.peerId != null ? `${s.peerId.slice(0, 8)}…${s.peerId.slice(-6)}` : '—',
        s.addrs[0] ?? '—',
        s.boundMs != null ? secs(s.boundMs) : '—',
        s.firstAnnounce != null && ready != null ? `+${secs(s.firstAnnounce.ms - ready)}` : '—',
        `${ids.filter(id => s.found.has(id)).length}/${others}`,
        allFound != null ? secs(allFound) : '—',
        `${ids.filter(id => s.pings.has(id)).length}/${others}`,
        String(rtts.length),
        med != null ? `${med.toFixed(0)} ms` : '—'
      ]
    })

    return renderTable(['node', 'peer id', 'listening on', 'bound', '1st record', 'found', 'all found', 'pinged', 'pings', 'median rtt'], rows)
  }

  /** who found whom, seconds after the finder started */
  matrix (): string {
    const rows = this.nodes.map(a => [a.name, ...this.nodes.map(b => {
      if (a === b) { return '·' }
      const t = b.peerId != null ? a.found.get(b.peerId) : undefined
      return t != null ? (t / 1000).toFixed(2) : '—'
    })])

    return renderTable(['found →', ...this.nodes.map(n => n.name)], rows)
  }
}
