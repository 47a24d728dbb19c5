package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/demo"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
)

// serveFlags are the flags of "sioredis serve", registered by register: a struct, so that a feature adds its
// own fields and flags without touching the others.
type serveFlags struct {
	addr      string
	timeouts  httpserve.Timeouts
	http      httpserve.Options
	proxies   prefixList
	log       logFlags
	conn      connFlags // redisURL, cluster, sentinelMaster, mode, prefix
	tick      time.Duration
	metrics   metricsFlags
	allowEIO3 bool
	admin     adminFlags
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", defaultAddr, "address to listen on (give :8080 or HOST:8080 to listen beyond this machine)")
	timeoutFlags(fs, &f.timeouts)
	httpFlags(fs, &f.http)
	proxyFlag(fs, &f.proxies)
	f.log.register(fs)
	f.conn.registerRedis(fs, os.Getenv("REDIS_URL"), "Redis URL (default $REDIS_URL): join the Socket.IO cluster on that Redis, so that what sioredis emit publishes there shows up on the page (default: alone, no Redis)")
	fs.StringVar(&f.conn.mode, "mode", "classic", "cluster format with --redis: classic, sharded or streams (as sioredis emit --mode)")
	fs.StringVar(&f.conn.prefix, "prefix", "socket.io", "the Redis adapter's key prefix (the stream name with --mode streams)")
	fs.DurationVar(&f.tick, "tick", 0, "send every client a volatile \"tick\" event this often, such as 5s (default: never)")
	f.metrics.register(fs)
	fs.BoolVar(&f.allowEIO3, "allow-eio3", false, "also accept socket.io-client 2.x (Engine.IO v3), as Node's allowEIO3")
	f.admin.register(fs)
}

// runServe runs "sioredis serve": a Socket.IO server with the live page, until ctx ends.
func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := f.log.logger(stderr)
	if err != nil {
		return err
	}
	adminCfg, err := f.admin.config()
	if err != nil {
		return err
	}
	cfg := demo.Config{Logger: logger, Timeouts: f.timeouts, HTTP: f.http, TrustedProxies: f.proxies, TickInterval: f.tick,
		Mode: demo.Mode(f.conn.mode), Prefix: f.conn.prefix, AllowEIO3: f.allowEIO3, Admin: adminCfg}
	switch cfg.Mode {
	case demo.ModeClassic, demo.ModeSharded, demo.ModeStreams:
	default:
		return usagef("--mode %q: want classic, sharded or streams", f.conn.mode)
	}
	if f.conn.redisURL != "" {
		rdb, err := f.conn.client()
		if err != nil {
			return err
		}
		defer rdb.Close()
		cfg.Redis = rdb
	} else if f.conn.cluster || f.conn.sentinelMaster != "" {
		return usagef("--cluster and --sentinel-master need --redis")
	}
	metricsOnMain, metricsOwn := f.metrics.where(false, logger) // the page authenticates no one
	m, metricsHandler, err := newMetrics(metricsOnMain || metricsOwn)
	if err != nil {
		return err
	}
	cfg.Metrics = m
	if metricsOnMain {
		cfg.MetricsHandler = metricsHandler
	}
	d, err := demo.New(cfg)
	if errors.Is(err, demo.ErrConfig) {
		return usageError{err}
	} else if err != nil {
		return adminError(err)
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		_ = d.IO().Close()
		return fmt.Errorf("sioredis: %w", err)
	}
	mode := "alone (no Redis)"
	if cfg.Redis != nil {
		mode = "in the Socket.IO cluster (" + f.conn.mode + " format) of " + f.conn.redactedURL()
	}
	logger.Info("serving the live page", "url", "http://"+displayAddr(ln.Addr()), "mode", mode)
	warnExposed(logger, ln.Addr())
	if metricsOwn {
		ms, err := listenMetrics(f.metrics.addr, metricsHandler, d.Ready, f.timeouts, f.http, logger)
		if err != nil {
			_ = ln.Close()
			_ = d.IO().Close()
			return err
		}
		defer ms.Close()
	}
	stopped := logShutdown(ctx, logger)
	err = d.Run(ctx, ln)
	stopped(err)
	return err
}

// defaultAddr is where serve and chat listen by default: this machine only, for they authenticate no one.
const defaultAddr = "127.0.0.1:8080"

// timeoutFlags registers the HTTP server's time limits, with Node's http.Server defaults.
func timeoutFlags(fs *flag.FlagSet, t *httpserve.Timeouts) {
	fs.DurationVar(&t.Idle, "idle-timeout", httpserve.DefaultIdleTimeout, "close keep-alive connections idle this long (Node keepAliveTimeout; negative: never)")
	fs.DurationVar(&t.ReadHeader, "read-header-timeout", httpserve.DefaultReadHeaderTimeout, "longest time to read a request's header (Node headersTimeout; negative: no limit)")
	fs.DurationVar(&t.Read, "read-timeout", httpserve.DefaultReadTimeout, "longest time to read a whole request (Node requestTimeout; negative: no limit); long-polling bodies get at most the session's ping interval + timeout")
	fs.DurationVar(&t.Ready, "ready-timeout", httpserve.DefaultReadyTimeout, "longest time GET /readyz waits for Redis to answer PING and for the cluster subscription")
	fs.DurationVar(&t.Write, "write-timeout", httpserve.DefaultWriteTimeout, "longest time to write an answer (negative: no limit); long-polling GETs get the ping interval more, WebSockets none")
}

// httpFlags registers the HTTP server's header bound and allowed host names.
func httpFlags(fs *flag.FlagSet, o *httpserve.Options) {
	fs.IntVar(&o.MaxHeaderBytes, "max-header-bytes", httpserve.DefaultMaxHeaderBytes, "largest request line and header, in bytes, above which a request gets 431 (Node maxHeaderSize; negative: 1 MiB)")
	fs.Var((*stringList)(&o.AllowedHosts), "allowed-host", "host name the server answers besides localhost and IP addresses, such as chat.example.com or *.example.com; * for every host (repeatable; default: localhost only on a loopback address, against DNS rebinding, every host elsewhere)")
}

// warnExposed warns when the server listens beyond the loopback interface: nothing it serves asks who is
// there.
func warnExposed(logger *slog.Logger, a net.Addr) {
	if tcp, ok := a.(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		logger.Warn("listening on a public address with no authentication: anyone who can reach it can use it",
			"addr", a.String())
	}
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

// prefixList is the repeatable --trusted-proxy flag: CIDR prefixes, or single addresses.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	s := make([]string, len(*p))
	for i, x := range *p {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if pr, err := netip.ParsePrefix(f); err == nil {
			*p = append(*p, pr.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return fmt.Errorf("want a CIDR prefix such as 10.0.0.0/8 or an address, got %q", f)
		}
		*p = append(*p, netip.PrefixFrom(a, a.BitLen()))
	}
	return nil
}

func proxyFlag(fs *flag.FlagSet, p *prefixList) {
	fs.Var(p, "trusted-proxy", "address or CIDR prefix of a reverse proxy whose X-Forwarded-Host/-Proto/-For headers are believed, the client address being the rightmost X-Forwarded-For entry that is not a trusted proxy; Forwarded is ignored (repeatable or comma-separated; default none)")
}
