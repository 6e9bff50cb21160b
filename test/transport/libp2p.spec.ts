import { multiaddr } from '@multiformats/multiaddr'
import { assert, expect } from 'chai'
import { createNode } from '../fixtures/nodes.js'
import type { TestNode } from '../fixtures/nodes.js'

describe('webSockets() in a libp2p node', function () {
  this.timeout(20_000)
  const nodes: TestNode[] = []

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async node => node.stop()))
  })

  it('dials another node and pings it over /ws', async () => {
    const [a, b] = await Promise.all([createNode(), createNode()])
    nodes.push(a, b)

    const addr = b.getMultiaddrs().find(ma => ma.toString().includes('/ws'))
    assert.exists(addr)

    const rtt = await a.services.ping.ping(addr ?? multiaddr())
    expect(rtt).to.be.a('number')
  })
})
