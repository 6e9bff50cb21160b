import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { PeerThrottle } from '../../src/discovery/peer-throttle.js'
import { createPeer } from './fixtures/mock-pubsub.js'
import type { TestPeer } from './fixtures/mock-pubsub.js'
import type { PeerInfo } from '@libp2p/interface'

function info (peer: TestPeer, ...addrs: string[]): PeerInfo {
  return { id: peer.peerId, multiaddrs: addrs.map(a => multiaddr(a)) }
}

describe('PeerThrottle', function () {
  this.timeout(10_000)

  let peer: TestPeer
  let throttle: PeerThrottle | undefined

  before(async () => {
    peer = await createPeer()
  })

  afterEach(() => {
    throttle?.clear()
    throttle = undefined
  })

  it('emits the first record of a peer at once and says it is the first', () => {
    const emitted: PeerInfo[] = []
    throttle = new PeerThrottle({ minIntervalMs: 1000, maxPeers: 10, emit: i => emitted.push(i) })

    assert.equal(throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/1')), 'first')
    assert.equal(emitted.length, 1)
  })

  it('drops identical records inside the window and emits again after it', () => {
    let now = 0
    const emitted: PeerInfo[] = []
    throttle = new PeerThrottle({ minIntervalMs: 1000, maxPeers: 10, emit: i => emitted.push(i), now: () => now })

    assert.equal(throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/1')), 'first')
    now = 999
    assert.equal(throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/1')), 'duplicate')
    now = 1000
    assert.equal(throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/1')), 'emitted')
    assert.equal(emitted.length, 2)
    assert.equal(throttle.hasTimer, false)
  })

  it('holds changed addresses and emits the newest at the end of the window', async () => {
    const emitted: PeerInfo[] = []
    let second: (() => void) | undefined
    const secondEmitted = new Promise<void>(resolve => { second = resolve })
    throttle = new PeerThrottle({
      minIntervalMs: 100,
      maxPeers: 10,
      emit: i => {
        if (emitted.push(i) === 2) {
          second?.()
        }
      }
    })
    const start = Date.now()

    throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/1'))
    assert.equal(throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/2')), 'deferred')
    assert.equal(throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/3')), 'deferred')
    assert.equal(emitted.length, 1)

    await secondEmitted
    assert.ok(Date.now() - start >= 95, 'trailing emission waits for the window')
    assert.deepEqual(emitted[1].multiaddrs.map(String), ['/ip4/1.2.3.4/tcp/3'])
    assert.equal(throttle.hasTimer, false)
  })

  it('forgets a held change when the peer goes back to the emitted addresses', async () => {
    const emitted: PeerInfo[] = []
    throttle = new PeerThrottle({ minIntervalMs: 50, maxPeers: 10, emit: i => emitted.push(i) })

    throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/1'))
    throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/2'))
    throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/1'))
    await new Promise(resolve => setTimeout(resolve, 120))

    assert.equal(emitted.length, 1)
  })

  it('treats address order as irrelevant', () => {
    let now = 0
    const emitted: PeerInfo[] = []
    throttle = new PeerThrottle({ minIntervalMs: 1000, maxPeers: 10, emit: i => emitted.push(i), now: () => now })

    throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/1', '/ip4/1.2.3.4/tcp/2'))
    now = 1
    assert.equal(throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/2', '/ip4/1.2.3.4/tcp/1')), 'duplicate')
  })

  it('lets through at most one event per window for a sender flooding 100 000 records', () => {
    // 10 000 records/s for 10 s, on a simulated clock
    let now = 0
    const emitted: PeerInfo[] = []
    throttle = new PeerThrottle({ minIntervalMs: 5000, maxPeers: 10, emit: i => emitted.push(i), now: () => now })
    const record = info(peer, '/ip4/1.2.3.4/tcp/1')

    for (let i = 0; i < 100_000; i++) {
      now = i / 10 // ms
      throttle.offer(record)
    }

    // t = 0 and t = 5000 ms
    assert.equal(emitted.length, 2)
    assert.equal(throttle.size, 1)
  })

  it('bounds its memory at maxPeers with 1 000 senders, evicting the oldest', async () => {
    const emitted: PeerInfo[] = []
    throttle = new PeerThrottle({ minIntervalMs: 60_000, maxPeers: 100, emit: i => emitted.push(i) })
    const peers = await Promise.all(Array.from({ length: 1000 }, async () => createPeer()))

    for (const p of peers) {
      throttle.offer(info(p, '/ip4/1.2.3.4/tcp/1'))
    }

    assert.equal(emitted.length, 1000)
    assert.equal(throttle.size, 100)
    // the newest are still throttled
    assert.equal(throttle.offer(info(peers[999], '/ip4/1.2.3.4/tcp/1')), 'duplicate')
  })

  it('cancels the trailing timer on clear()', async () => {
    const emitted: PeerInfo[] = []
    throttle = new PeerThrottle({ minIntervalMs: 30, maxPeers: 10, emit: i => emitted.push(i) })

    throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/1'))
    throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/2'))
    assert.equal(throttle.hasTimer, true)
    throttle.clear()
    assert.equal(throttle.hasTimer, false)
    assert.equal(throttle.size, 0)
    await new Promise(resolve => setTimeout(resolve, 80))
    assert.equal(emitted.length, 1)
  })

  it('emits every record with minIntervalMs 0', () => {
    const emitted: PeerInfo[] = []
    throttle = new PeerThrottle({ minIntervalMs: 0, maxPeers: 10, emit: i => emitted.push(i) })

    for (let i = 0; i < 5; i++) {
      throttle.offer(info(peer, '/ip4/1.2.3.4/tcp/1'))
    }

    assert.equal(emitted.length, 5)
  })
})
