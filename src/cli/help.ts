/**
 * `--help` texts of the `tolerant-ws` command line.
 */
import { TOPIC } from '../discovery/options.js'
import { DEFAULT_LISTEN } from './args.js'

/** `tolerant-ws --help` */
export const MAIN_HELP = `tolerant-ws — run and dial js-libp2p 3 nodes on the tolerant-ws WebSocket transport

Usage:
  tolerant-ws node [options]        run one node: listen, discover peers over pubsub, ping them
  tolerant-ws dial <multiaddr>      dial a node, ping it once, print the interop result line
  tolerant-ws <command> --help      options of a command
  tolerant-ws --version

Examples:
  tolerant-ws node --listen /ip4/0.0.0.0/tcp/4001/ws
  tolerant-ws node --listen /ip4/0.0.0.0/tcp/0/ws --bootstrap /ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooW…
  tolerant-ws dial /ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooW…

Exit codes: 0 success, 1 failure while running, 2 bad command line.
Logs: DEBUG='libp2p:websockets*,libp2p:pubsub-discovery*' tolerant-ws node …
`

/** `tolerant-ws node --help` */
export const NODE_HELP = `Usage: tolerant-ws node [options]

Runs one libp2p node (tolerant-ws transport, noise, yamux, identify, ping,
gossipsub, pubsubPeerDiscovery) and prints, as they happen: the addresses it
listens on, each discovery announcement it publishes, the peers it discovers
and the pings it sends them. Stops on Ctrl-C (SIGINT) or SIGTERM.

Options:
  --listen <multiaddr>      listen address, repeatable (default ${DEFAULT_LISTEN});
                            /tls/ws or /wss needs --cert and --key
  --bootstrap <multiaddr>   peer to connect to at start, with /p2p/<peer id>; repeatable
  --topic <topic>           discovery topic, repeatable (default ${TOPIC})
  --interval <s>            re-announce every <s> seconds (default 10)
  --ping-interval <s>       ping every discovered peer every <s> seconds; 0 pings
                            each once, when discovered (default 10)
  --duration <s>            stop after <s> seconds (default: run until stopped)
  --cert <file> --key <file>  PEM certificate and key for /tls/ws and /wss listeners
  --ca <file>               PEM CA certificate to trust when dialing wss peers
  --insecure                accept any certificate when dialing wss peers
  --allow <multiaddr>       exempt an address range from libp2p's inbound rate
                            limit, e.g. /ip4/127.0.0.1/ipcidr/32; repeatable
  --router <name>           gossipsub (default) or floodsub
  --bind-delay <s>          bind the listeners <s> seconds late, after discovery has
                            started (shows the js-libp2p#2902 start-up race handled)
  --json                    one JSON object per event and line, for machines
  -h, --help                this help

JSON events: starting, subscribed, listening, announce, connected, disconnected,
peer, ping, ping-failed, stopped; each has "event" and "ms" (since start).
`

/** `tolerant-ws dial --help` */
export const DIAL_HELP = `Usage: tolerant-ws dial <multiaddr> [options]

Dials one node over the tolerant-ws transport (noise, yamux), pings it once and
prints the libp2p test-plans interop line on stdout:
  {"handshakePlusOneRTTMillis":<ms>,"pingRTTMilllis":<ms>}

Options:
  --timeout <s>    give up after <s> seconds (default 30)
  --ca <file>      PEM CA certificate to trust for wss
  --insecure       accept any certificate for wss
  --json           print only the interop line
  -h, --help       this help
`
