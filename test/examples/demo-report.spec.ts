import assert from 'node:assert/strict'
import { SwarmState, renderTable, secs, withoutPeerId } from '../../examples/demo-report.js'
import type { TimedNodeEvent } from '../../src/cli/events.js'

const IDS = ['12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB']
const ADDRS = ['/ip4/127.0.0.1/tcp/1001/ws', '/ip4/127.0.0.1/tcp/1002/ws']

/** the events of two nodes that handled the race: subscribe, bind, announce, find, ping */
function healthy (state: SwarmState, i: number, other: number): TimedNodeEvent[] {
  state.add(`node-${i}`, 0)
  return [
    { event: 'starting', peerId: IDS[i], topics: ['t'], listen: [], bootstrap: [], ms: 10 },
    { event: 'subscribed', topic: 't', listening: false, ms: 50 },
    { event: 'connected', peerId: IDS[other], remoteAddr: ADDRS[other], direction: 'outbound', ms: 100 },
    { event: 'listening', addrs: [`${ADDRS[i]}/p2p/${IDS[i]}`], subscribedBeforeBind: true, ms: 550 },
    { event: 'announce', topic: 't', seq: 1, addrs: [`${ADDRS[i]}/p2p/${IDS[i]}`], ms: 800 },
    { event: 'peer', peerId: IDS[other], addrs: [ADDRS[other]], again: false, ms: 900 },
    { event: 'ping', peerId: IDS[other], rttMs: 3, ms: 910 }
  ]
}

describe('demo report', () => {
  it('turns the events of a healthy swarm into progress lines, a complete swarm and passing race checks', () => {
    const state = new SwarmState()
    const lines: Array<string | undefined> = []
    const events = [healthy(state, 0, 1), healthy(state, 1, 0)]

    // both start before either finds the other, as in a run
    for (let i = 0; i < 2; i++) {
      lines.push(state.apply(i, events[i][0]))
    }
    for (let i = 0; i < 2; i++) {
      for (const e of events[i].slice(1)) {
        lines.push(state.apply(i, e))
      }
    }

    assert.ok(lines.includes(`started, peer id ${IDS[0]}`))
    assert.ok(lines.includes('discovery subscribed to t at 0.05 s — listener not bound yet'))
    assert.ok(lines.includes('bound /ip4/127.0.0.1/tcp/1001/ws at 0.55 s (discovery was already running)'))
    assert.ok(lines.includes('announced its first record: /ip4/127.0.0.1/tcp/1001/ws, 0.25 s after it had an address'))
    assert.ok(lines.includes('found node-1 at /ip4/127.0.0.1/tcp/1002/ws, 0.90 s after start'))
    assert.ok(lines.includes('pinged node-1: 3 ms'))

    assert.equal(state.complete(), true)
    assert.deepEqual(state.missing(), [])
    assert.ok(state.raceChecks().every(c => c.ok), JSON.stringify(state.raceChecks()))
    assert.match(state.nodeTable(), /node-0\s+12D3KooW…AAAAAA\s+\/ip4\/127\.0\.0\.1\/tcp\/1001\/ws\s+0\.55 s\s+\+0\.25 s\s+1\/1\s+0\.90 s\s+1\/1\s+1\s+3 ms/)
    assert.match(state.matrix(), /node-0\s+·\s+0\.90/)
    assert.equal(state.totals(), '2/2 discoveries, 2 pings (median 3 ms), 0 failed')
  })

  it('prints repeated pings and re-discoveries once', () => {
    const state = new SwarmState()
    for (const e of healthy(state, 0, 1)) { state.apply(0, e) }

    assert.equal(state.apply(0, { event: 'ping', peerId: IDS[1], rttMs: 4, ms: 2000 }), undefined)
    assert.equal(state.apply(0, { event: 'peer', peerId: IDS[1], addrs: [ADDRS[1]], again: true, ms: 2100 }), undefined)
    assert.deepEqual(state.nodes[0].pings.get(IDS[1]), [3, 4])
  })

  it('is not complete while a pair has not found or pinged each other, and says which', () => {
    const state = new SwarmState()
    const a = healthy(state, 0, 1)
    const b = healthy(state, 1, 0)
    for (const e of a) { state.apply(0, e) }
    for (const e of b.slice(0, 5)) { state.apply(1, e) }

    assert.equal(state.complete(), false)
    assert.deepEqual(state.missing(), ['node-1 has not found node-0'])

    state.apply(1, b[5])
    assert.deepEqual(state.missing(), ['node-1 has not pinged node-0'])
  })

  it('fails the race checks on a record without an address or a bind before discovery', () => {
    const state = new SwarmState()
    state.add('node-0', 0)
    state.apply(0, { event: 'starting', peerId: IDS[0], topics: ['t'], listen: [], bootstrap: [], ms: 1 })
    state.apply(0, { event: 'listening', addrs: [ADDRS[0]], subscribedBeforeBind: false, ms: 2 })
    assert.equal(state.apply(0, { event: 'announce', topic: 't', seq: 1, addrs: [], ms: 3 }), 'announced its first record: NO ADDRESS')

    const checks = state.raceChecks()
    assert.deepEqual(checks.map(c => c.ok), [false, false, false])
  })

  it('helpers: strips /p2p, formats seconds, aligns columns', () => {
    assert.equal(withoutPeerId(`${ADDRS[0]}/p2p/${IDS[0]}`), ADDRS[0])
    assert.equal(withoutPeerId(ADDRS[0]), ADDRS[0])
    assert.equal(secs(1234), '1.23 s')
    assert.equal(renderTable(['a', 'bb'], [['ccc', 'd']]), 'a    bb\n───  ──\nccc  d')
  })
})
