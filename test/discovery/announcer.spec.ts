import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { Announcer } from '../../src/discovery/announcer.js'
import type { AnnouncerInit } from '../../src/discovery/announcer.js'

interface Harness {
  announcer: Announcer
  published: Array<{ topic: string, data: Uint8Array, at: number }>
  record: Uint8Array | undefined
  subscribers: Map<string, number>
  publishImpl(topic: string, data: Uint8Array): Promise<unknown>
  /** resolves with the next publication */
  nextPublish(): Promise<{ topic: string, data: Uint8Array, at: number }>
}

const log = defaultLogger().forComponent('test:announcer')

function harness (init: Partial<AnnouncerInit> = {}): Harness {
  const waiters: Array<(p: { topic: string, data: Uint8Array, at: number }) => void> = []
  const h: Harness = {
    published: [],
    record: Uint8Array.from([1, 2, 3]),
    subscribers: new Map([['a', 1]]),
    publishImpl: async () => ({}),
    nextPublish: async () => new Promise(resolve => waiters.push(resolve)),
    announcer: new Announcer({
      topics: ['a'],
      intervalMs: 10_000,
      debounceMs: 20,
      log,
      buildRecord: () => h.record,
      countSubscribers: topic => h.subscribers.get(topic) ?? 0,
      publish: async (topic, data) => {
        const p = { topic, data, at: Date.now() }
        h.published.push(p)
        waiters.splice(0).forEach(resolve => { resolve(p) })
        return h.publishImpl(topic, data)
      },
      ...init
    })
  }

  return h
}

