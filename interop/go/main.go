// Command ping-peer is tolerant-ws's go-libp2p peer for the libp2p
// transport-interop contract (see /work/shared/INTEROP.md): WebSocket (ws,
// wss) only, noise or tls security, yamux, ping over /ipfs/ping/1.0.0, and
// the listener's address exchanged through the Redis list `listenerAddr`.
//
// Only the dialer writes to stdout, exactly one JSON line; everything else
// goes to stderr.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/websocket"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/redis/go-redis/v9"
)

const redisKey = "listenerAddr"

type config struct {
	transport string
	security  string
	muxer     string
	isDialer  bool
	ip        string
	redisAddr string
	timeout   time.Duration
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[go-peer] "+format+"\n", args...)
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func readConfig() (config, error) {
	c := config{
		transport: envOr("transport", ""),
		security:  envOr("security", ""),
		muxer:     envOr("muxer", ""),
		isDialer:  os.Getenv("is_dialer") == "true",
		ip:        envOr("ip", "0.0.0.0"),
		redisAddr: envOr("redis_addr", "redis:6379"),
		timeout:   180 * time.Second,
	}
	// Upstream's runner sets test_timeout_seconds; the js peer upstream reads
	// test_timeout_secs. Accept both, the former winning.
	for _, name := range []string{"test_timeout_secs", "test_timeout_seconds"} {
		if v := os.Getenv(name); v != "" {
			secs, err := strconv.ParseFloat(v, 64)
			if err != nil || secs <= 0 {
				return c, fmt.Errorf("invalid %s=%q", name, v)
			}
			c.timeout = time.Duration(secs * float64(time.Second))
		}
	}
	switch c.transport {
	case "ws", "wss":
	default:
		return c, fmt.Errorf("unsupported transport %q (this peer speaks ws and wss)", c.transport)
	}
	switch c.security {
	case "noise", "tls":
	default:
		return c, fmt.Errorf("unsupported security %q (noise or tls)", c.security)
	}
	if c.muxer != "yamux" {
		return c, fmt.Errorf("unsupported muxer %q (go-libp2p v0.48 only has yamux)", c.muxer)
	}
	if net.ParseIP(c.ip) == nil || net.ParseIP(c.ip).To4() == nil {
		return c, fmt.Errorf("ip must be an IPv4 address, got %q", c.ip)
	}
	return c, nil
}

// selfSignedTLS returns a server TLS config with a fresh self-signed ECDSA
// certificate, valid for localhost and every local interface address. The
// dialer skips verification anyway, as upstream's go peer does.
func selfSignedTLS() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "tolerant-ws interop"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ipn.IP)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	}, nil
}

func newHost(c config) (host.Host, error) {
	var wsOpts []websocket.Option
	if c.transport == "wss" {
		if c.isDialer {
			wsOpts = append(wsOpts, websocket.WithTLSClientConfig(&tls.Config{InsecureSkipVerify: true}))
		} else {
			conf, err := selfSignedTLS()
			if err != nil {
				return nil, fmt.Errorf("self-signed certificate: %w", err)
			}
			wsOpts = append(wsOpts, websocket.WithTLSConfig(conf))
		}
	}
	transportOpts := []any{}
	for _, o := range wsOpts {
		transportOpts = append(transportOpts, o)
	}
	opts := []libp2p.Option{
		libp2p.Transport(websocket.New, transportOpts...),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.Ping(true),
	}
	switch c.security {
	case "noise":
		opts = append(opts, libp2p.Security(noise.ID, noise.New))
	case "tls":
		opts = append(opts, libp2p.Security(libp2ptls.ID, libp2ptls.New))
	}
	if c.isDialer {
		opts = append(opts, libp2p.NoListenAddrs)
	} else {
		wsPart := "ws"
		if c.transport == "wss" {
			wsPart = "tls/ws"
		}
		opts = append(opts, libp2p.ListenAddrStrings(fmt.Sprintf("/ip4/%s/tcp/0/%s", c.ip, wsPart)))
	}
	return libp2p.New(opts...)
}

// pickAddr prefers a non-loopback address and falls back to the first one,
// so that a listener with only loopback (e.g. ip=127.0.0.1, or a bare
// network namespace) still publishes something dialable.
func pickAddr(addrs []ma.Multiaddr) (ma.Multiaddr, error) {
	if len(addrs) == 0 {
		return nil, errors.New("listener has no addresses")
	}
	for _, a := range addrs {
		if !manet.IsIPLoopback(a) {
			return a, nil
		}
	}
	return addrs[0], nil
}

func runListener(ctx context.Context, c config, rdb *redis.Client) error {
	h, err := newHost(c)
	if err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	defer h.Close()

	addr, err := pickAddr(h.Addrs())
	if err != nil {
		return err
	}
	full := addr.Encapsulate(ma.StringCast("/p2p/" + h.ID().String())).String()
	logf("listening on %v, publishing %s", h.Addrs(), full)
	if err := rdb.RPush(ctx, redisKey, full).Err(); err != nil {
		return fmt.Errorf("RPUSH %s: %w", redisKey, err)
	}
	// The runner kills the listener once the dialer is done; otherwise leave
	// when the test timeout expires.
	<-ctx.Done()
	logf("test timeout reached, exiting")
	return nil
}

func runDialer(ctx context.Context, c config, rdb *redis.Client) error {
	h, err := newHost(c)
	if err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	defer h.Close()

	res, err := rdb.BLPop(ctx, c.timeout, redisKey).Result()
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("BLPOP %s: timed out after %s", redisKey, c.timeout)
	}
	if err != nil {
		return fmt.Errorf("BLPOP %s: %w", redisKey, err)
	}
	if len(res) != 2 {
		return fmt.Errorf("BLPOP %s: unexpected reply %q", redisKey, res)
	}
	logf("got listener address %s", res[1])
	info, err := peer.AddrInfoFromString(res[1])
	if err != nil {
		return fmt.Errorf("parse listener address %q: %w", res[1], err)
	}

	t0 := time.Now()
	if err := h.Connect(ctx, *info); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	pingCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r, ok := <-ping.Ping(pingCtx, h, info.ID)
	if !ok {
		return errors.New("ping: no result")
	}
	if r.Error != nil {
		return fmt.Errorf("ping: %w", r.Error)
	}
	total := time.Since(t0)

	fmt.Printf("{\"handshakePlusOneRTTMillis\": %.3f, \"pingRTTMilllis\": %.3f}\n",
		float64(total.Microseconds())/1000, float64(r.RTT.Microseconds())/1000)
	return nil
}

func run() error {
	c, err := readConfig()
	if err != nil {
		return err
	}
	role := "listener"
	if c.isDialer {
		role = "dialer"
	}
	logf("role=%s transport=%s security=%s muxer=%s ip=%s redis=%s timeout=%s",
		role, c.transport, c.security, c.muxer, c.ip, c.redisAddr, c.timeout)

	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()

	rdb := redis.NewClient(&redis.Options{Addr: c.redisAddr})
	defer rdb.Close()
	// Redis may come up after us; retry until it answers or time runs out.
	for {
		err := rdb.Ping(ctx).Err()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("redis %s unreachable within %s: %w", c.redisAddr, c.timeout, err)
		}
		logf("waiting for redis %s: %v", c.redisAddr, err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}

	if c.isDialer {
		return runDialer(ctx, c, rdb)
	}
	return runListener(ctx, c, rdb)
}

func main() {
	if err := run(); err != nil {
		logf("error: %v", err)
		os.Exit(1)
	}
}
