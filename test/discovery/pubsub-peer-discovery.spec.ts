import assert from 'node:assert/strict'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { start, stop } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { PubSubPeerDiscovery, TOPIC, pubsubPeerDiscovery } from '../../src/discovery/index.js'
import { Peer } from '../../src/discovery/peer.js'
import { encodeRecord } from '../../src/discovery/record.js'
import { createComponents, createPeer, signedMessage, unsignedMessage } from './fixtures/mock-pubsub.js'
import type { MockComponents, TestPeer } from './fixtures/mock-pubsub.js'
import type { PubSubPeerDiscoveryInit } from '../../src/discovery/index.js'
import type { PeerDiscovery, PeerInfo, Startable } from '@libp2p/interface'

type Discovery = PeerDiscovery & Startable

const WS = '/ip4/127.0.0.1/tcp/4001/ws'
const LIMITS = { maxRecordBytes: 8192, maxAddrs: 64, maxAddrBytes: 512 }

function recordOf (peer: TestPeer, ...addrs: string[]): Uint8Array {
  return encodeRecord(peer.privateKey.publicKey, addrs.map(a => multiaddr(a)), LIMITS).bytes
}

function decode (data: Uint8Array): { key: Uint8Array, addrs: string[] } {
  const peer = Peer.decode(data)
  return { key: peer.publicKey, addrs: peer.addrs.map(a => multiaddr(a).toString()) }
}

/** collects `peer` events; `next()` resolves with the next one */
class PeerEvents {
  readonly events: PeerInfo[] = []
  private waiters: Array<(info: PeerInfo) => void> = []

  constructor (discovery: PeerDiscovery) {
    discovery.addEventListener('peer', (evt) => {
      this.events.push(evt.detail)
      this.waiters.splice(0).forEach(resolve => { resolve(evt.detail) })
    })
  }

  async next (): Promise<PeerInfo> {
    return new Promise(resolve => this.waiters.push(resolve))
  }
}

/** resolves with the next publication on the mock pubsub */
async function nextPublish (components: MockComponents): Promise<{ topic: string, data: Uint8Array }> {
  const before = components.pubsub.published.length
  const pubsub = components.pubsub
  const original = pubsub.publishImpl

  return new Promise(resolve => {
    pubsub.publishImpl = async (topic, data) => {
      if (pubsub.published.length > before) {
        pubsub.publishImpl = original
        resolve({ topic, data })
      }
      return original(topic, data)
    }
  })
}

