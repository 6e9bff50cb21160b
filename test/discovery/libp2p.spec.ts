import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TOPIC } from '../../src/discovery/index.js'
import { encodeRecord } from '../../src/discovery/record.js'
import { measureFirstRecord } from './first-record.js'
import { createDiscoveryNode, isPeerWithWs, isWs, waitForSubscriber } from './fixtures/nodes.js'
import type { DiscoveryNode, Router } from './fixtures/nodes.js'

describe('pubsubPeerDiscovery on real libp2p 3 nodes (our WebSocket transport, noise, yamux)', function () {
  this.timeout(20_000)

  let nodes: DiscoveryNode[] = []

  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.node.stop()))
    nodes = []
  })

  async function node (options: Parameters<typeof createDiscoveryNode>[0] = {}): Promise<DiscoveryNode> {
    const n = await createDiscoveryNode(options)
    nodes.push(n)
    await n.node.start()
    return n
  }

  for (const router of ['gossipsub', 'floodsub'] as Router[]) {
    it(`three nodes on ${router}, one bootstrap connection each, all discover each other`, async () => {
      const init = { interval: 1000 }
      const [a, b, c] = await Promise.all([node({ router, init }), node({ router, init }), node({ router, init })])

      // b and c only know a
      await b.node.dial(a.node.getMultiaddrs()[0])
      await c.node.dial(a.node.getMultiaddrs()[0])

      await Promise.all([
        a.waitForPeer(isPeerWithWs(b.node)),
        a.waitForPeer(isPeerWithWs(c.node)),
        b.waitForPeer(isPeerWithWs(a.node)),
        b.waitForPeer(isPeerWithWs(c.node)),
        c.waitForPeer(isPeerWithWs(a.node)),
        c.waitForPeer(isPeerWithWs(b.node))
      ])

      for (const n of [a, b, c]) {
        assert.ok(n.discovered.every(info => info.multiaddrs.length > 0), 'no peer event without addresses')
        assert.ok(n.discovered.every(info => !info.id.equals(n.node.peerId)), 'never discovers itself')
      }
      // b and c were never connected: they learnt of each other through pubsub only
      assert.equal(b.node.getConnections(c.node.peerId).length, 0)
    })
  }

  it('greets a newcomer at once instead of waiting for the interval (ppd#105)', async () => {
    const init = { interval: 60_000 }
    const a = await node({ init })
    const b = await node({ init })
    const start = performance.now()

    await b.node.dial(a.node.getMultiaddrs()[0])
    await Promise.all([
      b.waitForPeer(isPeerWithWs(a.node)),
      a.waitForPeer(isPeerWithWs(b.node))
    ])

    assert.ok(performance.now() - start < 5000)
  })

  for (const router of ['gossipsub', 'floodsub'] as Router[]) {
    it(`on ${router}, two nodes that only know a hub find each other at once, not at the interval`, async () => {
      const init = { interval: 60_000 }
      const hub = await node({ router, init })
      const early = await node({ router, init })
      await early.node.dial(hub.node.getMultiaddrs()[0])
      await early.waitForPeer(isPeerWithWs(hub.node))

      // the late node never subscribes to the early one: the early one
      // learns of it through the hub and answers with its own record
      const late = await node({ router, init })
      await late.node.dial(hub.node.getMultiaddrs()[0])
      await Promise.all([
        late.waitForPeer(isPeerWithWs(early.node)),
        early.waitForPeer(isPeerWithWs(late.node))
      ])

      assert.equal(late.node.getConnections(early.node.peerId).length, 0)
    })
  }

  it('a listenOnly node emits peer events (ppd#29) and publishes nothing', async () => {
    const listener = await node({ init: { listenOnly: true } })
    const announcer = await node({ init: { interval: 1000 } })
    let listenerRecords = 0
    let announcerRecords = 0
    let secondRecord: (() => void) | undefined
    const twoRecords = new Promise<void>(resolve => { secondRecord = resolve })

    announcer.node.services.pubsub.addEventListener('message', (evt) => {
      if (evt.detail.type === 'signed' && evt.detail.from.equals(listener.node.peerId)) {
        listenerRecords++
      }
    })
    listener.node.services.pubsub.addEventListener('message', (evt) => {
      if (evt.detail.type === 'signed' && evt.detail.from.equals(announcer.node.peerId) && ++announcerRecords === 2) {
        secondRecord?.()
      }
    })

    await announcer.node.dial(listener.node.getMultiaddrs()[0])
    await listener.waitForPeer(isPeerWithWs(announcer.node))
    // a whole announcement interval later the listener still sent nothing
    await twoRecords

    assert.equal(listenerRecords, 0)
    assert.equal(announcer.discovered.length, 0)
  })

  for (const router of ['gossipsub', 'floodsub'] as Router[]) {
    it(`drops a record carrying another peer's key, sent over ${router} (ROBUSTNESS 23)`, async () => {
      const honest = await node({ router })
      const mallory = await node({ router, init: { listenOnly: true } })
      const victim = await generateKeyPair('Ed25519')
      const malloryAddrs = mallory.node.getMultiaddrs()
      const limits = { maxRecordBytes: 8192, maxAddrs: 64, maxAddrBytes: 512 }

      await mallory.node.dial(honest.node.getMultiaddrs()[0])
      await waitForSubscriber(mallory, honest)
      assert.ok(honest.node.services.pubsub.topicValidators?.has(TOPIC), 'our topic validator is installed on the real router')

      // the spoofed record first, then mallory's own: once the own one is
      // discovered, the spoofed one has been processed
      await mallory.node.services.pubsub.publish(TOPIC, encodeRecord(victim.publicKey, malloryAddrs, limits).bytes)
      await mallory.node.services.pubsub.publish(TOPIC, encodeRecord(mallory.node.peerId.publicKey!, malloryAddrs, limits).bytes)
      await honest.waitForPeer(isPeerWithWs(mallory.node))

      const victimId = peerIdFromPrivateKey(victim)
      assert.ok(honest.discovered.every(info => !info.id.equals(victimId)), 'no peer event for the victim')
      assert.ok(honest.discovered.every(info => info.id.equals(mallory.node.peerId)))
    })
  }

  describe('interop with @libp2p/pubsub-peer-discovery 12', () => {
    for (const router of ['gossipsub', 'floodsub'] as Router[]) {
      it(`each discovers the other on ${router}`, async () => {
        const ours = await node({ router, init: { interval: 1000 } })
        const theirs = await node({ router, discovery: 'reference', referenceInit: { interval: 1000 } })

        await theirs.node.dial(ours.node.getMultiaddrs()[0])

        const [seenByUs, seenByThem] = await Promise.all([
          ours.waitForPeer(isPeerWithWs(theirs.node)),
          theirs.waitForPeer(isPeerWithWs(ours.node))
        ])

        assert.ok(seenByUs.multiaddrs.some(isWs))
        assert.ok(seenByThem.multiaddrs.some(isWs))
      })
    }
  })

  describe('the #2902 race: discovery starts before the WebSocket listener is bound', () => {
    it('our first record reaches a connected peer with the real /ws address within 1 s of the bind', async () => {
      const result = await measureFirstRecord({ discovery: 'ours', bindDelayMs: 1000, timeoutMs: 2000, nodes })

      assert.equal(result.connectedBeforeBind, true, 'the observer was connected and subscribed before the bind')
      assert.equal(result.emptyRecordsBefore, 0, 'no record without addresses was published')
      assert.ok(result.bindToFirstRecordMs != null, 'a record with an address arrived')
      assert.ok(result.bindToFirstRecordMs < 1000, `bind → first record took ${result.bindToFirstRecordMs} ms`)
      assert.ok(result.firstAddrs.some(a => a.includes('/ws')), result.firstAddrs.join(', '))
    })

    it('the reference, same setup, sends no record with an address within 2 s of the bind (it waits for its interval)', async () => {
      const result = await measureFirstRecord({ discovery: 'reference', bindDelayMs: 1000, timeoutMs: 2000, nodes })

      assert.equal(result.connectedBeforeBind, true)
      assert.equal(result.bindToFirstRecordMs, undefined, `reference delivered a record ${result.bindToFirstRecordMs} ms after the bind`)
    })
  })
})
