package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/demo"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
)

// runServe runs "sioredis serve": a Socket.IO server with the live page, until ctx ends.
func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultAddr, "address to listen on (give :8080 or HOST:8080 to listen beyond this machine)")
	var t httpserve.Timeouts
	timeoutFlags(fs, &t)
	var proxies prefixList
	proxyFlag(fs, &proxies)
	allowEIO3 := fs.Bool("allow-eio3", false, "also accept socket.io-client 2.x (Engine.IO v3), as Node's allowEIO3")
	var lf logFlags
	lf.register(fs)
	var af adminFlags
	af.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	adminCfg, err := af.config()
	if err != nil {
		return err
	}
	d, err := demo.New(demo.Config{Logger: logger, Timeouts: t, TrustedProxies: proxies, AllowEIO3: *allowEIO3, Admin: adminCfg})
	if err != nil {
		return adminError(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("sioredis: %w", err)
	}
	logger.Info("serving the live page", "url", "http://"+displayAddr(ln.Addr()))
	warnExposed(logger, ln.Addr())
	return d.Run(ctx, ln)
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
	fs.Var(p, "trusted-proxy", "address or CIDR prefix of a reverse proxy whose X-Forwarded-Host/-Proto/-For and Forwarded headers are believed (repeatable or comma-separated; default none)")
}
