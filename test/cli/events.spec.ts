import assert from 'node:assert/strict'
import { EventPrinter, describeEvent, parseEventLine, shortPeerId, stamp } from '../../src/cli/events.js'
import type { NodeEvent } from '../../src/cli/events.js'

const PEER = '12D3KooWBh9Gdbe2KZwdvVQ7RF6ib8ye1sBnG4zGm1pyX6TjtDXd'

describe('CLI events', () => {
  describe('describeEvent', () => {
    it('writes one line for every event', () => {
      const events: NodeEvent[] = [
        { event: 'starting', peerId: PEER, topics: ['t'], listen: [], bootstrap: [] },
        { event: 'subscribed', topic: 't', listening: false },
        { event: 'listening', addrs: ['/ip4/127.0.0.1/tcp/1/ws'], subscribedBeforeBind: true },
        { event: 'announce', topic: 't', seq: 1, addrs: ['/ip4/127.0.0.1/tcp/1/ws'] },
        { event: 'connected', peerId: PEER, remoteAddr: '/ip4/127.0.0.1/tcp/2/ws', direction: 'inbound' },
        { event: 'disconnected', peerId: PEER, remoteAddr: '/ip4/127.0.0.1/tcp/2/ws' },
        { event: 'peer', peerId: PEER, addrs: ['/ip4/127.0.0.1/tcp/2/ws'], again: false },
        { event: 'ping', peerId: PEER, rttMs: 2 },
        { event: 'ping-failed', peerId: PEER, error: 'boom' },
        { event: 'stopped', reason: 'SIGINT' }
      ]

      for (const e of events) {
        const line = describeEvent(e)
        assert.ok(line.length > 0 && !line.includes('\n'), `${e.event}: ${line}`)
      }

      assert.equal(describeEvent(events[1]), 'discovery subscribed to t (no listener bound yet)')
      assert.equal(describeEvent(events[2]), 'listening on /ip4/127.0.0.1/tcp/1/ws (discovery was already running)')
      assert.equal(describeEvent(events[3]), 'announced #1 on t: /ip4/127.0.0.1/tcp/1/ws')
      assert.equal(describeEvent(events[6]), `discovered ${PEER} at /ip4/127.0.0.1/tcp/2/ws`)
      assert.equal(describeEvent(events[7]), 'ping 12D3KooW…TjtDXd 2.0 ms')
    })
  })

  it('shortens peer ids and stamps seconds', () => {
    assert.equal(shortPeerId(PEER), '12D3KooW…TjtDXd')
    assert.equal(shortPeerId('short'), 'short')
    assert.equal(stamp(1234), '[   1.234s]')
  })

  describe('EventPrinter', () => {
    it('prints JSON lines that parseEventLine reads back, with ms', () => {
      const lines: string[] = []
      const printer = new EventPrinter(true, line => lines.push(line), performance.now() - 1500)

      printer.print({ event: 'ping', peerId: PEER, rttMs: 3 })

      const parsed = parseEventLine(lines[0])
      assert.ok(parsed != null)
      assert.equal(parsed.event, 'ping')
      assert.ok(parsed.ms >= 1500 && parsed.ms < 5000)
    })

    it('prints human lines with a time stamp', () => {
      const lines: string[] = []
      new EventPrinter(false, line => lines.push(line)).print({ event: 'stopped', reason: 'SIGTERM' })

      assert.match(lines[0], /^\[\s+0\.\d{3}s\] stopped \(SIGTERM\)$/)
    })
  })

  it('parseEventLine ignores lines that are not events', () => {
    assert.equal(parseEventLine('hello'), undefined)
    assert.equal(parseEventLine('{"x":1}'), undefined)
    assert.equal(parseEventLine('{"event":"ping"}'), undefined)
  })
})
