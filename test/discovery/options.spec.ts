import assert from 'node:assert/strict'
import { TOPIC, defaultInit, pubsubPeerDiscovery } from '../../src/discovery/index.js'
import { verifyInit } from '../../src/discovery/options.js'

describe('pubsubPeerDiscovery options', () => {
  it('uses the reference topic and documented defaults', () => {
    const config = verifyInit()

    assert.equal(TOPIC, '_peer-discovery._p2p._pubsub')
    assert.deepEqual(config.topics, [TOPIC])
    assert.equal(config.interval, 10_000)
    assert.equal(config.listenOnly, false)
    assert.deepEqual({ ...config }, { ...defaultInit })
  })

  it('replaces the default topic with `topics`, deduplicated; an empty array means the default', () => {
    assert.deepEqual(verifyInit({ topics: ['a', 'b', 'a'] }).topics, ['a', 'b'])
    assert.deepEqual(verifyInit({ topics: [] }).topics, [TOPIC])
  })

  for (const [name, value] of [
    ['interval', 0],
    ['interval', -1],
    ['interval', 1.5],
    ['interval', Number.NaN],
    ['announceDebounce', -1],
    ['maxRecordBytes', 0],
    ['maxAddrs', 0],
    ['maxAddrBytes', 0],
    ['minPeerInterval', -5],
    ['maxTrackedPeers', 0],
    ['listenOnly', 'yes'],
    ['acceptUnsigned', 1],
    ['topics', ['']],
    ['topics', [42]]
  ] as const) {
    it(`throws InvalidParametersError at creation for ${name} = ${JSON.stringify(value)}`, () => {
      assert.throws(() => pubsubPeerDiscovery({ [name]: value } as any), { name: 'InvalidParametersError' })
    })
  }
})
