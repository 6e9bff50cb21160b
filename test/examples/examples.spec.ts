/**
 * Every example runs, in its own process, as a user would run it, and says
 * what it is meant to show. (Type-checking is the build's job: tsconfig
 * includes examples/, and `npm test` builds first.)
 */
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { STACK_FRAME, example, run } from '../cli/process.js'

interface ExampleRun {
  args: string[]
  /** each must match some line of stdout */
  expect: RegExp[]
  timeoutMs: number
}

/** modules the examples import; not run on their own */
const HELPERS = new Set(['certificate.js', 'demo-report.js'])

const RUNS: Record<string, ExampleRun[]> = {
  'minimal.js': [{
    args: [],
    timeoutMs: 30_000,
    expect: [
      /^b discovered c at \/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws/,
      /^c discovered b at \/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws/,
      /^b pinged c: \d+ ms$/,
      /^c pinged b: \d+ ms$/
    ]
  }],
  'wss.js': [{
    args: [],
    timeoutMs: 30_000,
    expect: [
      /^listener on \/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/ws\/p2p\//,
      /^dialer connected over \/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/ws/,
      /^dialer pinged the listener: \d+ ms$/,
      /^a dialer without the CA was refused: ConnectionFailedError: .*certificate/
    ]
  }],
  'proxy.js': [{
    args: [],
    timeoutMs: 30_000,
    expect: [
      /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/\S+: connected \(\/noise, \/yamux\/1\.0\.0\), ping \d+ ms$/,
      /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/ws\/p2p\/\S+: connected \(\/noise, \/yamux\/1\.0\.0\), ping \d+ ms$/,
      /^the proxy opened 2 tunnel\(s\): CONNECT 127\.0\.0\.1:\d+, CONNECT 127\.0\.0\.1:\d+$/
    ]
  }],
  'demo.js': [{
    args: ['--nodes', '3'],
    timeoutMs: 60_000,
    expect: [
      /^tolerant-ws demo: 3 nodes over ws on 127\.0\.0\.1/,
      /node-0 +discovery subscribed to _peer-discovery\._p2p\._pubsub at [\d.]+ s — listener not bound yet$/,
      /node-1 +bound \/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws at [\d.]+ s \(discovery was already running\)$/,
      /node-2 +found node-1 at \/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws/,
      /node-1 +pinged node-2: \d+ ms$/,
      /^Summary: 3 nodes, ws, [\d.]+ s in all/,
      /^node-2 +12D3KooW…\S+ +\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws +[\d.]+ s +\+[\d.]+ s +2\/2 +[\d.]+ s +2\/2/,
      /^✔ every node discovered every other node through pubsub and pinged it$/,
      /^✔ discovery was running before the listener was bound on 3\/3 nodes$/,
      /^✔ records announced without an address: 0$/,
      /^✔ first record carried the bound address on 3\/3 nodes$/
    ]
  }, {
    args: ['--nodes', '2', '--wss'],
    timeoutMs: 60_000,
    expect: [
      /^tolerant-ws demo: 2 nodes over wss/,
      /node-1 +found node-0 at \/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/ws/,
      /^✔ every node discovered every other node through pubsub and pinged it$/
    ]
  }]
}

describe('examples', function () {
  this.timeout(120_000)

  it('every example in examples/ is run below', async () => {
    const dir = fileURLToPath(new URL('../../examples/', import.meta.url))
    const scripts = (await readdir(dir)).filter(f => f.endsWith('.js') && !HELPERS.has(f))

    assert.deepEqual(scripts.sort(), Object.keys(RUNS).sort())
  })

  for (const [script, runs] of Object.entries(RUNS)) {
    for (const { args, expect, timeoutMs } of runs) {
      it(`${script} ${args.join(' ')} exits 0 and shows what it is for`, async function () {
        this.timeout(timeoutMs + 5000)
        const result = await run(example(script), args, timeoutMs)
        const output = `stdout:\n${result.stdout.join('\n')}\nstderr:\n${result.stderr.join('\n')}`

        assert.equal(result.code, 0, output)
        for (const pattern of expect) {
          assert.ok(result.stdout.some(line => pattern.test(line)), `no line matches ${pattern.toString()}\n${output}`)
        }
        assert.ok(!result.stderr.some(line => STACK_FRAME.test(line)), `no stack trace\n${output}`)
      })
    }
  }

  it('demo.js rejects a bad flag with one line and exit 2', async () => {
    for (const args of [['--nodes', '1'], ['--nodes', 'many'], ['--colour']]) {
      const result = await run(example('demo.js'), args, 10_000)

      assert.equal(result.code, 2, result.stderr.join('\n'))
      assert.equal(result.stderr.length, 1)
      assert.match(result.stderr[0], /^demo: .* \(see: npm run demo -- --help\)$/)
    }
  })
})