/** let every timer due within `ms` fire */
async function settle (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

describe('Announcer', function () {
  this.timeout(10_000)

  let h: Harness | undefined

  afterEach(() => {
    h?.announcer.stop()
    h = undefined
  })

  it('publishes a first record at once, and once, for many triggers in one go', async () => {
    h = harness({ debounceMs: 300 })
    const start = Date.now()
    h.announcer.start()

    for (let i = 0; i < 50; i++) {
      h.announcer.schedule('transport:listening')
    }

    const first = await h.nextPublish()
    // the debounce would have waited 300 ms
    assert.ok(first.at - start < 150, `published after ${first.at - start} ms`)
    await settle(350)
    assert.equal(h.published.length, 1)
  })

  it('debounces a burst of triggers once the record has been published', async () => {
    h = await afterFirstPublication()
    const start = Date.now()

    for (let i = 0; i < 50; i++) {
      h.announcer.schedule('transport:listening')
    }

    const second = await h.nextPublish()
    assert.ok(second.at - start >= 35, `published after ${second.at - start} ms`)
    await settle(100)
    assert.equal(h.published.length, 2)
  })

  /** a started announcer with debounceMs 40 that has published once; its record has changed since */
  async function afterFirstPublication (): Promise<Harness> {
    const started = harness({ debounceMs: 40 })
    started.announcer.start()
    await started.nextPublish()
    started.record = Uint8Array.from([4])
    return started
  }

  it('waits for triggers to be quiet for debounceMs', async () => {
    h = await afterFirstPublication()

    // three triggers 15 ms apart: quiet only after the last one
    let last = Date.now()
    for (let i = 0; i < 3; i++) {
      h.announcer.schedule('newcomer')
      last = Date.now()
      await settle(15)
    }
    const second = await h.nextPublish()

    assert.ok(second.at - last >= 35, `published ${second.at - last} ms after the last trigger`)
    await settle(60)
    assert.equal(h.published.length, 2)
  })

  it('publishes at most 4 × debounceMs after the first trigger of an endless burst', async () => {
    h = await afterFirstPublication()

    const start = Date.now()
    const burst = setInterval(() => { h?.announcer.schedule('newcomer') }, 5)
    h.announcer.schedule('newcomer')
    const second = await h.nextPublish()
    clearInterval(burst)

    const waited = second.at - start
    assert.ok(waited >= 155 && waited < 400, `published ${waited} ms after the first trigger`)
  })

  it('does not postpone the first publication for a burst of triggers', async () => {
    h = harness({ debounceMs: 100 })
    h.subscribers.set('a', 0)
    const burst = setInterval(() => { h?.announcer.schedule('first record') }, 5)
    h.announcer.start()
    await settle(130)

    // the first subscriber comes in the middle of the burst
    const start = Date.now()
    h.subscribers.set('a', 1)
    const first = await h.nextPublish()
    clearInterval(burst)

    const waited = first.at - start
    // up to 4 × debounceMs = 400 ms if the burst postponed it
    assert.ok(waited < 200, `first record published ${waited} ms after its subscriber came`)
  })

  it('publishes at once for the first subscriber of a topic that has not had our record', async () => {
    h = harness({ debounceMs: 300 })
    h.subscribers.set('a', 0)
    h.announcer.start()
    await settle(350)
    assert.equal(h.published.length, 0, 'nobody to publish to yet')

    const start = Date.now()
    h.subscribers.set('a', 1)
    h.announcer.schedule('newcomer', 'a')
    const first = await h.nextPublish()
    // the debounce would have waited 300 ms
    assert.ok(first.at - start < 150, `first record published ${first.at - start} ms after its subscriber came`)

    // the topic has had our record: the next newcomer waits for the debounce
    const again = Date.now()
    h.announcer.schedule('newcomer', 'a')
    const second = await h.nextPublish()
    assert.ok(second.at - again >= 290, `second record published ${second.at - again} ms after its newcomer`)
  })

  it('never publishes a record without addresses', async () => {
    h = harness({ intervalMs: 30 })
    h.record = undefined
    h.announcer.start()
    h.announcer.schedule('transport:listening')
    await settle(120)

    assert.equal(h.published.length, 0)
  })

  it('does not re-publish an identical record before the interval, does after it', async () => {
    h = harness({ intervalMs: 300 })
    h.announcer.start()
    const first = await h.nextPublish()

    h.announcer.schedule('self:peer:update')
    await settle(60)
    assert.equal(h.published.length, 1, 'identical record suppressed')

    const second = await h.nextPublish()
    const gap = second.at - first.at
    assert.ok(gap >= 295, `periodic re-publication came ${gap} ms later`)
  })

  it('publishes a changed record at once (after the debounce)', async () => {
    h = harness()
    h.announcer.start()
    await h.nextPublish()

    h.record = Uint8Array.from([4, 5, 6])
    h.announcer.schedule('transport:listening')
    const second = await h.nextPublish()
    assert.deepEqual(second.data, Uint8Array.from([4, 5, 6]))
  })

  it('skips a topic without subscribers and publishes there on a later trigger', async () => {
    h = harness({ topics: ['a', 'b'] })
    h.announcer.start()
    const first = await h.nextPublish()
    assert.equal(first.topic, 'a')
    await settle(40)
    assert.equal(h.published.length, 1)

    h.subscribers.set('b', 1)
    h.announcer.schedule('newcomer', 'b')
    const second = await h.nextPublish()
    assert.equal(second.topic, 'b')
    await settle(40)
    assert.equal(h.published.length, 2, 'topic a is not re-published')
  })

  it('re-publishes an identical record on a forced topic (newcomer)', async () => {
    h = harness()
    h.announcer.start()
    await h.nextPublish()

    h.announcer.schedule('newcomer', 'a')
    h.announcer.schedule('newcomer', 'a')
    await h.nextPublish()
    await settle(60)
    assert.equal(h.published.length, 2)
  })

  it('handles a rejected publish and retries on the next trigger', async () => {
    h = harness()
    let calls = 0
    h.publishImpl = async () => {
      calls++
      if (calls === 1) {
        throw new Error('PublishError.NoPeersSubscribedToTopic')
      }
      return {}
    }
    h.announcer.start()
    await h.nextPublish()
    await settle(10)

    h.announcer.schedule('self:peer:update')
    await h.nextPublish()
    assert.equal(calls, 2, 'the identical record is retried because the first attempt failed')
  })

  it('handles a publish that throws synchronously, and retries on the next trigger', async () => {
    let attempts = 0
    let succeeded: (() => void) | undefined
    const success = new Promise<void>(resolve => { succeeded = resolve })
    const announcer = new Announcer({
      topics: ['a'],
      intervalMs: 10_000,
      debounceMs: 1,
      log,
      buildRecord: () => Uint8Array.from([1]),
      countSubscribers: () => 1,
      publish: (): Promise<unknown> => {
        attempts++
        if (attempts === 1) {
          throw new Error('sync failure')
        }
        succeeded?.()
        return Promise.resolve()
      }
    })

    try {
      announcer.start()
      await settle(20)
      assert.equal(attempts, 1)
      announcer.schedule('self:peer:update')
      await success
      assert.equal(attempts, 2)
    } finally {
      announcer.stop()
    }
  })

  it('survives a buildRecord that throws', async () => {
    let builds = 0
    const announcer = new Announcer({
      topics: ['a'],
      intervalMs: 10,
      debounceMs: 1,
      log,
      buildRecord: () => { builds++; throw new Error('no key') },
      countSubscribers: () => 1,
      publish: async () => { throw new Error('must not publish') }
    })

    try {
      announcer.start()
      await settle(50)
      assert.ok(builds >= 2, 'the periodic timer keeps running after a failure')
    } finally {
      announcer.stop()
    }
    assert.equal(announcer.hasTimers, false)
  })

  it('clears every timer on stop() and publishes nothing afterwards', async () => {
    h = harness({ intervalMs: 30 })
    h.announcer.start()
    h.announcer.schedule('transport:listening')
    assert.equal(h.announcer.hasTimers, true)

    h.announcer.stop()
    assert.equal(h.announcer.hasTimers, false)
    h.announcer.schedule('transport:listening')
    assert.equal(h.announcer.hasTimers, false)
    await settle(80)
    assert.equal(h.published.length, 0)
  })
})
