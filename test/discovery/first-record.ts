/* eslint-disable no-console */
/**
 * The #2902 race, measured: a node whose WebSocket listener binds late (so
 * discovery's `afterStart` runs first) is connected to an observer before the
 * bind; we time listener bind → first record with an address at the
 * observer. Used by `libp2p.spec.ts` and runnable on its own:
 *
 * ```
 * npx tsc -p tsconfig.json && node dist/test/discovery/first-record.js [runs] [timeoutMs]
 * ```
 *
 * prints one JSON line per (discovery, run) and a summary.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { TOPIC } from '../../src/discovery/index.js'
import { Peer } from '../../src/discovery/peer.js'
import { createDiscoveryNode, slowBind, waitForSubscriber } from './fixtures/nodes.js'
import type { DiscoveryNode } from './fixtures/nodes.js'
import type { PubSubMessage } from '../../src/discovery/index.js'

export interface FirstRecordResult {
  discovery: 'ours' | 'reference'
  /** ms from the listener's bind to the first record with an address at the observer; undefined if none within the timeout */
  bindToFirstRecordMs?: number
  /** records without any address the observer received before that */
  emptyRecordsBefore: number
  /** the addresses of the first non-empty record */
  firstAddrs: string[]
  /** whether the observer was connected (and subscribed) before the bind */
  connectedBeforeBind: boolean
}

export interface FirstRecordOptions {
  discovery: 'ours' | 'reference'
  /** how late the listener binds, ms */
  bindDelayMs?: number
  /** give up waiting for a non-empty record after this many ms past the bind */
  timeoutMs?: number
  /** nodes created, for teardown by the caller */
  nodes?: DiscoveryNode[]
}

export async function measureFirstRecord (options: FirstRecordOptions): Promise<FirstRecordResult> {
  const bindDelayMs = options.bindDelayMs ?? 1000
  const timeoutMs = options.timeoutMs ?? 2000
  const nodes = options.nodes ?? []

  // the observer only listens; its own discovery is ours in listen-only mode
  const observer = await createDiscoveryNode({ init: { listenOnly: true } })
  nodes.push(observer)
  await observer.node.start()

  let listenCalled: (() => void) | undefined
  const listenCalledP = new Promise<void>(resolve => { listenCalled = resolve })
  let boundAt: number | undefined
  let bound: (() => void) | undefined
  const boundP = new Promise<void>(resolve => { bound = resolve })

  const announcer = await createDiscoveryNode({
    discovery: options.discovery,
    // reference at its default interval (10 s): that is what its users get
    referenceInit: {},
    wrapTransport: slowBind(bindDelayMs, {
      onListenCalled: () => listenCalled?.(),
      onBound: (at) => { boundAt = at; bound?.() }
    })
  })
  nodes.push(announcer)

  let emptyRecordsBefore = 0
  let firstAt: number | undefined
  let firstAddrs: string[] = []
  let gotFirst: (() => void) | undefined
  const gotFirstP = new Promise<void>(resolve => { gotFirst = resolve })

  observer.node.services.pubsub.addEventListener('message', (evt: CustomEvent<PubSubMessage>) => {
    const msg = evt.detail
    if (msg.topic !== TOPIC || msg.type !== 'signed' || !msg.from.equals(announcer.node.peerId) || firstAt != null) {
      return
    }
    const addrs = Peer.decode(msg.data).addrs
    if (addrs.length === 0) {
      emptyRecordsBefore++
      return
    }
    firstAt = performance.now()
    firstAddrs = addrs.map(a => multiaddr(a).toString())
    gotFirst?.()
  })

  // start without awaiting: start() resolves only once the slow bind is done
  const started = announcer.node.start()
  await listenCalledP
  // discovery's afterStart ran in the same Promise.all; connect before the bind
  await announcer.node.dial(observer.node.getMultiaddrs()[0])
  await waitForSubscriber(announcer, observer)
  const connectedBeforeBind = boundAt == null
  await boundP
  await started

  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([gotFirstP, new Promise<void>(resolve => { timer = setTimeout(resolve, timeoutMs) })])
  clearTimeout(timer)

  return {
    discovery: options.discovery,
    bindToFirstRecordMs: firstAt != null && boundAt != null ? Math.round(firstAt - boundAt) : undefined,
    emptyRecordsBefore,
    firstAddrs,
    connectedBeforeBind
  }
}

async function main (): Promise<void> {
  const runs = Number(process.argv[2] ?? 5)
  const timeoutMs = Number(process.argv[3] ?? 15_000)
  const results: FirstRecordResult[] = []

  for (const discovery of ['ours', 'reference'] as const) {
    for (let i = 0; i < runs; i++) {
      const nodes: DiscoveryNode[] = []
      try {
        const result = await measureFirstRecord({ discovery, timeoutMs, nodes })
        results.push(result)
        console.log(JSON.stringify(result))
      } finally {
        await Promise.all(nodes.map(async n => n.node.stop()))
      }
    }
  }

  for (const discovery of ['ours', 'reference'] as const) {
    const times = results.filter(r => r.discovery === discovery).map(r => r.bindToFirstRecordMs)
    const got = times.filter((t): t is number => t != null).sort((a, b) => a - b)
    console.log(`${discovery}: bind → first non-empty record: ${got.length}/${times.length} runs, median ${got[Math.floor(got.length / 2)] ?? 'n/a'} ms, min ${got[0] ?? 'n/a'} ms, max ${got[got.length - 1] ?? 'n/a'} ms`)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
}
