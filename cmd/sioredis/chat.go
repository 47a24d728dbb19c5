package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/chat"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
	"github.com/sioredis/sioredis/emitter"
)

// runChat runs "sioredis chat": the chat application (HTTP API, SQLite, the page and a Socket.IO server), alone
// or, with --redis, as one server of a Socket.IO cluster, until ctx ends.
func runChat(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultAddr, "address to listen on (give :8080 or HOST:8080 to listen beyond this machine)")
	var t httpserve.Timeouts
	timeoutFlags(fs, &t)
	var httpOpts httpserve.Options
	httpFlags(fs, &httpOpts)
	var proxies prefixList
	proxyFlag(fs, &proxies)
	var lf logFlags
	lf.register(fs)
	db := fs.String("db", "sioredis-chat.db", "SQLite database file (created if missing; one process per file), or a PostgreSQL URL postgres://user:password@host/db shared by several instances")
	claimPoll := fs.Duration("claim-poll", time.Second, "with PostgreSQL: how often an instance that is not publishing tries to take over the outbox, and to reach the database again after losing it (the longest messages wait after the publishing instance dies; one that stops on SIGTERM hands over at once)")
	dbTimeout := fs.Duration("db-timeout", 10*time.Second, "with PostgreSQL: longest time one database operation (a save, a read, a connection) may take before it fails as unavailable (503)")
	retryAfter := fs.Duration("retry-after", 2*time.Second, "Retry-After of the 503 answers given while the database is unavailable (whole seconds)")
	var conn connFlags
	conn.registerRedis(fs, os.Getenv("REDIS_URL"), "Redis URL (default $REDIS_URL): publish through Redis and join its Socket.IO cluster (default: run alone, no Redis)")
	prefix := fs.String("prefix", "socket.io", "the Redis adapter's key prefix (the stream name and channel prefix with --mode streams)")
	clusterMode := fs.String("mode", "classic", "cluster format with --redis: classic (@socket.io/redis-adapter createAdapter), sharded (createShardedAdapter, Redis >= 7) or streams (@socket.io/redis-streams-adapter, nothing lost across a Redis restart)")
	nsp := fs.String("nsp", "/", "namespace of the chat")
	event := fs.String("event", "message", "name of the event carrying a message")
	maxBody := fs.Int("max-body", chat.DefaultMaxBodyLen, "longest message body, in bytes; at most what --max-payload can publish")
	maxPayload := fs.Int("max-payload", emitter.DefaultMaxPayload, "largest message published through Redis, in bytes (keep it well under Redis's client-output-buffer-limit pubsub, 32 MB by default)")
	maxRooms := fs.Int("max-rooms", chat.DefaultMaxRooms, "most rooms one Socket.IO connection may be in")
	var origins stringList
	fs.Var(&origins, "allowed-origin", "origin of a page on another site allowed to post and connect, such as https://app.example.com (repeatable)")
	keysFile := fs.String("api-keys", "", "file of API keys of backends allowed to post, one \"NAME SECRET [SCOPE...]\" a line (also $"+apiKeysEnv+")")
	secretFile := fs.String("session-secret-file", "", "file holding the secret (32 random bytes or more, e.g. from openssl rand -base64 32) that signs browser users' session cookies (also $"+sessionSecretEnv+")")
	previousFile := fs.String("session-secret-previous-file", "", "file holding the secret that signed the session cookies before the current one, still accepted while a rotation is under way (also $"+previousSecretEnv+")")
	postRate := fs.Float64("post-rate", 5, "with --api-keys or a session secret: posts per second allowed to each key and each user (0: no limit)")
	ipRate := fs.Float64("ip-rate", 20, "with --api-keys or a session secret: posts per second allowed to each client address (0: no limit)")
	clusterWait := fs.Duration("cluster-wait", 10*time.Second, "classic and sharded: how long the relay holds a message that reached fewer servers than the cluster had during a Redis incident, waiting for them to resubscribe before publishing it again")
	waitReplicas := fs.Int("wait-replicas", -1, "with --mode streams: replicas each message must reach (Redis WAIT) before it counts as published; -1 (default): 1 with --sentinel-master, 0 otherwise")
	waitTimeout := fs.Duration("wait-timeout", time.Second, "with --wait-replicas: how long each WAIT waits at most")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file until the command stops")
	var mf metricsFlags
	mf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *maxBody <= 0 || *maxPayload <= 0 || *maxRooms <= 0 {
		return usagef("--max-body, --max-payload and --max-rooms must be positive")
	}
	if limit := chat.MaxBodyFor(*maxPayload); *maxBody > limit {
		return usagef("--max-body %d: a message must fit in --max-payload %d bytes; the longest body is %d", *maxBody, *maxPayload, limit)
	}
	logger, err := lf.logger(stderr)
	if err != nil {
		return err
	}

	var rdb redis.UniversalClient
	if conn.redisURL != "" {
		c, err := conn.client()
		if err != nil {
			return err
		}
		defer c.Close()
		rdb = c
	} else if conn.cluster || conn.sentinelMaster != "" {
		return usagef("--cluster and --sentinel-master need --redis")
	}

	if *waitReplicas < 0 {
		*waitReplicas = 0
		if conn.sentinelMaster != "" && *clusterMode == string(chat.ModeStreams) {
			*waitReplicas = 1
		}
	}
	if *clusterWait <= 0 {
		return usagef("--cluster-wait must be positive")
	}
	if *waitTimeout <= 0 {
		return usagef("--wait-timeout must be positive")
	}
	if *claimPoll <= 0 || *dbTimeout <= 0 || *retryAfter <= 0 {
		return usagef("--claim-poll, --db-timeout and --retry-after must be positive")
	}
	auth, err := chatAuth(*keysFile, *secretFile, *previousFile, *postRate, *ipRate)
	if err != nil {
		return err
	}
	metricsOnMain, metricsOwn := mf.where(auth != nil, logger) // with keys or sessions, /metrics would be the one open door
	m, metricsHandler, err := newMetrics(metricsOnMain || metricsOwn)
	if err != nil {
		return err
	}
	mainMetrics := metricsHandler
	if !metricsOnMain {
		mainMetrics = nil
	}
	postgres := strings.HasPrefix(*db, "postgres://") || strings.HasPrefix(*db, "postgresql://")
	var store *chat.Store
	if postgres {
		store, err = chat.OpenPostgres(ctx, *db, chat.PostgresConfig{ClaimPoll: *claimPoll, Timeout: *dbTimeout})
	} else {
		store, err = chat.OpenStore(ctx, *db)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	app, err := chat.New(chat.Config{Store: store, Redis: rdb, Mode: chat.Mode(*clusterMode), Prefix: *prefix, Namespace: *nsp, Event: *event,
		MaxBodyLen: *maxBody, MaxPayload: *maxPayload, MaxRooms: *maxRooms, RetryAfter: *retryAfter, AllowedOrigins: origins, TrustedProxies: proxies, Timeouts: t, HTTP: httpOpts, Logger: logger,
		Metrics: m, MetricsHandler: mainMetrics, Auth: auth, WaitReplicas: *waitReplicas, WaitTimeout: *waitTimeout, ClusterWait: *clusterWait})
	if err != nil {
		return usageError{err}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("sioredis: %w", err)
	}
	mode := "alone (no Redis)"
	if rdb != nil {
		mode = "in the Socket.IO cluster (" + *clusterMode + " format) of " + conn.redactedURL()
	}
	dbName, _ := filepath.Abs(*db)
	if postgres {
		dbName = redactURL(*db)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("sioredis: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("sioredis: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	logger.Info("serving the chat", "url", "http://"+displayAddr(ln.Addr()), "db", dbName, "mode", mode)
	warnExposed(logger, ln.Addr())
	if metricsOwn {
		ms, err := listenMetrics(mf.addr, metricsHandler, app.Ready, t, httpOpts, logger)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer ms.Close()
	}
	stopped := logShutdown(ctx, logger)
	err = app.Run(ctx, ln)
	stopped(err)
	return err
}

// redactURL returns a database URL without its password, for the logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// The environment variables holding the chat's session secret, and the one it replaces during a rotation.
const (
	sessionSecretEnv  = "SIOREDIS_SESSION_SECRET"
	previousSecretEnv = "SIOREDIS_SESSION_SECRET_PREVIOUS"
)

// readSecret returns the secret of file (its content without surrounding white space), or else of the
// environment variable env; a file given that holds nothing is an error.
func readSecret(file, flagName, env string) ([]byte, error) {
	if file == "" {
		return []byte(os.Getenv(env)), nil
	}
	secret, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("sioredis: %w", err)
	}
	if secret = bytes.TrimSpace(secret); len(secret) == 0 {
		return nil, usagef("--%s %s: the file holds no secret", flagName, file)
	}
	return secret, nil
}

// chatAuth builds the chat's Auth from its flags and environment: nil (anonymous) when neither keys nor a
// session secret are given.
func chatAuth(keysFile, secretFile, previousFile string, postRate, ipRate float64) (*chat.Auth, error) {
	if postRate < 0 || ipRate < 0 {
		return nil, usagef("--post-rate and --ip-rate must not be negative")
	}
	keys, err := apiauth.LoadKeys(keysFile, apiKeysEnv)
	if err != nil {
		return nil, usageError{err}
	}
	secret, err := readSecret(secretFile, "session-secret-file", sessionSecretEnv)
	if err != nil {
		return nil, err
	}
	previous, err := readSecret(previousFile, "session-secret-previous-file", previousSecretEnv)
	if err != nil {
		return nil, err
	}
	if len(previous) > 0 && len(secret) == 0 {
		return nil, usagef("a previous session secret needs the current one (--session-secret-file or $%s)", sessionSecretEnv)
	}
	if keys.Len() == 0 && len(secret) == 0 {
		return nil, nil
	}
	auth := &chat.Auth{Keys: keys,
		KeyLimit: apiauth.LimitConfig{Rate: postRate, Burst: max(1, int(2*postRate))},
		IPLimit:  apiauth.LimitConfig{Rate: ipRate, Burst: max(1, int(2*ipRate))}}
	if len(secret) > 0 {
		var prev [][]byte
		if len(previous) > 0 {
			prev = append(prev, previous)
		}
		if auth.Sessions, err = apiauth.NewSessions(secret, prev...); err != nil {
			return nil, usageError{err}
		}
	}
	return auth, nil
}
