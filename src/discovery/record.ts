/**
 * Discovery records: encode ours, decode and judge theirs. Pure functions, no
 * I/O and no clocks, so every rule here is unit-tested without sockets.
 *
 * Policy for records from the network, in the order it is applied:
 *
 * 1. A message larger than `maxRecordBytes` is rejected before any parsing.
 * 2. A message that is not a `Peer` protobuf, or whose public key is missing
 * or not a supported key, is rejected.
 * 3. A record in a signed pubsub message whose public key is not the
 * message's origin (`from`) is rejected as spoofed. A record in an
 * unsigned message is ignored unless `acceptUnsigned` is set.
 * 4. Our own record is ignored.
 * 5. Only the first `maxAddrs` address entries are examined. An entry longer
 * than `maxAddrBytes`, one that does not parse as a multiaddr, or one whose
 * final `/p2p` names another peer is dropped; duplicates are merged. The
 * rest of the record is kept.
 * 6. A record left without any address is ignored: it says nothing useful.
 *
 * "Rejected" records are ones no honest peer produces (the router may
 * penalise whoever forwarded them); "ignored" ones may come from honest but
 * differently configured peers. Neither is delivered nor forwarded.
 */
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { CODE_P2P, CODE_P2P_CIRCUIT, multiaddr } from '@multiformats/multiaddr'
import { Peer } from './peer.js'
import type { PubSubMessage, TopicValidatorResult } from './pubsub.js'
import type { PeerId, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Size limits applied to records, ours and theirs.
 */
export interface RecordLimits {
  /** largest encoded record, bytes */
  maxRecordBytes: number
  /** most address entries examined (theirs) or sent (ours) */
  maxAddrs: number
  /** largest single binary multiaddr, bytes */
  maxAddrBytes: number
}

/**
 * A record that passed decoding and address filtering.
 */
export interface DiscoveryRecord {
  /** the peer id derived from the record's public key */
  peerId: PeerId
  /** the addresses kept, in record order, without duplicates */
  multiaddrs: Multiaddr[]
  /** address entries dropped as too long, unparsable or naming another peer */
  droppedAddrs: number
  /** address entries beyond `maxAddrs`, not examined */
  ignoredAddrs: number
}

/**
 * Why a message on a discovery topic was not turned into a `peer` event.
 */
export type RecordFault =
  | 'oversized'
  | 'malformed'
  | 'bad-key'
  | 'spoofed'
  | 'unsigned'
  | 'self'
  | 'no-addresses'

/**
 * The outcome of judging one pubsub message.
 */
export type Verdict =
  | { result: 'accept', record: DiscoveryRecord }
  | { result: 'ignore' | 'reject', fault: RecordFault, record?: DiscoveryRecord, error?: Error }

/**
 * Our record, ready to publish.
 */
export interface EncodedRecord {
  bytes: Uint8Array
  /** the addresses that fit within the limits, in order */
  multiaddrs: Multiaddr[]
  /** addresses left out to respect the limits */
  omittedAddrs: number
}

/**
 * Encode our record, keeping addresses in order while the record stays
 * within `limits`, so peers with the same limits accept all of it.
 */
export function encodeRecord (publicKey: PublicKey, addrs: Multiaddr[], limits: RecordLimits): EncodedRecord {
  // copied so the protobuf field gets the plain ArrayBuffer-backed array it is typed with
  const key = Uint8Array.from(publicKeyToProtobuf(publicKey))
  let size = fieldSize(key.byteLength)
  const kept: Multiaddr[] = []
  const seen = new Set<string>()

  for (const ma of addrs) {
    const bytes = ma.bytes
    const str = ma.toString()

    if (seen.has(str) || kept.length === limits.maxAddrs || bytes.byteLength > limits.maxAddrBytes) {
      continue
    }

    const next = size + fieldSize(bytes.byteLength)

    if (next > limits.maxRecordBytes) {
      continue
    }

    seen.add(str)
    kept.push(ma)
    size = next
  }

  return {
    bytes: Peer.encode({ publicKey: key, addrs: kept.map(ma => ma.bytes) }),
    multiaddrs: kept,
    omittedAddrs: addrs.length - kept.length
  }
}

/**
 * Decode a record and filter its addresses (policy steps 1, 2, 5). Never
 * throws.
 */
export function decodeRecord (data: Uint8Array, limits: RecordLimits): Verdict {
  if (data.byteLength > limits.maxRecordBytes) {
    return { result: 'reject', fault: 'oversized' }
  }

  let peer: Peer

  try {
    peer = Peer.decode(data)
  } catch (err: any) {
    return { result: 'reject', fault: 'malformed', error: err }
  }

  let peerId: PeerId

  try {
    peerId = peerIdFromPublicKey(publicKeyFromProtobuf(peer.publicKey))
  } catch (err: any) {
    return { result: 'reject', fault: 'bad-key', error: err }
  }

  const examined = peer.addrs.slice(0, limits.maxAddrs)
  const multiaddrs: Multiaddr[] = []
  const seen = new Set<string>()
  let droppedAddrs = 0

  for (const bytes of examined) {
    const ma = parseAddr(bytes, peerId, limits.maxAddrBytes)

    if (ma == null) {
      droppedAddrs++
      continue
    }

    const str = ma.toString()

    if (!seen.has(str)) {
      seen.add(str)
      multiaddrs.push(ma)
    }
  }

  return {
    result: 'accept',
    record: {
      peerId,
      multiaddrs,
      droppedAddrs,
      ignoredAddrs: peer.addrs.length - examined.length
    }
  }
}

/**
 * Options for {@link judgeMessage}.
 */
export interface JudgeOptions extends RecordLimits {
  /** our own peer id; our records are ignored */
  self: PeerId
  /** accept records from unsigned pubsub messages */
  acceptUnsigned: boolean
}

/**
 * Apply the whole policy to one pubsub message. Never throws.
 */
export function judgeMessage (message: PubSubMessage, options: JudgeOptions): Verdict {
  const data: unknown = message.data

  if (!(data instanceof Uint8Array)) {
    return { result: 'reject', fault: 'malformed' }
  }

  const decoded = decodeRecord(data, options)

  if (decoded.result !== 'accept') {
    return decoded
  }

  const record = decoded.record

  if (message.type === 'signed') {
    if (message.from == null || !record.peerId.equals(message.from)) {
      return { result: 'reject', fault: 'spoofed', record }
    }
  } else if (!options.acceptUnsigned) {
    return { result: 'ignore', fault: 'unsigned', record }
  }

  if (record.peerId.equals(options.self)) {
    return { result: 'ignore', fault: 'self', record }
  }

  if (record.multiaddrs.length === 0) {
    return { result: 'ignore', fault: 'no-addresses', record }
  }

  return decoded
}

/**
 * The value a topic validator returns for a verdict.
 */
export function toValidatorResult (verdict: Verdict): TopicValidatorResult {
  return verdict.result
}

/**
 * A stable key for a set of addresses, to tell whether a peer's addresses
 * changed.
 */
export function addrsKey (multiaddrs: Multiaddr[]): string {
  return multiaddrs.map(ma => ma.toString()).sort().join(' ')
}

/**
 * Parse one address entry; `undefined` when it must be dropped.
 */
function parseAddr (bytes: Uint8Array, peerId: PeerId, maxAddrBytes: number): Multiaddr | undefined {
  if (bytes.byteLength === 0 || bytes.byteLength > maxAddrBytes) {
    return undefined
  }

  try {
    const ma = multiaddr(bytes)
    const components = ma.getComponents()
    // only a /p2p after the last /p2p-circuit names the record's peer; one
    // before it names a relay
    let owner: string | undefined

    for (const component of components) {
      if (component.code === CODE_P2P_CIRCUIT) {
        owner = undefined
      } else if (component.code === CODE_P2P) {
        owner = component.value
      }
    }

    if (owner != null && owner !== peerId.toString()) {
      return undefined
    }

    // force full serialisation now so a bad value cannot throw later
    ma.toString()

    return ma
  } catch {
    // unparsable address: dropped, counted by the caller
    return undefined
  }
}

/**
 * Bytes taken by one length-delimited protobuf field with a 1-byte tag.
 */
function fieldSize (length: number): number {
  let varint = 1

  for (let n = length; n >= 0x80; n = Math.floor(n / 0x80)) {
    varint++
  }

  return 1 + varint + length
}
