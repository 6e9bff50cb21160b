/**
 * The bulk-transfer protocol used over raw connections and libp2p streams.
 *
 * The dialer sends a 9-byte header (mode, byte count as u64 BE):
 * - mode 1 (up): the dialer then sends the bytes; the listener answers one
 * byte once it has them all.
 * - mode 2 (down): the listener sends the bytes.
 * Message boundaries do not matter: only byte counts do.
 */
import type { RawConn } from './impls.js'

export const CHUNK_BYTES = 64 * 1024
const MODE_UP = 1
const MODE_DOWN = 2
const HEADER_BYTES = 9

type Chunk = Uint8Array | { byteLength: number, subarray(start?: number, end?: number): Uint8Array }

const payload = new Uint8Array(CHUNK_BYTES).map((_, i) => (i * 31) & 0xff)

async function pump (conn: RawConn, total: number): Promise<void> {
  let sent = 0

  while (sent < total) {
    const n = Math.min(CHUNK_BYTES, total - sent)
    sent += n

    if (!conn.write(n === CHUNK_BYTES ? payload : payload.subarray(0, n))) {
      await conn.drain()
    }
  }
}

/** Listener side: serve one transfer request on `conn` */
export function serveThroughput (conn: RawConn): void {
  let header = new Uint8Array(0)
  let mode = 0
  let expected = 0
  let received = 0

  conn.onData((chunk: Chunk) => {
    let rest = chunk.byteLength

    if (mode === 0) {
      const take = Math.min(HEADER_BYTES - header.byteLength, chunk.byteLength)
      const head = new Uint8Array(header.byteLength + take)
      head.set(header)
      head.set(chunk.subarray(0, take), header.byteLength)
      header = head
      rest -= take

      if (header.byteLength < HEADER_BYTES) {
        return
      }

      mode = header[0]
      expected = Number(new DataView(header.buffer).getBigUint64(1))

      if (mode === MODE_DOWN) {
        pump(conn, expected).catch(() => {})
        return
      }
    }

    if (mode === MODE_UP) {
      received += rest

      if (received >= expected) {
        mode = 0
        header = new Uint8Array(0)
        received = 0
        conn.write(new Uint8Array([1]))
      }
    }
  })
}

/** Dialer side: one transfer of `bytes` in `direction`; resolves with the seconds it took */
export async function runTransfer (conn: RawConn, direction: 'up' | 'down', bytes: number): Promise<number> {
  const header = new Uint8Array(HEADER_BYTES)
  header[0] = direction === 'up' ? MODE_UP : MODE_DOWN
  new DataView(header.buffer).setBigUint64(1, BigInt(bytes))

  let received = 0
  let done: () => void = () => {}
  const finished = new Promise<void>(resolve => { done = resolve })

  conn.onData((chunk: Chunk) => {
    received += chunk.byteLength

    if ((direction === 'up' && received >= 1) || (direction === 'down' && received >= bytes)) {
      done()
    }
  })

  const start = performance.now()
  conn.write(header)

  if (direction === 'up') {
    await pump(conn, bytes)
  }

  await finished
  return (performance.now() - start) / 1000
}
