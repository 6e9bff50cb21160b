/**
 * What the test and the page exchange through `page.evaluate`: plain JSON.
 */

/** The protocol the Node side echoes on */
export const ECHO_PROTOCOL = '/tolerant-ws-test/echo/1.0.0'

export interface SwarmRun {
  /** the Node node the page dials first */
  bootstrap: string
  /** peer ids the page must discover through pubsub and ping */
  expect: string[]
  /** bytes sent through the echo protocol to the bootstrap node */
  echoBytes: number
  /** `maxBufferedAmount` of the page's transport: small, so writers wait */
  maxBufferedAmount: number
  timeoutMs: number
}

export interface SwarmResult {
  peerId: string
  discovered: Array<{ id: string, addrs: string[], afterMs: number }>
  pings: Array<{ id: string, rttMs: number, remoteAddr: string }>
  echoed: { sent: number, received: number, same: boolean, waitedForDrain: number }
}

export interface DialOutcome {
  name: string
  message: string
  elapsedMs: number
  /** `abort` listeners still on the dial's signal afterwards */
  listenersLeft: number
}
