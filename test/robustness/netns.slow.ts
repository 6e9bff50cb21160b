/* eslint-disable no-console */
/**
 * ROBUSTNESS 22: two libp2p nodes on real TCP stacks in two network
 * namespaces, with 100 ms delay and 5 % loss each way, then a 10 s partition.
 * Needs root and iproute2 (installed when missing); skips, saying why, only
 * where namespaces cannot be created. See fixtures/netns.ts for how the link
 * is impaired (tc netem, or netns/netem.py where the kernel lacks sch_netem).
 */
import { expect } from 'chai'
import { NetworkLab } from './fixtures/netns.js'
import type { ChildProcess } from 'node:child_process'

const TYPED = /Error$/

class RemoteNode {
  readonly child: ChildProcess
  readonly name: string
  stdout = ''
  stderr = ''
  peerId = ''
  addrs: string[] = []
  private nextId = 1
  private readonly waiting = new Map<number, (message: any) => void>()
  readonly exited: Promise<number | null>

  constructor (name: string, child: ChildProcess) {
    this.name = name
    this.child = child
    child.stdout?.on('data', (chunk: Buffer) => { this.stdout += chunk.toString() })
    child.stderr?.on('data', (chunk: Buffer) => { this.stderr += chunk.toString() })
    child.on('message', (message: any) => {
      this.waiting.get(message.id)?.(message)
      this.waiting.delete(message.id)
    })
    this.exited = new Promise(resolve => child.once('exit', code => { resolve(code) }))
  }

  async ready (ms = 30_000): Promise<void> {
    const info = await this.wait(0, ms)
    this.peerId = info.peerId
    this.addrs = info.addrs
  }

