/**
 * When to publish our record: debounced on triggers, periodically otherwise.
 *
 * - `schedule()` announces once triggers have been quiet for `debounceMs`,
 * and at the latest `4 × debounceMs` after the first of them: a burst (a
 * crowd of peers joining, several listeners binding) is merged into one
 * announcement. Apart from first records (below), publishing is bounded to
 * one record per topic per `debounceMs` however fast triggers arrive.
 * - While a topic that has subscribers has not had our record, any trigger
 * announces at once: those subscribers are waiting for it (typically: our
 * first listener has just bound, or a first subscriber came). Until every
 * topic has had our record, a trigger is never postponed by later ones.
 * - Every announcement reads the record fresh (`buildRecord`). No addresses:
 * nothing is published.
 * - Per topic, a record identical to the last one published there less than
 * `intervalMs` ago is not published again, unless the topic was `forced`
 * (a newcomer subscribed and has not heard it).
 * - A topic without subscribers is skipped, and not counted as published, so
 * the next trigger (typically the first subscriber) publishes there.
 * - The periodic timer fires when the oldest topic publication turns
 * `intervalMs` old (or `intervalMs` from now if nothing was published).
 */
import { equals as uint8ArrayEquals } from './bytes.js'
import type { Logger } from '@libp2p/interface'

/**
 * What the announcer needs from the outside world.
 */
export interface AnnouncerInit {
  topics: readonly string[]
  intervalMs: number
  debounceMs: number
  log: Logger
  /** our record now, or `undefined` when we have no address to announce */
  buildRecord(): Uint8Array | undefined
  /** subscribers of a topic other than us */
  countSubscribers(topic: string): number
  /** publish on one topic; may reject */
  publish(topic: string, data: Uint8Array): Promise<unknown>
  /** clock, injectable for tests */
  now?(): number
}

/** a burst of triggers delays its announcement by at most this many debounce periods */
const MAX_WAIT_DEBOUNCES = 4

interface Publication {
  bytes: Uint8Array
  at: number
}

export class Announcer {
  private readonly init: AnnouncerInit
  private readonly now: () => number
  private readonly published = new Map<string, Publication>()
  private readonly forced = new Set<string>()
  private debounceTimer?: ReturnType<typeof setTimeout>
  /** first and latest trigger of the burst the debounce timer is waiting on */
  private firstTriggerAt = 0
  private lastTriggerAt = 0
  private periodicTimer?: ReturnType<typeof setTimeout>
  private running = false

  constructor (init: AnnouncerInit) {
    this.init = init
    this.now = init.now ?? Date.now
    this.debounceTimerOnFire = this.debounceTimerOnFire.bind(this)
    this.periodicTimerOnFire = this.periodicTimerOnFire.bind(this)
  }

  /**
   * Begin: arm the periodic timer and schedule a first announcement.
   */
  start (): void {
    if (this.running) {
      return
    }

    this.running = true
    this.schedule('start')
    this.armPeriodicTimer()
  }

  /**
   * Cancel every timer and forget what was published.
   */
  stop (): void {
    this.running = false

    if (this.debounceTimer != null) {
      clearTimeout(this.debounceTimer)
      this.debounceTimer = undefined
    }

    if (this.periodicTimer != null) {
      clearTimeout(this.periodicTimer)
      this.periodicTimer = undefined
    }

    this.published.clear()
    this.forced.clear()
  }

  /**
   * Whether any timer is armed.
   */
  get hasTimers (): boolean {
    return this.debounceTimer != null || this.periodicTimer != null
  }

