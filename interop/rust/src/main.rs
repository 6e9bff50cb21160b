//! tolerant-ws's rust-libp2p peer for the libp2p transport-interop contract
//! (see /work/shared/INTEROP.md): WebSocket (`ws`) only, noise or tls
//! security, yamux, ping over /ipfs/ping/1.0.0, and the listener's address
//! exchanged through the Redis list `listenerAddr`.
//!
//! Only the dialer writes to stdout, exactly one JSON line; everything else
//! goes to stderr.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures::StreamExt;
use libp2p::core::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, ping, tls, yamux, Multiaddr, PeerId, Swarm};
use redis::AsyncCommands;

const REDIS_KEY: &str = "listenerAddr";
/// After the first loopback-only address shows up, how long the listener
/// waits for a non-loopback one before publishing loopback anyway.
const LOOPBACK_GRACE: Duration = Duration::from_millis(1000);

macro_rules! log {
    ($($arg:tt)*) => { eprintln!("[rust-peer] {}", format!($($arg)*)) };
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    ping: ping::Behaviour,
    identify: identify::Behaviour,
}

#[derive(Debug)]
struct Config {
    transport: String,
    security: String,
    muxer: String,
    is_dialer: bool,
    ip: Ipv4Addr,
    redis_addr: String,
    timeout: Duration,
}

fn env_or(name: &str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

fn read_config() -> Result<Config> {
    let transport = env_or("transport", "");
    let security = env_or("security", "");
    let muxer = env_or("muxer", "");
    let is_dialer = std::env::var("is_dialer").as_deref() == Ok("true");
    // Upstream's rust peer requires `ip`; ours defaults to 0.0.0.0 like the
    // go peer, so it can run without the variable.
    let ip_s = env_or("ip", "0.0.0.0");
    let ip: Ipv4Addr = ip_s
        .parse()
        .map_err(|_| anyhow!("ip must be an IPv4 address, got {ip_s:?}"))?;
    let redis_addr = env_or("redis_addr", "redis:6379");
    // Upstream's runner sets test_timeout_seconds; the js peer upstream reads
    // test_timeout_secs. Accept both, the former winning.
    let mut timeout = Duration::from_secs(180);
    for name in ["test_timeout_secs", "test_timeout_seconds"] {
        if let Ok(v) = std::env::var(name) {
            if v.is_empty() {
                continue;
            }
            let secs: f64 = v
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s > 0.0)
                .ok_or_else(|| anyhow!("invalid {name}={v:?}"))?;
            timeout = Duration::from_secs_f64(secs);
        }
    }
    if transport != "ws" {
        bail!("unsupported transport {transport:?} (this peer speaks ws only)");
    }
    if security != "noise" && security != "tls" {
        bail!("unsupported security {security:?} (noise or tls)");
    }
    if muxer != "yamux" {
        bail!("unsupported muxer {muxer:?} (this peer speaks yamux only)");
    }
    Ok(Config { transport, security, muxer, is_dialer, ip, redis_addr, timeout })
}

fn behaviour(key: &libp2p::identity::Keypair) -> Behaviour {
    Behaviour {
        ping: ping::Behaviour::new(ping::Config::new()),
        identify: identify::Behaviour::new(identify::Config::new(
            "/tolerant-ws-interop/1.0.0".to_string(),
            key.public(),
        )),
    }
}

async fn new_swarm(c: &Config) -> Result<Swarm<Behaviour>> {
    // Keep connections open for the whole test; the runner ends us.
    let idle = c.timeout;
    let swarm = match c.security.as_str() {
        "noise" => libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_websocket(noise::Config::new, yamux::Config::default)
            .await?
            .with_behaviour(|key| behaviour(key))?
            .with_swarm_config(|cfg| cfg.with_idle_connection_timeout(idle))
            .build(),
        "tls" => libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_websocket(tls::Config::new, yamux::Config::default)
            .await?
            .with_behaviour(|key| behaviour(key))?
            .with_swarm_config(|cfg| cfg.with_idle_connection_timeout(idle))
            .build(),
        other => bail!("unsupported security {other:?}"),
    };
    Ok(swarm)
}

fn is_loopback(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_loopback(),
        Protocol::Ip6(ip) => ip.is_loopback(),
        _ => false,
    })
}