  private async wait (id: number, ms: number): Promise<any> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        reject(new Error(`${this.name}: no answer to request ${id} within ${ms}ms; stderr: ${this.stderr}`))
      }, ms)
      this.waiting.set(id, (message) => {
        clearTimeout(timer)
        resolve(message)
      })
    })
  }

  /** Sends a command; rejects when no answer comes within `ms` (a hang) */
  async request (cmd: string, args: Record<string, unknown> = {}, ms = 30_000): Promise<any> {
    const id = this.nextId++
    const answer = this.wait(id, ms)
    this.child.send({ id, cmd, ...args })
    return answer
  }

  async stop (): Promise<number | null> {
    if (this.child.exitCode == null && this.child.connected) {
      await this.request('stop', {}, 10_000).catch(() => {})
    }

    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

describe('ROBUSTNESS 22. loss, delay and partition between network namespaces', function () {
  this.timeout(300_000)
  let lab: NetworkLab | undefined
  const nodes: RemoteNode[] = []

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async node => node.stop()))
    lab?.destroy()
    lab = undefined
  })

  it('dials complete or fail typed within their timeout, connections recover or close, nothing hangs, discovery re-converges', async function () {
    const created = await NetworkLab.create()

    if ('skip' in created) {
      console.log(`      SKIPPED: ${created.skip}`)
      this.skip()
    }

    lab = created as NetworkLab
    console.log(`      link impaired with ${lab.impairment === 'netem' ? 'tc netem on a veth pair' : 'netns/netem.py between two TUN devices (this kernel has no sch_netem)'}`)
    const script = new URL('./fixtures/netns-node.js', import.meta.url).pathname
    const config = (ip: string): string => JSON.stringify({ listen: `/ip4/${ip}/tcp/4001/ws`, allow: ['/ip4/10.77.0.0/ipcidr/24'], interval: 1000 })
    const a = new RemoteNode('A', lab.spawnIn(lab.nsA, script, [config(lab.ipA)]))
    const b = new RemoteNode('B', lab.spawnIn(lab.nsB, script, [config(lab.ipB)]))
    nodes.push(a, b)
    await Promise.all([a.ready(), b.ready()])
    const withPeer = (addr: string | undefined, peer: string): string => {
      if (addr == null) {
        return ''
      }

      return addr.includes('/p2p/') ? addr : `${addr}/p2p/${peer}`
    }
    const addrB = withPeer(b.addrs.find(addr => addr.includes(lab!.ipB)), b.peerId)
    const addrA = withPeer(a.addrs.find(addr => addr.includes(lab!.ipA)), a.peerId)
    expect(addrB, `B's addresses: ${b.addrs.join(', ')}`).to.include(lab.ipB)
    expect(addrA, `A's addresses: ${a.addrs.join(', ')}`).to.include(lab.ipA)

    // a clean link first
    const first = await a.request('dial', { addr: addrB, timeoutMs: 10_000 })
    expect(first.ok, JSON.stringify(first)).to.equal(true)
    await a.request('keep-alive', { peer: b.peerId, addr: addrB })
    await b.request('keep-alive', { peer: a.peerId, addr: addrA })
    const discovers = async (node: RemoteNode, peer: string, since: number, ms: number): Promise<number | undefined> => {
      const deadline = Date.now() + ms
      while (Date.now() < deadline) {
        const state = await node.request('state')
        const event = state.discovered.find((d: any) => d.peer === peer && d.at >= since)
        if (event != null) { return event.at - since }
        await sleep(250)
      }
      return undefined
    }
    expect(await discovers(a, b.peerId, 0, 15_000), 'A discovers B on a clean link').to.be.a('number')
    expect(await discovers(b, a.peerId, 0, 15_000), 'B discovers A on a clean link').to.be.a('number')

    // 100 ms each way, 5 % loss each way
    lab.impair(100, 5)
    const DIAL_TIMEOUT_MS = 15_000
    const dials = await Promise.all(Array.from({ length: 8 }, async () => a.request('dial', { addr: addrB, timeoutMs: DIAL_TIMEOUT_MS, force: true }, DIAL_TIMEOUT_MS + 5000)))
    const pings = []
    for (let i = 0; i < 5; i++) { pings.push(await a.request('ping', { peer: b.peerId, timeoutMs: 10_000 }, 15_000)) }
    console.log(`      delay+loss: ${dials.filter(d => d.ok).length}/8 dials ok in ${dials.map(d => d.ms).join(', ')} ms; ping rtt ${pings.map(p => p.ok ? p.rtt : p.error.name).join(', ')}`)

    for (const dial of dials) {
      expect(dial.ms, 'dial settled within its timeout').to.be.at.most(DIAL_TIMEOUT_MS + 1000)
      if (!dial.ok) { expect(dial.error.name).to.match(TYPED) }
    }
    expect(dials.filter(d => d.ok).length, 'most dials complete through 5 % loss').to.be.at.least(4)
    expect(pings.filter(p => p.ok).length).to.be.at.least(3)
    expect(Math.min(...pings.filter(p => p.ok).map(p => p.rtt)), 'the delay is real').to.be.at.least(180)

    // a 10 s partition
    const before = await a.request('state')
    const original = before.connections.filter((c: any) => c.peer === b.peerId && c.status === 'open').map((c: any) => c.id)
    lab.partition()
    const partitionedAt = Date.now()
    const [dialDuring, pingDuring] = await Promise.all([
      a.request('dial', { addr: addrB, timeoutMs: 3000, force: true }, 10_000),
      a.request('ping', { peer: b.peerId, timeoutMs: 2000 }, 10_000)
    ])
    console.log(`      partition: dial ${dialDuring.ok === true ? 'ok?!' : dialDuring.error.name} after ${dialDuring.ms} ms, ping ${pingDuring.ok === true ? 'ok?!' : pingDuring.error.name} after ${pingDuring.ms} ms`)
    expect(dialDuring.ok).to.equal(false)
    expect(dialDuring.error.name).to.match(TYPED)
    expect(dialDuring.ms).to.be.at.most(3000 + 1000)
    expect(pingDuring.ok).to.equal(false)
    expect(pingDuring.error.name).to.match(TYPED)
    expect(pingDuring.ms).to.be.at.most(2000 + 1000)
    await sleep(Math.max(0, 10_000 - (Date.now() - partitionedAt)))

    lab.heal()
    const healedAt = Date.now()
    let recovered: any
    while (Date.now() - healedAt < 60_000) {
      recovered = await a.request('ping', { peer: b.peerId, timeoutMs: 5000 }, 10_000)
      if (recovered.ok === true) { break }
      await sleep(500)
    }
    const pingBackMs = Date.now() - healedAt
    expect(recovered?.ok, `a ping after the partition healed: ${JSON.stringify(recovered)}`).to.equal(true)

    const [discoveredB, discoveredA] = await Promise.all([discovers(a, b.peerId, healedAt, 30_000), discovers(b, a.peerId, healedAt, 30_000)])
    const after = await a.request('state')
    const survivors = original.filter((id: string) => after.connections.some((c: any) => c.id === id && c.status === 'open'))
    const stuck = after.connections.filter((c: any) => original.includes(c.id) && c.status !== 'open')
    console.log(`      healed: ping back after ${pingBackMs} ms; ${survivors.length}/${original.length} original connections recovered, the rest closed; rediscovered after ${discoveredB ?? '—'} / ${discoveredA ?? '—'} ms`)

    expect(stuck, 'original connections neither open nor gone').to.deep.equal([])
    expect(discoveredB, 'A rediscovers B after the heal').to.be.a('number')
    expect(discoveredA, 'B rediscovers A after the heal').to.be.a('number')

    const codes = await Promise.all(nodes.splice(0).map(async node => ({ name: node.name, code: await node.stop(), stderr: node.stderr })))
    for (const { name, code, stderr } of codes) {
      expect(code, `${name} exit code; stderr: ${stderr}`).to.equal(0)
      expect(stderr, `${name} stderr`).to.not.match(/uncaught|unhandled/i)
    }
  })
})