  /**
   * Request a debounced announcement. With `forceTopic`, that topic gets the
   * record even if it is identical to the last one published there.
   */
  schedule (reason: string, forceTopic?: string): void {
    if (!this.running) {
      return
    }

    if (forceTopic != null && this.init.topics.includes(forceTopic)) {
      this.forced.add(forceTopic)
    }

    this.lastTriggerAt = this.now()

    // a topic with subscribers that has not had our record yet is waiting for
    // exactly this record: it goes out now, not after the debounce
    const awaited = this.init.topics.some(topic => !this.published.has(topic) && this.hasSubscribers(topic))

    if (this.debounceTimer != null) {
      if (!awaited) {
        return
      }

      clearTimeout(this.debounceTimer)
    } else {
      this.firstTriggerAt = this.lastTriggerAt
    }

    const delay = awaited ? 0 : this.init.debounceMs
    this.init.log('announcement scheduled in %d ms (%s)', delay, reason)
    this.debounceTimer = setTimeout(this.debounceTimerOnFire, delay)
  }

  private hasSubscribers (topic: string): boolean {
    try {
      return this.init.countSubscribers(topic) > 0
    } catch {
      // publishWhereNeeded logs it
      return false
    }
  }

  private debounceTimerOnFire (): void {
    const { debounceMs, topics } = this.init
    const now = this.now()
    // triggers kept coming: wait for quiet, up to the burst's deadline - but
    // only when every topic has had our record: a topic still without it (it
    // had no subscriber when the burst began) must not wait for the burst
    const due = Math.min(this.lastTriggerAt + debounceMs, this.firstTriggerAt + MAX_WAIT_DEBOUNCES * debounceMs)

    if (due > now && topics.every(topic => this.published.has(topic))) {
      this.debounceTimer = setTimeout(this.debounceTimerOnFire, due - now)
      return
    }

    this.debounceTimer = undefined
    this.announce()
  }

  private periodicTimerOnFire (): void {
    this.periodicTimer = undefined
    this.announce()
  }

  /**
   * Publish where needed, then re-arm the periodic timer.
   */
  private announce (): void {
    if (!this.running) {
      return
    }

    const forced = new Set(this.forced)
    this.forced.clear()

    try {
      this.publishWhereNeeded(forced)
    } finally {
      this.armPeriodicTimer()
    }
  }

  private publishWhereNeeded (forced: Set<string>): void {
    const { log, topics, intervalMs } = this.init
    let bytes: Uint8Array | undefined

    try {
      bytes = this.init.buildRecord()
    } catch (err: any) {
      log.error('could not build our record - %e', err)
      return
    }

    if (bytes == null) {
      log('not announcing: we have no address yet')
      return
    }

    const now = this.now()

    for (const topic of topics) {
      const last = this.published.get(topic)

      if (!forced.has(topic) && last != null && now - last.at < intervalMs && uint8ArrayEquals(last.bytes, bytes)) {
        log.trace('record on %s unchanged since %d ms ago, not re-publishing', topic, now - last.at)
        continue
      }

      let subscribers: number

      try {
        subscribers = this.init.countSubscribers(topic)
      } catch (err: any) {
        log.error('could not count subscribers of %s - %e', topic, err)
        continue
      }

      if (subscribers === 0) {
        log('not announcing on %s: no subscribers yet', topic)
        continue
      }

      this.publishOne(topic, bytes, now)
    }
  }

  private publishOne (topic: string, bytes: Uint8Array, now: number): void {
    const { log } = this.init
    const publication: Publication = { bytes, at: now }
    this.published.set(topic, publication)
    log('announcing our record on %s', topic)

    const forget = (err: any): void => {
      log.error('publishing our record on %s failed - %e', topic, err)

      // let the next trigger try again rather than wait for the interval
      if (this.published.get(topic) === publication) {
        this.published.delete(topic)
      }
    }

    try {
      this.init.publish(topic, bytes).catch(forget)
    } catch (err: any) {
      forget(err)
    }
  }

  private armPeriodicTimer (): void {
    if (!this.running) {
      return
    }

    if (this.periodicTimer != null) {
      clearTimeout(this.periodicTimer)
    }

    const { intervalMs } = this.init
    const now = this.now()
    // topics never published are retried `intervalMs` from now
    let delay = intervalMs

    for (const publication of this.published.values()) {
      delay = Math.min(delay, publication.at + intervalMs - now)
    }

    this.periodicTimer = setTimeout(this.periodicTimerOnFire, Math.max(0, delay))
  }
}