async function settle (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

function timeouts (): number {
  return process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
}

describe('PubSubPeerDiscovery', function () {
  this.timeout(10_000)

  let components: MockComponents & TestPeer
  let discovery: Discovery | undefined
  let remote: TestPeer

  const create = (init: PubSubPeerDiscoveryInit = {}): Discovery => {
    discovery = pubsubPeerDiscovery({ announceDebounce: 10, ...init })(components)
    return discovery
  }

  before(async () => {
    remote = await createPeer()
  })

  beforeEach(async () => {
    components = await createComponents([WS])
    components.pubsub.subscribers.set(TOPIC, [remote.peerId])
  })

  afterEach(async () => {
    await stop(discovery)
    discovery = undefined
  })

  it('is branded as a peer discovery and exposes its capability', () => {
    const d: any = create()

    assert.equal(d[Symbol.toStringTag], 'tolerant-ws:pubsub-discovery')
    assert.equal(d[Symbol.for('@libp2p/peer-discovery')], d)
    assert.deepEqual(d[Symbol.for('@libp2p/service-capabilities')], ['@libp2p/peer-discovery'])
  })

  describe('#start', () => {
    it('touches no other component', async () => {
      let addressReads = 0
      components.addressManager = { getAddresses: () => { addressReads++; return components.addrs } }
      const d = create()

      await d.beforeStart?.()
      await d.start()

      assert.equal(components.pubsub.subscribeCalls, 0)
      assert.equal(components.pubsub.listenerCount('message'), 0)
      assert.equal(components.pubsub.listenerCount('subscription-change'), 0)
      assert.equal(components.pubsub.topicValidators.size, 0)
      assert.equal(components.events.listenerCount('transport:listening'), 0)
      assert.equal(addressReads, 0)
    })

    it('throws InvalidParametersError when there is no pubsub service', async () => {
      const { pubsub, ...rest } = components
      const d = pubsubPeerDiscovery()(rest)

      await assert.rejects(start(d), { name: 'InvalidParametersError' })
      assert.equal((d as PubSubPeerDiscovery).isStarted(), false)
    })

    it('throws InvalidParametersError when libp2p\'s components proxy throws for the missing service', async () => {
      const proxy = new Proxy(components, {
        get (target, prop, receiver) {
          if (prop === 'pubsub') {
            throw Object.assign(new Error('pubsub not set'), { name: 'MissingServiceError' })
          }
          return Reflect.get(target, prop, receiver)
        }
      })
      const d = pubsubPeerDiscovery()(proxy)

      await assert.rejects(start(d), { name: 'InvalidParametersError' })
    })
  })

  describe('#afterStart', () => {
    it('subscribes to every topic, installs validators and listeners', async () => {
      const d = create({ topics: ['x', 'y'] })
      await start(d)

      assert.deepEqual([...components.pubsub.subscriptions], ['x', 'y'])
      assert.deepEqual([...components.pubsub.topicValidators.keys()], ['x', 'y'])
      assert.equal(components.pubsub.listenerCount('message'), 1)
      assert.equal(components.events.listenerCount('transport:listening'), 1)
      assert.equal(components.events.listenerCount('transport:close'), 1)
      assert.equal(components.events.listenerCount('self:peer:update'), 1)
    })

    it('leaves a validator someone else installed in place', async () => {
      const theirs = (): string => 'accept'
      components.pubsub.topicValidators.set(TOPIC, theirs)
      await start(create())
      await stop(discovery)

      assert.equal(components.pubsub.topicValidators.get(TOPIC), theirs)
    })
  })

  describe('re-announcement', () => {
    it('announces on transport:listening with addresses read at that moment', async () => {
      components.addrs = []
      await start(create())
      await settle(40)
      assert.equal(components.pubsub.published.length, 0, 'no record without addresses')

      const published = nextPublish(components)
      components.addrs = [multiaddr(WS)]
      components.events.safeDispatchEvent('transport:listening', { detail: {} as any })
      const { topic, data } = await published

      assert.equal(topic, TOPIC)
      assert.deepEqual(decode(data).addrs, [WS])
      assert.deepEqual(decode(data).key, publicKeyToProtobuf(components.peerId.publicKey!))
    })

    it('announces on transport:close and self:peer:update when the record changed', async () => {
      await start(create())
      await nextPublish(components)

      for (const [event, addrs] of [['transport:close', ['/ip4/127.0.0.1/tcp/2/ws']], ['self:peer:update', ['/ip4/127.0.0.1/tcp/3/ws']]] as const) {
        const published = nextPublish(components)
        components.addrs = addrs.map(a => multiaddr(a))
        components.events.safeDispatchEvent(event, { detail: {} as any })
        assert.deepEqual(decode((await published).data).addrs, addrs, event)
      }
    })

    it('does not re-publish an identical record before the interval', async () => {
      await start(create({ interval: 60_000 }))
      await nextPublish(components)

      for (let i = 0; i < 20; i++) {
        components.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
      }
      await settle(60)

      assert.equal(components.pubsub.published.length, 1)
    })

    it('never publishes when the addresses go away', async () => {
      await start(create())
      await nextPublish(components)

      components.addrs = []
      components.events.safeDispatchEvent('transport:close', { detail: {} as any })
      await settle(60)

      assert.equal(components.pubsub.published.length, 1)
    })
  })

  describe('newcomers', () => {
    it('announces again, debounced, when a peer subscribes to a discovery topic', async () => {
      await start(create({ interval: 60_000 }))
      await nextPublish(components)

      const published = nextPublish(components)
      const newcomers = await Promise.all([createPeer(), createPeer(), createPeer()])
      for (const n of newcomers) {
        components.pubsub.addSubscriber(TOPIC, n.peerId)
      }
      await published
      await settle(40)

      assert.equal(components.pubsub.published.length, 2, 'three newcomers, one announcement')
    })

    it('answers the first record of a peer it had not heard of, once', async () => {
      const d = create({ interval: 60_000 })
      const events = new PeerEvents(d)
      await start(d)
      await nextPublish(components)

      // the sender reached us through a relay: it never subscribed to us
      const answered = nextPublish(components)
      const first = events.next()
      await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(remote, WS)))
      await first
      const answer = await answered
      assert.deepEqual(decode(answer.data).addrs, [WS], 'our unchanged record is published again')

      // a second record of the same peer (new addresses too) is not answered
      await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(remote, WS)))
      await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(remote, '/ip4/127.0.0.1/tcp/4002/ws')))
      await settle(60)
      assert.equal(components.pubsub.published.length, 2)
    })

    it('ignores subscriptions to other topics', async () => {
      await start(create({ interval: 60_000 }))
      await nextPublish(components)

      components.pubsub.addSubscriber('chat', (await createPeer()).peerId)
      await settle(40)

      assert.equal(components.pubsub.published.length, 1)
    })
  })

  describe('listenOnly', () => {
    it('subscribes and emits peer events but never publishes', async () => {
      const d = create({ listenOnly: true })
      const events = new PeerEvents(d)
      await start(d)

      components.events.safeDispatchEvent('transport:listening', { detail: {} as any })
      components.pubsub.addSubscriber(TOPIC, (await createPeer()).peerId)
      const next = events.next()
      await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(remote, WS)))
      const info = await next
      await settle(40)

      assert.ok(info.id.equals(remote.peerId))
      assert.deepEqual([...components.pubsub.subscriptions], [TOPIC])
      assert.equal(components.pubsub.published.length, 0)
    })

    it('starts without a public key to announce', async () => {
      const d = pubsubPeerDiscovery({ listenOnly: true })({ ...components, peerId: { ...components.peerId, publicKey: undefined } as any })
      discovery = d
      await start(d)
    })
  })

  describe('validation (ROBUSTNESS 23, 24)', () => {
    it('rejects a record carrying another peer\'s key in the topic validator; no peer event', async () => {
      const d = create()
      const events = new PeerEvents(d)
      await start(d)
      const bob = await createPeer()

      // remote announces bob's key with remote's addresses
      const result = await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(bob, WS)))
      await settle(20)

      assert.equal(result, 'reject')
      assert.equal(events.events.length, 0)
    })

    it('rejects a spoofed record on delivery when the pubsub has no topic validators', async () => {
      const d = create()
      const events = new PeerEvents(d)
      await start(d)
      components.pubsub.topicValidators.clear()
      const bob = await createPeer()

      await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(bob, WS)))
      const next = events.next()
      await components.pubsub.deliver(signedMessage(bob, TOPIC, recordOf(bob, WS)))
      const info = await next

      assert.equal(events.events.length, 1)
      assert.ok(info.id.equals(bob.peerId), 'every emitted id is the authenticated origin')
    })

    it('drops malformed, oversized and bad-key records without throwing', async () => {
      const d = create()
      const events = new PeerEvents(d)
      await start(d)
      const good = recordOf(remote, WS)
      const bad = [
        good.subarray(0, good.byteLength - 4),
        new Uint8Array(100_000),
        Peer.encode({ publicKey: Uint8Array.from([8, 7, 18, 1, 0]), addrs: [Uint8Array.from(multiaddr(WS).bytes)] }),
        Uint8Array.from([0xff, 0xff, 0xff, 0xff])
      ]

      for (const data of bad) {
        assert.equal(await components.pubsub.deliver(signedMessage(remote, TOPIC, data)), 'reject')
      }
      // without the validator the delivery path applies the same policy
      components.pubsub.topicValidators.clear()
      for (const data of bad) {
        await components.pubsub.deliver(signedMessage(remote, TOPIC, data))
      }
      await settle(20)

      assert.equal(events.events.length, 0)
    })

    it('ignores unsigned records by default and accepts them with acceptUnsigned', async () => {
      const d = create()
      const events = new PeerEvents(d)
      await start(d)

      assert.equal(await components.pubsub.deliver(unsignedMessage(TOPIC, recordOf(remote, WS))), 'ignore')
      await stop(d)

      const d2 = create({ acceptUnsigned: true })
      const events2 = new PeerEvents(d2)
      await start(d2)
      const next = events2.next()
      assert.equal(await components.pubsub.deliver(unsignedMessage(TOPIC, recordOf(remote, WS))), 'accept')
      await next
      assert.equal(events.events.length, 0)
    })

    it('never emits our own record', async () => {
      const d = create()
      const events = new PeerEvents(d)
      await start(d)

      await components.pubsub.deliver(signedMessage(components, TOPIC, recordOf(components, WS)))
      await settle(20)

      assert.equal(events.events.length, 0)
    })

    it('emits the valid addresses of a partly bad record', async () => {
      const d = create()
      const events = new PeerEvents(d)
      await start(d)
      const bob = await createPeer()
      const data = Peer.encode({
        publicKey: Uint8Array.from(publicKeyToProtobuf(remote.privateKey.publicKey)),
        addrs: [
          Uint8Array.from([0xff, 0x01]),
          Uint8Array.from(multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${bob.peerId.toString()}`).bytes),
          new Uint8Array(5000).fill(4),
          Uint8Array.from(multiaddr(WS).bytes)
        ]
      })

      const next = events.next()
      assert.equal(await components.pubsub.deliver(signedMessage(remote, TOPIC, data)), 'accept')
      const info = await next

      assert.deepEqual(info.multiaddrs.map(String), [WS])
    })

    it('ignores messages on topics it did not subscribe to', async () => {
      const d = create()
      const events = new PeerEvents(d)
      await start(d)

      components.pubsub.safeDispatchEvent('message', { detail: signedMessage(remote, 'chat', recordOf(remote, WS)) })
      await settle(20)

      assert.equal(events.events.length, 0)
    })
  })

  describe('flood (ROBUSTNESS 25)', () => {
    it('emits one peer event for 10 000 records from one sender inside minPeerInterval', async () => {
      const d = create({ minPeerInterval: 60_000 })
      const events = new PeerEvents(d)
      await start(d)
      const data = recordOf(remote, WS)

      for (let i = 0; i < 10_000; i++) {
        await components.pubsub.deliver(signedMessage(remote, TOPIC, data, BigInt(i)))
      }

      assert.equal(events.events.length, 1)
    })

    it('emits one event per window even when every flooded record has new addresses', async () => {
      const d = create({ minPeerInterval: 100 })
      const events = new PeerEvents(d)
      await start(d)
      const startedAt = Date.now()
      let i = 0

      while (Date.now() - startedAt < 350) {
        await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(remote, `/ip4/127.0.0.1/tcp/${1 + (i++ % 60000)}/ws`)))
        if (i % 50 === 0) {
          await settle(1)
        }
      }
      const elapsed = Date.now() - startedAt

      // leading event + at most one per elapsed window
      assert.ok(events.events.length <= Math.ceil(elapsed / 100) + 1, `${events.events.length} events for ${i} records in ${elapsed} ms`)
      assert.ok(events.events.length >= 2, 'address changes still get through')
    })

    it('emits once for each of 1 000 senders and keeps its memory bounded', async () => {
      const d: any = create({ maxTrackedPeers: 100, minPeerInterval: 60_000 })
      const events = new PeerEvents(d)
      await start(d)
      const senders = await Promise.all(Array.from({ length: 1000 }, async () => createPeer()))

      for (const s of senders) {
        await components.pubsub.deliver(signedMessage(s, TOPIC, recordOf(s, WS)))
      }

      assert.equal(events.events.length, 1000)
      assert.ok(d.throttle.size <= 100)
    })
  })

  describe('lifecycle (ROBUSTNESS 26)', () => {
    it('start → stop → start does not double-subscribe or double-emit', async () => {
      const d = create()
      await start(d)
      await stop(d)
      assert.equal(components.pubsub.subscriptions.size, 0)
      assert.equal(components.pubsub.listenerCount('message'), 0)

      await start(d)
      await start(d)
      const events = new PeerEvents(d)
      const next = events.next()
      await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(remote, WS)))
      await next
      await settle(20)

      assert.equal(components.pubsub.subscribeCalls, 2, 'once per start')
      assert.equal(components.pubsub.listenerCount('message'), 1)
      assert.equal(components.events.listenerCount('transport:listening'), 1)
      assert.equal(events.events.length, 1)
    })

    it('emits nothing before start', async () => {
      const d = create()
      const events = new PeerEvents(d)
      await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(remote, WS)))
      await d.start()
      await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(remote, WS)))
      await settle(20)

      assert.equal(events.events.length, 0)
    })

    it('after stop: no timers, no listeners, no validators, incoming messages ignored', async () => {
      // mocha arms its own test timer once the test is running
      await settle(1)
      const baseline = timeouts()
      const d = create({ interval: 50, minPeerInterval: 200 })
      const events = new PeerEvents(d)
      await start(d)
      await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(remote, WS)))
      // a held change arms the trailing timer
      await components.pubsub.deliver(signedMessage(remote, TOPIC, recordOf(remote, '/ip4/127.0.0.1/tcp/9/ws')))
      components.events.safeDispatchEvent('transport:listening', { detail: {} as any })
      assert.ok(timeouts() > baseline)

      await stop(d)

      assert.equal(timeouts(), baseline)
      assert.equal(components.pubsub.listenerCount('message'), 0)
      assert.equal(components.pubsub.listenerCount('subscription-change'), 0)
      assert.equal(components.pubsub.topicValidators.size, 0)
      assert.equal(components.events.listenerCount('transport:listening'), 0)
      assert.equal(components.events.listenerCount('transport:close'), 0)
      assert.equal(components.events.listenerCount('self:peer:update'), 0)

      const published = components.pubsub.published.length
      components.pubsub.safeDispatchEvent('message', { detail: signedMessage(remote, TOPIC, recordOf(remote, '/ip4/127.0.0.1/tcp/7/ws')) })
      components.events.safeDispatchEvent('transport:listening', { detail: {} as any })
      await settle(300)

      assert.equal(events.events.length, 1)
      assert.equal(components.pubsub.published.length, published)
    })

    it('beforeStop unsubscribes while pubsub still runs; stop alone also unsubscribes', async () => {
      const d = create()
      await start(d)
      await d.beforeStop?.()
      assert.equal(components.pubsub.subscriptions.size, 0)
      assert.equal(components.pubsub.unsubscribeCalls, 1)
      await d.stop()
      assert.equal(components.pubsub.unsubscribeCalls, 1, 'not unsubscribed twice')

      await start(d)
      await d.stop()
      assert.equal(components.pubsub.subscriptions.size, 0)
    })

    it('stop before start and stop twice are harmless', async () => {
      const d = create()
      await stop(d)
      await start(d)
      await stop(d)
      await stop(d)
      assert.equal((d as PubSubPeerDiscovery).isStarted(), false)
    })

    it('handles a rejected publish and keeps announcing', async () => {
      const unhandled: unknown[] = []
      const onUnhandled = (err: unknown): void => { unhandled.push(err) }
      process.on('unhandledRejection', onUnhandled)

      try {
        components.pubsub.publishImpl = async () => { throw new Error('PublishError.NoPeersSubscribedToTopic') }
        await start(create())
        await settle(40)
        assert.equal(components.pubsub.published.length, 1)

        components.pubsub.publishImpl = async () => ({ recipients: [] })
        const published = nextPublish(components)
        components.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
        await published
        await settle(10)
        assert.deepEqual(unhandled, [])
      } finally {
        process.off('unhandledRejection', onUnhandled)
      }
    })
  })
})
