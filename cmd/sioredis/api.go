package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/emitapi"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
	"github.com/sioredis/sioredis/emitter"
)

// apiKeysEnv is the environment variable holding API keys, in the format of an --api-keys file.
const apiKeysEnv = "SIOREDIS_API_KEYS"

// defaultAPIAddr is where "sioredis api" listens by default: this machine only, beside serve and chat.
const defaultAPIAddr = "127.0.0.1:8090"

// runAPI runs "sioredis api": the HTTP emit API (package emitapi) in front of Redis, until ctx ends.
func runAPI(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultAPIAddr, "address to listen on (give :8090 or HOST:8090 to listen beyond this machine)")
	var t httpserve.Timeouts
	timeoutFlags(fs, &t)
	var httpOpts httpserve.Options
	httpFlags(fs, &httpOpts)
	var proxies prefixList
	proxyFlag(fs, &proxies)
	var lf logFlags
	lf.register(fs)
	var conn connFlags
	conn.registerCluster(fs)
	keysFile := fs.String("api-keys", "", "file of API keys, one \"NAME SECRET [SCOPE...]\" a line (also $"+apiKeysEnv+"; at least one key is needed)")
	keyRate := fs.Float64("key-rate", 1000, "emits per second allowed to each API key (0: no limit)")
	keyBurst := fs.Int("key-burst", 2000, "emits an idle API key may send at once; also the largest batch")
	ipRate := fs.Float64("ip-rate", 100, "requests per second allowed to each client address (0: no limit)")
	ipBurst := fs.Int("ip-burst", 200, "requests an idle client address may send at once")
	maxClients := fs.Int("max-clients", apiauth.DefaultMaxClients, "most keys and addresses whose rate is tracked (the least recently seen is forgotten)")
	maxBatch := fs.Int("max-batch", emitapi.DefaultMaxBatch, "most emits in one batch")
	maxBody := fs.Int64("max-body", emitapi.DefaultMaxBodyBytes, "largest request body, in bytes")
	maxPayload := fs.Int("max-payload", emitter.DefaultMaxPayload, "largest message published through Redis, in bytes")
	var mf metricsFlags
	mf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyRate < 0 || *ipRate < 0 || *keyBurst <= 0 || *ipBurst <= 0 || *maxClients <= 0 || *maxBatch <= 0 || *maxBody <= 0 || *maxPayload <= 0 {
		return usagef("--key-rate and --ip-rate must not be negative; --key-burst, --ip-burst, --max-clients, --max-batch, --max-body and --max-payload must be positive")
	}
	logger, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	keys, err := apiauth.LoadKeys(*keysFile, apiKeysEnv)
	if err != nil {
		return usageError{err}
	}
	if keys.Len() == 0 {
		return usagef("no API key: give --api-keys FILE or set $%s (lines of \"NAME SECRET [SCOPE...]\", secrets of at least %d bytes)", apiKeysEnv, apiauth.MinKeyLen)
	}
	opts, err := conn.options()
	if err != nil {
		return err
	}
	opts = append(opts, emitter.WithLogger(logger), emitter.WithMaxPayload(*maxPayload))
	metricsOnMain, metricsOwn := mf.where(true, logger) // every request of the API needs a key
	m, metricsHandler, err := newMetrics(metricsOnMain || metricsOwn)
	if err != nil {
		return err
	}
	if m != nil {
		opts = append(opts, emitter.WithMetrics(m.Emitter())) // publishes, bytes, errors and batch sizes per mode
	}
	client, err := conn.client()
	if err != nil {
		return err
	}
	defer client.Close()
	h, err := emitapi.New(emitapi.Config{
		Redis: client, Options: opts, Keys: keys,
		KeyLimit:       apiauth.LimitConfig{Rate: *keyRate, Burst: *keyBurst, MaxClients: *maxClients},
		IPLimit:        apiauth.LimitConfig{Rate: *ipRate, Burst: *ipBurst, MaxClients: *maxClients},
		TrustedProxies: proxies, MaxBodyBytes: *maxBody, MaxBatch: *maxBatch, Logger: logger,
	})
	if err != nil {
		return usageError{err}
	}
	defer h.Close()
	mux := http.NewServeMux()
	httpserve.HealthHandlers(mux, h.Ready, t.Ready, logger)
	if metricsOnMain {
		mux.Handle("GET /metrics", metricsHandler)
	}
	mux.Handle("/", h)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("sioredis: %w", err)
	}
	hs := httpserve.NewServer(mux, t, httpOpts, "/socket.io/", httpserve.Session{}, logger)
	logger.Info("serving the emit API", "url", "http://"+displayAddr(ln.Addr())+"/v1/", "mode", conn.mode, "redis", conn.redactedURL(), "keys", keys.Len())
	if metricsOwn {
		ms, err := listenMetrics(mf.addr, metricsHandler, h.Ready, t, httpOpts, logger)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer ms.Close()
	}
	stopped := logShutdown(ctx, logger)
	served := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { served <- hs.Serve(ln) })
	defer wg.Wait()
	select {
	case err := <-served:
		return fmt.Errorf("sioredis: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	stopped(err)
	return err
}
