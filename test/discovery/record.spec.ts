import assert from 'node:assert/strict'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { defaultInit } from '../../src/discovery/options.js'
import { Peer } from '../../src/discovery/peer.js'
import { decodeRecord, encodeRecord, judgeMessage } from '../../src/discovery/record.js'
import { createPeer, signedMessage, unsignedMessage } from './fixtures/mock-pubsub.js'
import type { TestPeer } from './fixtures/mock-pubsub.js'
import type { JudgeOptions, RecordLimits, Verdict } from '../../src/discovery/record.js'

const TOPIC = '_peer-discovery._p2p._pubsub'
const limits: RecordLimits = {
  maxRecordBytes: defaultInit.maxRecordBytes,
  maxAddrs: defaultInit.maxAddrs,
  maxAddrBytes: defaultInit.maxAddrBytes
}

function faultOf (verdict: Verdict): string | undefined {
  return verdict.result === 'accept' ? undefined : verdict.fault
}

function rawRecord (peer: TestPeer, addrs: Uint8Array[]): Uint8Array {
  return Peer.encode({ publicKey: Uint8Array.from(publicKeyToProtobuf(peer.privateKey.publicKey)), addrs: addrs.map(a => Uint8Array.from(a)) })
}

describe('discovery record', function () {
  this.timeout(10_000)

  let alice: TestPeer
  let bob: TestPeer
  let self: TestPeer
  let judge: JudgeOptions

  before(async () => {
    alice = await createPeer()
    bob = await createPeer()
    self = await createPeer()
    judge = { ...limits, self: self.peerId, acceptUnsigned: false }
  })

  describe('encodeRecord', () => {
    it('round-trips through decodeRecord', () => {
      const addrs = [multiaddr('/ip4/127.0.0.1/tcp/1/ws'), multiaddr('/ip6/::1/tcp/2/ws')]
      const encoded = encodeRecord(alice.privateKey.publicKey, addrs, limits)
      const verdict = decodeRecord(encoded.bytes, limits)

      assert.equal(verdict.result, 'accept')
      assert.ok(verdict.record?.peerId.equals(alice.peerId))
      assert.deepEqual(verdict.record?.multiaddrs.map(String), addrs.map(String))
    })

    it('produces the reference wire format: field 1 public key, field 2 repeated addrs', () => {
      const ma = multiaddr('/ip4/10.0.0.1/tcp/9/ws')
      const { bytes } = encodeRecord(alice.privateKey.publicKey, [ma], limits)
      const key = publicKeyToProtobuf(alice.privateKey.publicKey)

      // tag 0x0a (field 1, length-delimited), length, key, tag 0x12 (field 2), length, addr
      const expected = Uint8Array.from([0x0a, key.byteLength, ...key, 0x12, ma.bytes.byteLength, ...ma.bytes])
      assert.deepEqual(bytes, expected)
    })

    it('keeps the record within maxAddrs, maxAddrBytes and maxRecordBytes, in order, without duplicates', () => {
      const addrs = Array.from({ length: 100 }, (_, i) => multiaddr(`/ip4/10.0.0.${i % 50}/tcp/${1000 + (i % 50)}/ws`))
      const small: RecordLimits = { maxRecordBytes: 200, maxAddrs: 5, maxAddrBytes: 64 }
      const encoded = encodeRecord(alice.privateKey.publicKey, addrs, small)

      assert.ok(encoded.bytes.byteLength <= small.maxRecordBytes)
      assert.equal(encoded.multiaddrs.length, 5)
      assert.deepEqual(encoded.multiaddrs.map(String), addrs.slice(0, 5).map(String))
      assert.equal(encoded.omittedAddrs, 95)
    })
  })

  describe('decodeRecord', () => {
    it('rejects an oversized record before decoding it', () => {
      // garbage that would fail to decode: the fault must be the size
      const data = new Uint8Array(limits.maxRecordBytes + 1).fill(0xff)
      const verdict = decodeRecord(data, limits)

      assert.equal(verdict.result, 'reject')
      assert.equal(faultOf(verdict), 'oversized')
    })

    it('rejects truncated protobuf', () => {
      const data = rawRecord(alice, [multiaddr('/ip4/127.0.0.1/tcp/1').bytes])
      const verdict = decodeRecord(data.subarray(0, data.byteLength - 3), limits)

      assert.equal(faultOf(verdict), 'malformed')
    })

    it('rejects a missing public key', () => {
      const data = Peer.encode({ addrs: [Uint8Array.from(multiaddr('/ip4/127.0.0.1/tcp/1').bytes)] })
      assert.equal(decodeRecord(data, limits).result, 'reject')
    })

    it('rejects key bytes that are not a supported public key', () => {
      // KeyType 9 does not exist
      const data = Peer.encode({ publicKey: Uint8Array.from([0x08, 0x09, 0x12, 0x02, 0x01, 0x02]), addrs: [] })
      const verdict = decodeRecord(data, limits)

      assert.equal(faultOf(verdict), 'bad-key')
    })

    it('rejects an Ed25519 key of the wrong length', () => {
      const data = Peer.encode({ publicKey: Uint8Array.from([0x08, 0x01, 0x12, 0x03, 0x01, 0x02, 0x03]), addrs: [] })
      assert.equal(decodeRecord(data, limits).result, 'reject')
    })

    it('accepts a secp256k1 and an RSA key', async () => {
      for (const type of ['secp256k1', 'RSA'] as const) {
        const key = type === 'RSA' ? await generateKeyPair('RSA', 1024) : await generateKeyPair(type)
        const { bytes } = encodeRecord(key.publicKey, [multiaddr('/ip4/127.0.0.1/tcp/1')], limits)
        assert.equal(decodeRecord(bytes, limits).result, 'accept', type)
      }
    })

    it('drops unparsable, oversized and empty address entries and keeps the rest', () => {
      const good = multiaddr('/ip4/127.0.0.1/tcp/1/ws')
      const huge = multiaddr(`/dns4/${'a'.repeat(250)}.example/tcp/1/ws/http-path/${encodeURIComponent('x'.repeat(400))}`)
      const data = rawRecord(alice, [Uint8Array.from([0xff, 0xff, 0xff]), huge.bytes, new Uint8Array(0), good.bytes])
      const verdict = decodeRecord(data, limits)

      assert.equal(verdict.result, 'accept')
      assert.deepEqual(verdict.record?.multiaddrs.map(String), [good.toString()])
      assert.equal(verdict.record?.droppedAddrs, 3)
    })

    it('drops an address whose final /p2p names another peer, keeps one naming the record peer or a relay', () => {
      const other = multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${bob.peerId.toString()}`)
      const own = multiaddr(`/ip4/127.0.0.1/tcp/2/p2p/${alice.peerId.toString()}`)
      const viaRelay = multiaddr(`/ip4/127.0.0.1/tcp/3/p2p/${bob.peerId.toString()}/p2p-circuit`)
      const viaRelayOwn = multiaddr(`/ip4/127.0.0.1/tcp/3/p2p/${bob.peerId.toString()}/p2p-circuit/p2p/${alice.peerId.toString()}`)
      const viaRelayOther = multiaddr(`/ip4/127.0.0.1/tcp/3/p2p/${alice.peerId.toString()}/p2p-circuit/p2p/${bob.peerId.toString()}`)
      const data = rawRecord(alice, [other.bytes, own.bytes, viaRelay.bytes, viaRelayOwn.bytes, viaRelayOther.bytes])
      const verdict = decodeRecord(data, limits)

      assert.deepEqual(verdict.record?.multiaddrs.map(String), [own, viaRelay, viaRelayOwn].map(String))
      assert.equal(verdict.record?.droppedAddrs, 2)
    })

    it('examines at most maxAddrs entries of 10 000 and counts the rest as ignored', () => {
      const ma = (i: number): Uint8Array => multiaddr(`/ip4/10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/tcp/1`).bytes
      const data = rawRecord(alice, Array.from({ length: 10_000 }, (_, i) => ma(i)))
      const roomy = { ...limits, maxRecordBytes: data.byteLength }

      // with default limits the record is simply too big
      assert.equal(decodeRecord(data, limits).result, 'reject')

      const verdict = decodeRecord(data, roomy)
      assert.equal(verdict.result, 'accept')
      assert.equal(verdict.record?.multiaddrs.length, limits.maxAddrs)
      assert.equal(verdict.record?.ignoredAddrs, 10_000 - limits.maxAddrs)
    })

    it('merges duplicate addresses', () => {
      const ma = multiaddr('/ip4/127.0.0.1/tcp/1/ws')
      const verdict = decodeRecord(rawRecord(alice, [ma.bytes, ma.bytes]), limits)
      assert.equal(verdict.record?.multiaddrs.length, 1)
    })

    it('never throws on random bytes', () => {
      for (let i = 0; i < 2000; i++) {
        const data = new Uint8Array(1 + (i % 300))
        for (let j = 0; j < data.length; j++) {
          data[j] = Math.floor(Math.random() * 256)
        }
        // occasionally start with a plausible tag so decoding goes deeper
        if (i % 2 === 0) {
          data[0] = 0x0a
        }
        assert.doesNotThrow(() => decodeRecord(data, limits))
      }
    })
  })

  describe('judgeMessage', () => {
    const ws = multiaddr('/ip4/127.0.0.1/tcp/1/ws')

    it('accepts a signed record from its own peer', () => {
      const data = rawRecord(alice, [ws.bytes])
      const verdict = judgeMessage(signedMessage(alice, TOPIC, data), judge)

      assert.equal(verdict.result, 'accept')
      assert.ok(verdict.record?.peerId.equals(alice.peerId))
    })

    it('rejects a record carrying another peer\'s key (spoofed)', () => {
      // alice publishes bob's key with her addresses
      const data = rawRecord(bob, [ws.bytes])
      const verdict = judgeMessage(signedMessage(alice, TOPIC, data), judge)

      assert.equal(verdict.result, 'reject')
      assert.equal(faultOf(verdict), 'spoofed')
    })

    it('ignores unsigned records unless acceptUnsigned is set', () => {
      const data = rawRecord(alice, [ws.bytes])

      assert.equal(judgeMessage(unsignedMessage(TOPIC, data), judge).result, 'ignore')
      assert.equal(judgeMessage(unsignedMessage(TOPIC, data), { ...judge, acceptUnsigned: true }).result, 'accept')
    })

    it('ignores our own record', () => {
      const data = rawRecord(self, [ws.bytes])
      const verdict = judgeMessage(signedMessage(self, TOPIC, data), judge)

      assert.equal(faultOf(verdict), 'self')
    })

    it('ignores a record without usable addresses', () => {
      const verdict = judgeMessage(signedMessage(alice, TOPIC, rawRecord(alice, [])), judge)
      assert.equal(faultOf(verdict), 'no-addresses')
    })

    it('rejects a message whose data is not bytes', () => {
      const message: any = { ...signedMessage(alice, TOPIC, new Uint8Array()), data: 'nope' }
      assert.equal(judgeMessage(message, judge).result, 'reject')
    })
  })
})
