import tests from '@libp2p/interface-compliance-tests/peer-discovery'
import { multiaddr } from '@multiformats/multiaddr'
import { TOPIC, pubsubPeerDiscovery } from '../../src/discovery/index.js'
import { encodeRecord } from '../../src/discovery/record.js'
import { createComponents, createPeer, signedMessage } from './fixtures/mock-pubsub.js'

describe('interface-peer-discovery compliance (@libp2p/interface-compliance-tests 7)', function () {
  this.timeout(20_000)

  let timer: ReturnType<typeof setInterval> | undefined
  let failure: Error | undefined

  tests({
    async setup () {
      const components = await createComponents()
      const remote = await createPeer()
      const data = encodeRecord(remote.privateKey.publicKey, [multiaddr('/ip4/127.0.0.1/tcp/4002/ws')], {
        maxRecordBytes: 8192,
        maxAddrs: 64,
        maxAddrBytes: 512
      }).bytes
      let seq = 0n

      // a remote peer announcing itself every 100 ms, as a router would deliver it
      timer = setInterval(() => {
        components.pubsub.deliver(signedMessage(remote, TOPIC, data, seq++))
          .catch((err: Error) => { failure = err })
      }, 100)

      // default options
      return pubsubPeerDiscovery()(components)
    },
    async teardown () {
      clearInterval(timer)
      timer = undefined

      if (failure != null) {
        throw failure
      }
    }
  })
})
