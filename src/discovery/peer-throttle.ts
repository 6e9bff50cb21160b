/**
 * At most one `peer` event per peer per `minPeerInterval`, with a bounded
 * memory of who was emitted when.
 *
 * Inside a peer's window, a record with the addresses already emitted is
 * dropped; one with different addresses replaces any held record and is
 * emitted when the window ends (trailing edge), so address changes are
 * delayed, never lost (unless the peer is evicted from the bounded table).
 */
import { addrsKey } from './record.js'
import type { PeerInfo } from '@libp2p/interface'

/**
 * What {@link PeerThrottle.offer} did with a record: `first` = emitted, and
 * the peer was not remembered before.
 */
export type OfferResult = 'first' | 'emitted' | 'duplicate' | 'deferred'

/**
 * Construction options for {@link PeerThrottle}.
 */
export interface PeerThrottleInit {
  /** minimum ms between two emissions for one peer; 0 disables throttling */
  minIntervalMs: number
  /** most peers remembered */
  maxPeers: number
  /** called for each emission, synchronously or from the trailing timer */
  emit(info: PeerInfo): void
  /** clock, injectable for tests */
  now?(): number
}

interface Entry {
  lastEmitAt: number
  key: string
  pending?: PeerInfo
  pendingKey?: string
}

export class PeerThrottle {
  private readonly minIntervalMs: number
  private readonly maxPeers: number
  private readonly emit: (info: PeerInfo) => void
  private readonly now: () => number
  /** insertion order = emission order, oldest first */
  private readonly entries = new Map<string, Entry>()
  private flushTimer?: ReturnType<typeof setTimeout>

  constructor (init: PeerThrottleInit) {
    this.minIntervalMs = init.minIntervalMs
    this.maxPeers = init.maxPeers
    this.emit = init.emit
    this.now = init.now ?? Date.now
    this.flushTimerOnFire = this.flushTimerOnFire.bind(this)
  }

  /**
   * Number of peers remembered; never more than `maxPeers`.
   */
  get size (): number {
    return this.entries.size
  }

  /**
   * Whether a trailing emission is scheduled.
   */
  get hasTimer (): boolean {
    return this.flushTimer != null
  }

  /**
   * Offer a record for emission.
   */
  offer (info: PeerInfo): OfferResult {
    const id = info.id.toString()
    const key = addrsKey(info.multiaddrs)
    const now = this.now()
    const entry = this.entries.get(id)

    if (entry == null || now - entry.lastEmitAt >= this.minIntervalMs) {
      this.record(id, key, now)
      this.emit(info)
      return entry == null ? 'first' : 'emitted'
    }

    if (key === entry.key) {
      // back to what was emitted: nothing new to say at the window's end
      entry.pending = undefined
      entry.pendingKey = undefined
      return 'duplicate'
    }

    entry.pending = info
    entry.pendingKey = key
    this.armFlushTimer(entry.lastEmitAt + this.minIntervalMs - now)
    return 'deferred'
  }

  /**
   * Forget everything and cancel the trailing timer.
   */
  clear (): void {
    if (this.flushTimer != null) {
      clearTimeout(this.flushTimer)
      this.flushTimer = undefined
    }

    this.entries.clear()
  }

  private record (id: string, key: string, now: number): void {
    this.entries.delete(id)
    this.entries.set(id, { lastEmitAt: now, key })

    while (this.entries.size > this.maxPeers) {
      const oldest = this.entries.keys().next()

      if (oldest.done === true) {
        break
      }

      this.entries.delete(oldest.value)
    }
  }

  private armFlushTimer (delayMs: number): void {
    if (this.flushTimer != null) {
      return
    }

    this.flushTimer = setTimeout(this.flushTimerOnFire, Math.max(0, delayMs))
  }

  private flushTimerOnFire (): void {
    this.flushTimer = undefined
    const now = this.now()
    const due: Array<[string, Entry]> = []
    let nextDelay: number | undefined

    for (const [id, entry] of this.entries) {
      if (entry.pending == null) {
        continue
      }

      const wait = entry.lastEmitAt + this.minIntervalMs - now

      if (wait <= 0) {
        due.push([id, entry])
      } else {
        nextDelay = Math.min(nextDelay ?? wait, wait)
      }
    }

    for (const [id, entry] of due) {
      const info = entry.pending
      const key = entry.pendingKey

      if (info == null || key == null) {
        continue
      }

      this.record(id, key, now)
      this.emit(info)
    }

    if (nextDelay != null) {
      this.armFlushTimer(nextDelay)
    }
  }
}
