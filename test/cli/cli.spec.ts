/**
 * The `tolerant-ws` binary as a user runs it: separate processes, real
 * sockets on 127.0.0.1, output read from stdout and stderr.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { selfSignedCertificate } from '../fixtures/certificate.js'
import { Child, CLI, STACK_FRAME, runCli } from './process.js'
import type { Finished } from './process.js'
import type { AddressInfo } from 'node:net'

const LOOPBACK = ['--allow', '/ip4/127.0.0.1/ipcidr/32']

/** exactly one line on stderr, no stack trace, nothing on stdout (unless progress came first) */
function assertOneLineError (result: Finished, code: number, message: RegExp, progressFirst = false): void {
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr.join(' | ')}`)
  if (!progressFirst) {
    assert.deepEqual(result.stdout, [])
  }
  assert.equal(result.stderr.length, 1, `one line on stderr, got: ${result.stderr.join(' | ')}`)
  assert.match(result.stderr[0], /^tolerant-ws: /)
  assert.match(result.stderr[0], message)
  assert.ok(!result.stderr.some(line => STACK_FRAME.test(line)), 'no stack trace')
}

describe('tolerant-ws (the CLI binary)', function () {
  this.timeout(60_000)

  const children: Child[] = []

  function start (args: string[]): Child {
    const child = new Child(CLI, args)
    children.push(child)
    return child
  }

  afterEach(async () => {
    await Promise.all(children.splice(0).map(async c => c.stop()))
  })

  describe('--help', () => {
    it('prints help for the tool and for every command, exit 0', async () => {
      for (const [args, heading] of [[['--help'], /^tolerant-ws — /], [['node', '--help'], /^Usage: tolerant-ws node/], [['dial', '--help'], /^Usage: tolerant-ws dial/], [[], /^tolerant-ws — /]] as const) {
        const result = await runCli([...args])
        assert.equal(result.code, 0)
        assert.match(result.stdout[0], heading)
        assert.deepEqual(result.stderr, [])
      }
    })

    it('prints the version', async () => {
      const result = await runCli(['--version'])
      assert.equal(result.code, 0)
      assert.match(result.stdout[0], /^tolerant-ws \d+\.\d+\.\d+ \(node v\d+/)
    })
  })

  describe('bad command lines', () => {
    const cases: Array<[string[], RegExp]> = [
      [['serve'], /unknown command 'serve'/],
      [['node', '--lsten', '/ip4/127.0.0.1/tcp/0/ws'], /unknown option --lsten for 'node' \(see: tolerant-ws node --help\)/],
      [['node', '--listen'], /--listen needs a value/],
      [['node', '--listen', '/ip4/127.0.0.1/tcp/0'], /not a WebSocket address/],
      [['node', '--listen', '/ip4/127.0.0.1/tcp/x/ws'], /not a valid multiaddr/],
      [['node', '--bootstrap', '/ip4/127.0.0.1/tcp/4001/ws'], /needs the peer id/],
      [['node', '--interval', 'often'], /--interval must be a number of seconds/],
      [['dial'], /dial needs a multiaddr/],
      [['dial', 'not-a-multiaddr'], /not a valid multiaddr/],
      [['dial', '/ip4/127.0.0.1/udp/1/quic-v1'], /not a WebSocket address/]
    ]

    for (const [args, message] of cases) {
      it(`'${args.join(' ')}' prints one line and exits 2`, async () => {
        assertOneLineError(await runCli(args), 2, message)
      })
    }
  })

  describe('failures while running', () => {
    it('a dial nobody answers prints one line and exits 1', async () => {
      const server = net.createServer()
      await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
      const port = (server.address() as AddressInfo).port
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })

      assertOneLineError(await runCli(['dial', `/ip4/127.0.0.1/tcp/${port}/ws`]), 1, /dial \/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws failed: .*ECONNREFUSED/)
    })

    it('a dial that hangs stops at --timeout with one line and exit 1', async () => {
      const sockets = new Set<net.Socket>()
      const server = net.createServer(socket => { sockets.add(socket); socket.on('error', () => { /* the CLI exits; nothing to do */ }) })
      await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })

      try {
        const port = (server.address() as AddressInfo).port
        const started = performance.now()
        const result = await runCli(['dial', `/ip4/127.0.0.1/tcp/${port}/ws`, '--timeout', '1'])

        assertOneLineError(result, 1, /dial .* (no answer within 1 s|failed)/)
        assert.ok(performance.now() - started < 15_000)
      } finally {
        for (const socket of sockets) { socket.destroy() }
        await new Promise<void>(resolve => { server.close(() => { resolve() }) })
      }
    })

    it('a port already in use prints one line and exits 1', async () => {
      const server = net.createServer()
      await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })

      try {
        const port = (server.address() as AddressInfo).port
        const result = await runCli(['node', '--listen', `/ip4/127.0.0.1/tcp/${port}/ws`])
        // the node printed its start-up progress before the bind failed
        assertOneLineError(result, 1, /could not start: .*EADDRINUSE/, true)
      } finally {
        await new Promise<void>(resolve => { server.close(() => { resolve() }) })
      }
    })

    it('a missing certificate file prints one line and exits 1', async () => {
      assertOneLineError(await runCli(['node', '--listen', '/ip4/127.0.0.1/tcp/0/tls/ws', '--cert', '/nonexistent/cert.pem', '--key', '/nonexistent/key.pem']), 1, /cannot read --cert \/nonexistent\/cert\.pem: no such file/)
    })
  })

  describe('node and dial', () => {
    it('two nodes discover and ping each other, dial prints the interop line, SIGTERM stops them with exit 0', async () => {
      const a = start(['node', '--json', '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--ping-interval', '1', ...LOOPBACK])
      const listening = await a.waitForEvent(e => e.event === 'listening')
      const addrA = (listening as { addrs: string[] }).addrs[0]
      const idA = a.events.find(e => e.event === 'starting') as { peerId: string }

      const b = start(['node', '--json', '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--bootstrap', addrA, '--bind-delay', '0.3', '--ping-interval', '1', ...LOOPBACK])
      const idB = await b.waitForEvent(e => e.event === 'starting') as { peerId: string }

      // b binds late: its discovery subscribed before the bind, and its first record has the address
      const bListening = await b.waitForEvent(e => e.event === 'listening') as { addrs: string[], subscribedBeforeBind: boolean }
      assert.equal(bListening.subscribedBeforeBind, true)
      const bAnnounce = await b.waitForEvent(e => e.event === 'announce') as { addrs: string[] }
      assert.ok(bAnnounce.addrs.length > 0, 'the first record has an address')

      await a.waitForEvent(e => e.event === 'peer' && (e as { peerId: string }).peerId === idB.peerId)
      await b.waitForEvent(e => e.event === 'peer' && (e as { peerId: string }).peerId === idA.peerId)
      await a.waitForEvent(e => e.event === 'ping' && (e as { peerId: string }).peerId === idB.peerId)
      await b.waitForEvent(e => e.event === 'ping' && (e as { peerId: string }).peerId === idA.peerId)

      const human = await runCli(['dial', addrA])
      assert.equal(human.code, 0, human.stderr.join(' | '))
      assert.match(human.stdout[0], /^dialed \/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/\S+ \(peer \S+\) in [\d.]+ ms over \/noise \+ \/yamux\/1\.0\.0; ping [\d.]+ ms$/)
      const interop = JSON.parse(human.stdout[1])
      assert.deepEqual(Object.keys(interop), ['handshakePlusOneRTTMillis', 'pingRTTMilllis'])
      assert.equal(typeof interop.handshakePlusOneRTTMillis, 'number')
      assert.equal(typeof interop.pingRTTMilllis, 'number')

      const json = await runCli(['dial', '--json', addrA])
      assert.equal(json.code, 0)
      assert.equal(json.stdout.length, 1)
      assert.ok(JSON.parse(json.stdout[0]).handshakePlusOneRTTMillis > 0)

      for (const child of [b, a]) {
        const finished = await child.stop()
        assert.equal(finished.code, 0, finished.stderr.join(' | '))
        assert.equal(child.events.at(-1)?.event, 'stopped')
        assert.deepEqual(finished.stderr, [])
      }
    })

    it('prints human lines by default and stops by itself after --duration', async () => {
      const result = await runCli(['node', '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--duration', '0.5'])

      assert.equal(result.code, 0, result.stderr.join(' | '))
      assert.match(result.stdout[0], /^\[\s+\d+\.\d{3}s\] peer id 12D3KooW\S+; discovery topics _peer-discovery\._p2p\._pubsub$/)
      assert.ok(result.stdout.some(line => /\] listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//.test(line)))
      assert.match(result.stdout.at(-1) ?? '', /\] stopped \(--duration 0\.5s elapsed\)$/)
    })

    describe('over wss', () => {
      let dir: string

      before(async () => {
        dir = await mkdtemp(join(tmpdir(), 'tolerant-ws-cli-'))
        const { key, cert } = await selfSignedCertificate()
        await writeFile(join(dir, 'key.pem'), key)
        await writeFile(join(dir, 'cert.pem'), cert)
      })

      after(async () => {
        await rm(dir, { recursive: true, force: true })
      })

      it('listens with --cert/--key; dial trusts it with --ca and refuses it without', async () => {
        const a = start(['node', '--json', '--listen', '/ip4/127.0.0.1/tcp/0/tls/ws', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem'), ...LOOPBACK])
        const listening = await a.waitForEvent(e => e.event === 'listening') as { addrs: string[] }
        const addr = listening.addrs[0]
        assert.match(addr, /\/tls\/ws\/p2p\//)

        const trusted = await runCli(['dial', '--json', addr, '--ca', join(dir, 'cert.pem')])
        assert.equal(trusted.code, 0, trusted.stderr.join(' | '))
        assert.ok(JSON.parse(trusted.stdout[0]).pingRTTMilllis >= 0)

        const insecure = await runCli(['dial', '--json', addr, '--insecure'])
        assert.equal(insecure.code, 0, insecure.stderr.join(' | '))

        assertOneLineError(await runCli(['dial', addr, '--timeout', '10']), 1, /certificate/)
      })
    })
  })
})
