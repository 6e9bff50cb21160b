import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { Registry } from 'prom-client'
import { webSockets } from '../../src/index.js'
import { components, stubUpgrader } from '../fixtures/upgrader.js'
import type { Listener, MultiaddrConnection } from '@libp2p/interface'

describe('webSockets() metrics', function () {
  this.timeout(10_000)
  const listeners: Listener[] = []
  const conns: MultiaddrConnection[] = []

  afterEach(async () => {
    conns.splice(0).forEach(c => { c.abort(new Error('test over')) })
    await Promise.all(listeners.splice(0).map(async l => l.close()))
  })

  it('registers the reference names once and reports every listener', async () => {
    const registry = new Registry()
    const comps = components()
    const metrics = prometheusMetrics({ registry, collectDefaultMetrics: false })({ logger: comps.logger })
    const transport = webSockets()({ ...comps, metrics })
    const upgrader = stubUpgrader()

    for (let i = 0; i < 2; i++) {
      const listener = transport.createListener({ upgrader })
      listeners.push(listener)
      await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0/ws'))
    }

    const inbound = upgrader.nextInbound()
    conns.push(await transport.dial(listeners[0].getAddrs()[0], { upgrader, signal: AbortSignal.timeout(5000) }) as any)
    conns.push(await inbound)

    const text = await registry.metrics()

    for (const name of ['libp2p_websockets_dialer_events_total', 'libp2p_websockets_listener_events_total', 'libp2p_websockets_listener_errors_total', 'libp2p_websockets_inbound_connections_total', 'libp2p_websockets_listener_status_info']) {
      expect(text.match(new RegExp(`^# TYPE ${name} `, 'gm')), name).to.have.lengthOf(1)
    }

    const ports = listeners.map(l => l.getAddrs()[0].getComponents().find(c => c.name === 'tcp')?.value)
    expect(text).to.include(`libp2p_websockets_inbound_connections_total{address="127.0.0.1:${ports[0]}"} 1`)
    expect(text).to.include(`libp2p_websockets_inbound_connections_total{address="127.0.0.1:${ports[1]}"} 0`)
    expect(text).to.match(/libp2p_websockets_dialer_events_total\{event="connect"\} 1/)
  })
})
