/**
 * Metrics under the reference's names, registered once per transport so
 * several listeners never register a name twice.
 */
import type { CounterGroup, MetricGroup, Metrics } from '@libp2p/interface'

interface CountedListener {
  readonly metricsLabel: string
  readonly socketCount: number
}

export interface ListenerMetrics {
  status?: MetricGroup
  errors?: CounterGroup
  events?: CounterGroup
  add(listener: CountedListener): void
  delete(listener: CountedListener): void
}

export interface TransportMetrics {
  dialerEvents?: CounterGroup
  listener: ListenerMetrics
}

export function createMetrics (metrics?: Metrics): TransportMetrics | undefined {
  if (metrics == null) {
    return undefined
  }

  const listeners = new Set<CountedListener>()

  metrics.registerMetricGroup('libp2p_websockets_inbound_connections_total', {
    label: 'address',
    help: 'Current active connections in WebSocket listener',
    calculate: () => {
      const counts: Record<string, number> = {}

      for (const listener of listeners) {
        counts[listener.metricsLabel] = listener.socketCount
      }

      return counts
    }
  })

  return {
    dialerEvents: metrics.registerCounterGroup('libp2p_websockets_dialer_events_total', {
      label: 'event',
      help: 'Total count of WebSockets dialer events by type'
    }),
    listener: {
      status: metrics.registerMetricGroup('libp2p_websockets_listener_status_info', {
        label: 'address',
        help: 'Current status of the WebSocket listener socket'
      }),
      errors: metrics.registerCounterGroup('libp2p_websockets_listener_errors_total', {
        label: 'address',
        help: 'Total count of WebSocket listener errors by type'
      }),
      events: metrics.registerCounterGroup('libp2p_websockets_listener_events_total', {
        label: 'address',
        help: 'Total count of WebSocket listener events by type'
      }),
      add: (listener) => { listeners.add(listener) },
      delete: (listener) => { listeners.delete(listener) }
    }
  }
}
