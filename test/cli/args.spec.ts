import assert from 'node:assert/strict'
import { DEFAULT_LISTEN, UsageError, parseCommandLine } from '../../src/cli/args.js'
import { TOPIC } from '../../src/discovery/index.js'
import type { DialCommandOptions, NodeCommandOptions } from '../../src/cli/args.js'

const PEER = '12D3KooWBh9Gdbe2KZwdvVQ7RF6ib8ye1sBnG4zGm1pyX6TjtDXd'

function node (argv: string[]): NodeCommandOptions {
  const parsed = parseCommandLine(['node', ...argv])
  assert.equal(parsed.command, 'node')
  return (parsed as { options: NodeCommandOptions }).options
}

function dial (argv: string[]): DialCommandOptions {
  const parsed = parseCommandLine(['dial', ...argv])
  assert.equal(parsed.command, 'dial')
  return (parsed as { options: DialCommandOptions }).options
}

function usageError (argv: string[], message: RegExp): void {
  assert.throws(() => parseCommandLine(argv), (err: Error) => {
    assert.equal(err.name, 'UsageError')
    assert.ok(err instanceof UsageError)
    assert.match(err.message, message)
    assert.ok(!err.message.includes('\n'), 'one line')
    return true
  })
}

describe('parseCommandLine', () => {
  describe('help and version', () => {
    it('shows the main help with no argument, --help, -h and help', () => {
      for (const argv of [[], ['--help'], ['-h'], ['help']]) {
        assert.deepEqual(parseCommandLine(argv), { command: 'help' })
      }
    })

    it('shows a command help with <command> --help and help <command>', () => {
      assert.deepEqual(parseCommandLine(['node', '--help']), { command: 'help', topic: 'node' })
      assert.deepEqual(parseCommandLine(['node', '-h']), { command: 'help', topic: 'node' })
      assert.deepEqual(parseCommandLine(['dial', '--help']), { command: 'help', topic: 'dial' })
      assert.deepEqual(parseCommandLine(['help', 'dial']), { command: 'help', topic: 'dial' })
    })

    it('shows the version with --version and -v', () => {
      assert.deepEqual(parseCommandLine(['--version']), { command: 'version' })
      assert.deepEqual(parseCommandLine(['-v']), { command: 'version' })
    })
  })

  describe('node', () => {
    it('has a default for every option', () => {
      const options = node([])

      assert.deepEqual(options.listen.map(String), [DEFAULT_LISTEN])
      assert.deepEqual(options.bootstrap, [])
      assert.deepEqual(options.topics, [TOPIC])
      assert.equal(options.intervalMs, 10_000)
      assert.equal(options.pingIntervalMs, 10_000)
      assert.equal(options.durationMs, undefined)
      assert.equal(options.bindDelayMs, 0)
      assert.equal(options.insecure, false)
      assert.deepEqual(options.allow, [])
      assert.equal(options.router, 'gossipsub')
      assert.equal(options.json, false)
    })

    it('takes repeated --listen, --bootstrap, --topic and --allow', () => {
      const options = node([
        '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--listen', '/ip6/::1/tcp/0/ws',
        '--bootstrap', `/ip4/127.0.0.1/tcp/4001/ws/p2p/${PEER}`,
        '--topic', 'a', '--topic', 'b',
        '--allow', '/ip4/127.0.0.1/ipcidr/32', '--allow', '/ip6/::1/ipcidr/128'
      ])

      assert.deepEqual(options.listen.map(String), ['/ip4/127.0.0.1/tcp/0/ws', '/ip6/::1/tcp/0/ws'])
      assert.deepEqual(options.bootstrap.map(String), [`/ip4/127.0.0.1/tcp/4001/ws/p2p/${PEER}`])
      assert.deepEqual(options.topics, ['a', 'b'])
      assert.deepEqual(options.allow, ['/ip4/127.0.0.1/ipcidr/32', '/ip6/::1/ipcidr/128'])
    })

    it('reads every time in seconds, decimals allowed', () => {
      const options = node(['--interval', '2.5', '--ping-interval', '0', '--duration', '3', '--bind-delay', '0.25'])

      assert.equal(options.intervalMs, 2500)
      assert.equal(options.pingIntervalMs, 0)
      assert.equal(options.durationMs, 3000)
      assert.equal(options.bindDelayMs, 250)
    })

    it('accepts /tls/ws and /wss listeners with --cert and --key', () => {
      const options = node(['--listen', '/ip4/127.0.0.1/tcp/0/tls/ws', '--listen', '/ip4/127.0.0.1/tcp/0/wss', '--cert', 'c.pem', '--key', 'k.pem'])

      assert.equal(options.listen.length, 2)
      assert.equal(options.certFile, 'c.pem')
      assert.equal(options.keyFile, 'k.pem')
    })

    it('rejects what a user must fix, in one line each', () => {
      usageError(['node', '--nope'], /unknown option --nope for 'node'/)
      usageError(['node', '--listen'], /--listen needs a value/)
      usageError(['node', '--json=yes'], /--json takes no value/)
      usageError(['node', 'extra'], /unexpected argument for 'node': extra/)
      usageError(['node', '--listen', '/ip4/1.2.3.4/tcp/1'], /is not a WebSocket address/)
      usageError(['node', '--listen', '/ip4/999.1.1.1/tcp/1/ws'], /is not a valid multiaddr/)
      usageError(['node', '--listen', 'localhost:4001'], /is not a valid multiaddr/)
      usageError(['node', '--bootstrap', '/ip4/127.0.0.1/tcp/4001/ws'], /needs the peer id/)
      usageError(['node', '--listen', '/ip4/127.0.0.1/tcp/0/tls/ws'], /needs --cert and --key/)
      usageError(['node', '--cert', 'c.pem'], /--cert and --key go together/)
      usageError(['node', '--interval', 'soon'], /--interval must be a number of seconds/)
      usageError(['node', '--interval', '0'], /--interval must be a number of seconds ≥ 0.001/)
      usageError(['node', '--ping-interval', '-1'], /--ping-interval/)
      usageError(['node', '--duration', ''], /--duration/)
      usageError(['node', '--router', 'meshsub'], /--router must be gossipsub or floodsub/)
      usageError(['node', '--allow', '/ip4/127.0.0.1'], /not an address range/)
      usageError(['node', '--topic', ' '], /--topic must not be empty/)
    })
  })

  describe('dial', () => {
    it('takes one WebSocket multiaddr', () => {
      const options = dial([`/ip4/127.0.0.1/tcp/4001/ws/p2p/${PEER}`, '--timeout', '5', '--json'])

      assert.equal(options.target.toString(), `/ip4/127.0.0.1/tcp/4001/ws/p2p/${PEER}`)
      assert.equal(options.timeoutMs, 5000)
      assert.equal(options.json, true)
      assert.equal(options.insecure, false)
    })

    it('defaults to a 30 s timeout', () => {
      assert.equal(dial(['/dns4/example.com/tcp/443/wss']).timeoutMs, 30_000)
    })

    it('rejects a missing, extra or malformed address', () => {
      usageError(['dial'], /dial needs a multiaddr/)
      usageError(['dial', '/ip4/127.0.0.1/tcp/1/ws', '/ip4/127.0.0.1/tcp/2/ws'], /dial takes one multiaddr, got 2/)
      usageError(['dial', 'ws://127.0.0.1:4001'], /is not a valid multiaddr/)
      usageError(['dial', '/ip4/127.0.0.1/tcp/4001'], /is not a WebSocket address/)
      usageError(['dial', '/ip4/127.0.0.1/tcp/1/ws', '--timeout', 'x'], /--timeout must be a number of seconds/)
    })
  })

  it('rejects an unknown command and flags before a command', () => {
    usageError(['serve'], /unknown command 'serve'; commands are: node, dial, help/)
    usageError(['--listen', '/ip4/127.0.0.1/tcp/0/ws'], /expected a command before --listen/)
    usageError(['help', 'serve'], /no help for 'serve'/)
  })
})
