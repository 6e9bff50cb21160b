/* eslint-disable no-console */
/**
 * The transport's browser build in real headless Chromium (Debian's
 * `chromium`, driven by playwright-core), against Node listeners.
 *
 * Skips only when Chromium is not installed; `.ci/run` installs it so CI
 * never skips.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { CHROMIUM_PATH, bundlePage, hasChromium, openPage, servePage } from './harness.js'
import { createNodeSide } from './nodes.js'
import type { BrowserSession, PageServer } from './harness.js'
import type { NodeSide } from './nodes.js'
import type { DialOutcome, SwarmResult, SwarmRun } from './protocol.js'
import type { AddressInfo } from 'node:net'

describe('browser build in headless Chromium', function () {
  this.timeout(60_000)

  let server: PageServer | undefined
  let session: BrowserSession | undefined

  before(async function () {
    if (!hasChromium()) {
      console.warn(`      SKIPPED: no Chromium at ${CHROMIUM_PATH}. Install it with: apt-get update && apt-get install -y chromium`)
      this.skip()
    }

    server = await servePage(await bundlePage())
    session = await openPage(server.url)
  })

  after(async () => {
    await session?.close()
    await server?.close()
  })

  /** runs `fn` in the page; a failure carries the page's console */
  async function inPage<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err: any) {
      throw new Error(`${err.message as string}\npage log:\n${session?.log.join('\n') ?? ''}`)
    }
  }

  /** runs `runSwarm` in the page */
  async function runSwarmInPage (run: SwarmRun): Promise<SwarmResult> {
    return inPage(async () => session!.page.evaluate(async (r) => window.tolerantWs.runSwarm(r), run))
  }

  describe('libp2p in the page', () => {
    let nodes: NodeSide[] = []

    afterEach(async () => {
      await Promise.all(nodes.map(async n => n.node.stop()))
      nodes = []
    })

    it('dials a Node listener, discovers the Node peers over gossipsub, pings them and streams 8 MiB with backpressure', async () => {
      const a = await createNodeSide()
      const b = await createNodeSide()
      nodes.push(a, b)

      // b is connected to a only; the page dials a only, so it can learn of b through pubsub alone
      await b.node.dial(a.node.getMultiaddrs()[0])

      const run: SwarmRun = {
        bootstrap: a.node.getMultiaddrs()[0].toString(),
        expect: [a.node.peerId.toString(), b.node.peerId.toString()],
        echoBytes: 8 * 1024 * 1024,
        maxBufferedAmount: 64 * 1024,
        timeoutMs: 20_000
      }
      const result = await runSwarmInPage(run)

      const name = (id: string): string => id === run.expect[0] ? 'a' : 'b'
      console.log(`      page discovered ${result.discovered.map(d => `${name(d.id)} after ${d.afterMs} ms`).join(', ')}; pinged ${result.pings.map(p => `${name(p.id)} in ${p.rttMs} ms`).join(', ')}; echoed ${result.echoed.received} bytes, waited for drain ${result.echoed.waitedForDrain}×`)

      for (const target of [a, b]) {
        const id = target.node.peerId.toString()
        const found = result.discovered.find(d => d.id === id)
        assert.ok(found != null, `the page discovered ${id}`)
        assert.ok(found.addrs.some(addr => addr.includes('/ws')), `a /ws address for ${id}: ${found.addrs.join(', ')}`)

        const pinged = result.pings.find(p => p.id === id)
        assert.ok(pinged != null && pinged.rttMs >= 0, `the page pinged ${id}`)
        assert.match(pinged.remoteAddr, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws/)

        // the Node listener accepted the browser's connection
        assert.ok(target.inbound.some(c => c.remotePeer.toString() === result.peerId), `${id} accepted a connection from the page`)
      }

      // b was never dialled by the page before discovery: its address came from a's forwarding of b's record
      assert.equal(result.echoed.received, result.echoed.sent)
      assert.equal(result.echoed.same, true, 'echoed bytes are the bytes sent, in order')
      assert.ok(result.echoed.waitedForDrain > 0, 'the writer waited for bufferedAmount to fall at least once')
    })
  })

  describe('the browser dialer', () => {
    let silent: net.Server | undefined
    const sockets = new Set<net.Socket>()

    afterEach(async () => {
      for (const socket of sockets) {
        socket.destroy()
      }
      sockets.clear()
      await new Promise<void>(resolve => { silent?.close(() => { resolve() }) ?? resolve() })
      silent = undefined
    })

    /** a TCP server that accepts and never answers the WebSocket upgrade */
    async function silentServer (): Promise<string> {
      silent = net.createServer((socket) => {
        sockets.add(socket)
        socket.on('error', () => { /* the browser tears the socket down; nothing to do */ })
      })
      await new Promise<void>(resolve => { silent!.listen(0, '127.0.0.1', resolve) })
      return `/ip4/127.0.0.1/tcp/${(silent.address() as AddressInfo).port}/ws`
    }

    async function dial (addr: string, options: { handshakeTimeout: number, abortAfterMs?: number }): Promise<DialOutcome> {
      return inPage(async () => session!.page.evaluate(async ([a, o]) => window.tolerantWs.dial(a, o), [addr, options] as const))
    }

    it('fails with TimeoutError after handshakeTimeout when the server never answers the upgrade', async () => {
      const outcome = await dial(await silentServer(), { handshakeTimeout: 500 })

      assert.equal(outcome.name, 'TimeoutError', outcome.message)
      assert.ok(outcome.elapsedMs >= 450 && outcome.elapsedMs < 3000, `failed after ${outcome.elapsedMs} ms`)
      assert.equal(outcome.listenersLeft, 0, 'no abort listener left on the signal')
    })

    it('rejects with AbortError as soon as the signal aborts, leaving no listener on it', async () => {
      const outcome = await dial(await silentServer(), { handshakeTimeout: 10_000, abortAfterMs: 200 })

      assert.equal(outcome.name, 'AbortError', outcome.message)
      assert.ok(outcome.elapsedMs < 2000, `rejected after ${outcome.elapsedMs} ms`)
      assert.equal(outcome.listenersLeft, 0, 'no abort listener left on the signal')
    })

    it('fails with ConnectionFailedError when nothing listens on the port', async () => {
      const addr = await silentServer()
      await new Promise<void>(resolve => { silent!.close(() => { resolve() }) })
      silent = undefined

      const outcome = await dial(addr, { handshakeTimeout: 5000 })

      assert.equal(outcome.name, 'ConnectionFailedError', outcome.message)
      assert.equal(outcome.listenersLeft, 0, 'no abort listener left on the signal')
    })

    it('listens on nothing: browsers cannot accept connections', async () => {
      const kept = await inPage(async () => session!.page.evaluate(() => window.tolerantWs.listenFilter(['/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/tcp/0/tls/ws'])))

      assert.deepEqual(kept, [])
    })
  })
})