async fn redis_conn(c: &Config) -> Result<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(format!("redis://{}/", c.redis_addr))
        .with_context(|| format!("redis address {:?}", c.redis_addr))?;
    let cfg = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Duration::from_secs(5))
        // BLPOP blocks for up to the test timeout; don't cut it short.
        .set_response_timeout(c.timeout + Duration::from_secs(10));
    // Redis may come up after us; retry until it answers.
    loop {
        match client.get_multiplexed_async_connection_with_config(&cfg).await {
            Ok(mut conn) => match redis::cmd("PING").query_async::<String>(&mut conn).await {
                Ok(_) => return Ok(conn),
                Err(e) => log!("waiting for redis {}: {e}", c.redis_addr),
            },
            Err(e) => log!("waiting for redis {}: {e}", c.redis_addr),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn run_listener(c: &Config, mut rdb: redis::aio::MultiplexedConnection) -> Result<()> {
    let mut swarm = new_swarm(c).await?;
    let listen: Multiaddr = format!("/ip4/{}/tcp/0/{}", c.ip, c.transport).parse()?;
    swarm.listen_on(listen.clone()).with_context(|| format!("listen on {listen}"))?;
    let local_id = *swarm.local_peer_id();

    // Wait for a non-loopback address; publish a loopback one if that is all
    // we get within LOOPBACK_GRACE of the first address.
    let mut loopback: Option<Multiaddr> = None;
    let mut grace = Box::pin(tokio::time::sleep(Duration::MAX / 4));
    let chosen = loop {
        tokio::select! {
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::NewListenAddr { address, .. } => {
                    log!("listening on {address}");
                    if !is_loopback(&address) {
                        break address;
                    }
                    if c.ip.is_loopback() {
                        // Asked to listen on loopback: nothing better will come.
                        break address;
                    }
                    if loopback.is_none() {
                        loopback = Some(address);
                        grace.as_mut().reset(tokio::time::Instant::now() + LOOPBACK_GRACE);
                    }
                }
                SwarmEvent::ListenerError { error, .. } => bail!("listener error: {error}"),
                SwarmEvent::ListenerClosed { reason, .. } => bail!("listener closed: {reason:?}"),
                other => log!("event: {other:?}"),
            },
            _ = &mut grace => {
                log!("only loopback addresses; publishing loopback");
                break loopback.take().expect("grace timer only armed with an address");
            }
        }
    };
    let full = chosen.with(Protocol::P2p(local_id));
    log!("publishing {full}");
    let _: i64 = rdb.rpush(REDIS_KEY, full.to_string()).await.context("RPUSH")?;

    // Serve until the runner kills us or the test timeout expires.
    let deadline = tokio::time::sleep(c.timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } =>
                    log!("connection from {peer_id} via {}", endpoint.get_remote_address()),
                SwarmEvent::IncomingConnectionError { error, send_back_addr, .. } =>
                    log!("incoming connection from {send_back_addr} failed: {error}"),
                SwarmEvent::Behaviour(BehaviourEvent::Ping(e)) => log!("ping: {e:?}"),
                _ => {}
            },
            _ = &mut deadline => {
                log!("test timeout reached, exiting");
                return Ok(());
            }
        }
    }
}

async fn run_dialer(c: &Config, mut rdb: redis::aio::MultiplexedConnection) -> Result<()> {
    let mut swarm = new_swarm(c).await?;

    let popped: Option<(String, String)> = rdb
        .blpop(REDIS_KEY, c.timeout.as_secs_f64())
        .await
        .context("BLPOP")?;
    let (_, addr_s) = popped.ok_or_else(|| anyhow!("BLPOP {REDIS_KEY}: timed out"))?;
    log!("got listener address {addr_s}");
    let addr: Multiaddr = addr_s
        .parse()
        .with_context(|| format!("parse listener address {addr_s:?}"))?;
    let remote: PeerId = match addr.iter().last() {
        Some(Protocol::P2p(id)) => id,
        _ => bail!("listener address {addr} has no /p2p/<id>"),
    };

    let t0 = Instant::now();
    swarm.dial(addr.clone()).with_context(|| format!("dial {addr}"))?;

    let deadline = tokio::time::sleep(c.timeout);
    tokio::pin!(deadline);
    let rtt = loop {
        tokio::select! {
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::ConnectionEstablished { peer_id, .. } =>
                    log!("connected to {peer_id} after {:?}", t0.elapsed()),
                SwarmEvent::OutgoingConnectionError { error, .. } => bail!("dial failed: {error}"),
                SwarmEvent::ConnectionClosed { peer_id, cause, .. } if peer_id == remote =>
                    bail!("connection to {peer_id} closed before ping: {cause:?}"),
                SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { peer, result, .. }))
                    if peer == remote =>
                {
                    match result {
                        Ok(rtt) => break rtt,
                        Err(e) => bail!("ping failed: {e}"),
                    }
                }
                _ => {}
            },
            _ = &mut deadline => bail!("timed out after {:?} waiting for a ping", c.timeout),
        }
    };
    let total = t0.elapsed();

    println!(
        "{{\"handshakePlusOneRTTMillis\": {:.3}, \"pingRTTMilllis\": {:.3}}}",
        total.as_secs_f64() * 1000.0,
        rtt.as_secs_f64() * 1000.0
    );
    Ok(())
}

async fn run() -> Result<()> {
    let c = read_config()?;
    log!(
        "role={} transport={} security={} muxer={} ip={} redis={} timeout={:?}",
        if c.is_dialer { "dialer" } else { "listener" },
        c.transport,
        c.security,
        c.muxer,
        c.ip,
        c.redis_addr,
        c.timeout
    );
    let rdb = tokio::time::timeout(c.timeout, redis_conn(&c))
        .await
        .map_err(|_| anyhow!("redis {} unreachable within {:?}", c.redis_addr, c.timeout))??;
    if c.is_dialer {
        run_dialer(&c, rdb).await
    } else {
        run_listener(&c, rdb).await
    }
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        log!("error: {e:#}");
        std::process::exit(1);
    }
}
