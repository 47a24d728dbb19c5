package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/jsonarg"
	"github.com/sioredis/sioredis/jsvalue"
)

var errHelp = errors.New("help shown")

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// optionalBool is a boolean flag that remembers whether it was given, so
// that --compress=false differs from no --compress at all.
type optionalBool struct{ set, value bool }

func (o *optionalBool) String() string {
	if !o.set {
		return ""
	}
	return strconv.FormatBool(o.value)
}

func (o *optionalBool) Set(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("want true or false, got %q", v)
	}
	o.set, o.value = true, b
	return nil
}

func (o *optionalBool) IsBoolFlag() bool { return true }

// connFlags are the flags that say how to reach Redis and which cluster.
type connFlags struct {
	redisURL       string
	cluster        bool
	sentinelMaster string
	mode           string
	prefix         string
	nsp            string
	subscription   string
	streamCount    int
	maxLen         int64
	timeout        time.Duration
	dials          *dialTrace // the outcome of the connections' dials, to explain a timeout; set by client
	verbose        bool
}

func (c *connFlags) register(fs *flag.FlagSet) {
	c.registerCluster(fs)
	fs.StringVar(&c.nsp, "nsp", "/", "namespace")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "give up on Redis after this long")
	fs.BoolVar(&c.verbose, "v", false, "log what is published to stderr")
}

// registerRedis registers the flags that say how to reach Redis: --redis (with the command's default and help),
// --cluster and --sentinel-master.
func (c *connFlags) registerRedis(fs *flag.FlagSet, def, help string) {
	fs.StringVar(&c.redisURL, "redis", def, help)
	fs.Lookup("redis").DefValue = redactRedis(def) // -h shows it: $REDIS_URL may hold a password
	fs.BoolVar(&c.cluster, "cluster", false, "connect to a Redis Cluster (--redis lists nodes)")
	fs.StringVar(&c.sentinelMaster, "sentinel-master", "", "connect through Sentinel to this master (--redis lists sentinels)")
}

// registerCluster registers the flags that say which Redis and which adapter format: those of register but the
// namespace, the timeout and -v (the commands that serve many requests, such as api, take those per request).
func (c *connFlags) registerCluster(fs *flag.FlagSet) {
	c.registerRedis(fs, defaultRedisURL(), "Redis URL (default $REDIS_URL, then redis://127.0.0.1:6379), or comma-separated node or sentinel addresses with --cluster or --sentinel-master")
	fs.StringVar(&c.mode, "mode", "classic", "adapter format: classic, sharded, streams or legacy")
	fs.StringVar(&c.prefix, "prefix", "socket.io", "key prefix (classic, legacy), channel prefix (sharded) or stream name (streams)")
	fs.StringVar(&c.subscription, "subscription-mode", "static", "sharded servers' subscriptionMode: static, dynamic or dynamic-private")
	fs.IntVar(&c.streamCount, "stream-count", 1, "streams adapter streamCount")
	fs.Int64Var(&c.maxLen, "maxlen", emitter.DefaultStreamMaxLen, "streams: approximate MAXLEN of XADD")
}

// redactedURL returns --redis as logs may show it: the password of each URL replaced by "xxxxx".
func (c *connFlags) redactedURL() string { return redactRedis(c.redisURL) }

// redactRedis replaces the password of every URL in a --redis value (one URL, or a comma-separated list) with
// "xxxxx", as url.URL.Redacted does, whether or not the URL parses: its userinfo is what precedes the last "@"
// before the first "/" after the scheme.
func redactRedis(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		scheme := strings.Index(p, "://")
		if scheme < 0 {
			continue
		}
		rest := p[scheme+3:]
		authority := rest
		if end := strings.IndexAny(rest, "/?#"); end >= 0 {
			authority = rest[:end]
		}
		at := strings.LastIndexByte(authority, '@')
		if at < 0 {
			continue
		}
		if colon := strings.IndexByte(authority[:at], ':'); colon >= 0 {
			parts[i] = p[:scheme+3] + authority[:colon+1] + "xxxxx" + rest[at:]
		}
	}
	return strings.Join(parts, ",")
}

// redactErr returns the text of err, an error about the URL raw, with raw redacted (url.Parse's errors quote
// the whole URL).
func redactErr(err error, raw string) string {
	return strings.ReplaceAll(err.Error(), raw, redactRedis(raw))
}

// client builds the Redis client the flags describe.
func (c *connFlags) client() (redis.UniversalClient, error) {
	c.dials = &dialTrace{}
	if c.cluster || c.sentinelMaster != "" {
		var addrs []string
		var base *redis.Options
		for _, a := range strings.Split(c.redisURL, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			if strings.Contains(a, "://") {
				o, err := redis.ParseURL(a)
				if err != nil {
					return nil, usagef("--redis: %s", redactErr(err, a))
				}
				if base == nil {
					base = o
				}
				a = o.Addr
			}
			addrs = append(addrs, a)
		}
		if len(addrs) == 0 {
			return nil, usagef("--redis: no address")
		}
		u := &redis.UniversalOptions{Addrs: addrs, MasterName: c.sentinelMaster, IsClusterMode: c.cluster, Dialer: c.dials.dial}
		if base != nil {
			u.Username, u.Password, u.TLSConfig = base.Username, base.Password, base.TLSConfig
			c.dials.tls = base.TLSConfig
		}
		return redis.NewUniversalClient(u), nil
	}
	u := c.redisURL
	if !strings.Contains(u, "://") {
		u = "redis://" + u // HOST:PORT, as redis-cli users type it
	}
	o, err := redis.ParseURL(u)
	if err != nil {
		return nil, usagef("--redis: %s", redactErr(err, u))
	}
	c.dials.tls, o.Dialer = o.TLSConfig, c.dials.dial
	return redis.NewClient(o), nil
}

func (c *connFlags) options() ([]emitter.Option, error) {
	mode, err := emitter.ParseMode(c.mode)
	if err != nil {
		return nil, usageError{err}
	}
	var sub emitter.SubscriptionMode
	switch c.subscription {
	case "static":
		sub = emitter.SubscriptionStatic
	case "dynamic":
		sub = emitter.SubscriptionDynamic
	case "dynamic-private":
		sub = emitter.SubscriptionDynamicPrivate
	default:
		return nil, usagef("--subscription-mode: unknown mode %q (static, dynamic or dynamic-private)", c.subscription)
	}
	if c.streamCount < 1 {
		return nil, usagef("--stream-count must be at least 1")
	}
	opts := []emitter.Option{
		emitter.WithMode(mode), emitter.WithPrefix(c.prefix), emitter.WithSubscriptionMode(sub),
		emitter.WithStreamCount(c.streamCount), emitter.WithStreamMaxLen(c.maxLen),
	}
	if c.verbose {
		opts = append(opts, emitter.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	return opts, nil
}

// validationErrors are the emitter errors that mean "bad input, nothing
// published": exit status 2.
var validationErrors = []error{
	emitter.ErrReservedEvent, emitter.ErrInvalidEvent, emitter.ErrInvalidNamespace, emitter.ErrInvalidPrefix,
	emitter.ErrInvalidRoom, emitter.ErrUnsupportedValue, emitter.ErrTooLarge, emitter.ErrTooManyAttachments,
	emitter.ErrUnsupported,
}

func classify(err error) error {
	for _, v := range validationErrors {
		if errors.Is(err, v) {
			return usageError{err}
		}
	}
	return err
}

// runEmitter runs emit, join, leave, disconnect and server-emit.
func runEmitter(ctx context.Context, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by run
	fs.Usage = func() {}     // fs.Parse calls it on errors too; the help is printed below, on -h only
	var conn connFlags
	conn.register(fs)
	var to, except stringList
	var volatile, closeConn bool
	var compress optionalBool
	var argsFile string
	var minReceivers int
	target := cmd != "server-emit"
	fs.IntVar(&minReceivers, "min-receivers", 0, "fail (exit status 1) when the message reached fewer Redis subscribers than this (pub/sub modes); a message that reached none is always reported on stderr")
	if target {
		fs.Var(&to, "to", "target a room (repeatable)")
		fs.Var(&except, "except", "skip a room (repeatable; socket ids on socket.io 2)")
	}
	if cmd == "emit" { // flags of an event to clients: join, leave and disconnect send none
		fs.BoolVar(&volatile, "volatile", false, "the event may be dropped for clients that are not ready")
		fs.Var(&compress, "compress", "ask the servers to compress (true) or not (false); absent: their default")
	}
	if cmd == "disconnect" {
		fs.BoolVar(&closeConn, "close", false, "close the underlying connections too")
	}
	if cmd == "emit" || cmd == "server-emit" {
		fs.StringVar(&argsFile, "args-file", "", "read the arguments from this file (- for stdin) as a JSON array")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeHelp(stdout, fs)
			return errHelp
		}
		return usagef("%w (run sioredis %s -h)", err, cmd)
	}
	rest := fs.Args()
	// Names go out as written: text that is not UTF-8 would reach the servers and clients as U+FFFD.
	names := append(append([]string(nil), to...), except...)
	if cmd == "emit" || cmd == "server-emit" {
		names = append(names, rest[:min(1, len(rest))]...) // the event; its arguments are JSON, checked below
	} else {
		names = append(names, rest...)
	}
	for _, name := range names {
		if !utf8.ValidString(name) {
			return usagef("%q is not valid UTF-8", name)
		}
	}

	// Everything is parsed and checked before connecting to Redis.
	var event string
	var eventArgs []any
	switch cmd {
	case "emit", "server-emit":
		if len(rest) == 0 {
			return usagef("missing EVENT")
		}
		event = rest[0]
		var err error
		if argsFile != "" {
			if len(rest) > 1 {
				return usagef("give arguments either on the command line or with --args-file, not both")
			}
			eventArgs, err = readArgsFile(argsFile, stdin)
		} else {
			eventArgs = make([]any, 0, len(rest)-1)
			for i, a := range rest[1:] {
				if terr := jsvalue.CheckJSONText([]byte(a)); terr != nil {
					err = fmt.Errorf("ARG %d: %w", i+1, terr)
					break
				}
				v, perr := jsonarg.Parse([]byte(a))
				if perr != nil {
					err = fmt.Errorf("ARG %d: %w (each ARG is one JSON value: quote strings, e.g. '\"text\"')", i+1, perr)
					break
				}
				eventArgs = append(eventArgs, v)
			}
		}
		if err != nil {
			return usageError{err}
		}
	case "join", "leave":
		if len(rest) == 0 {
			return usagef("missing ROOM")
		}
	case "disconnect":
		if len(rest) > 0 {
			return usagef("unexpected argument %q", rest[0])
		}
	}
	opts, err := conn.options()
	if err != nil {
		return err
	}
	client, err := conn.client()
	if err != nil {
		return err
	}
	defer client.Close()
	e, err := emitter.New(client, opts...)
	if err != nil {
		return classify(err)
	}
	e = e.Of(conn.nsp)
	if target {
		if len(to) > 0 {
			e = e.To(to...)
		}
		if len(except) > 0 {
			e = e.Except(except...)
		}
		if volatile {
			e = e.Volatile()
		}
		if compress.set {
			e = e.Compress(compress.value)
		}
	}
	if err := e.Err(); err != nil {
		return classify(err)
	}
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()
	var rc emitter.Receipt
	switch cmd {
	case "emit":
		rc, err = e.Emit(ctx, event, eventArgs...)
	case "server-emit":
		rc, err = e.ServerSideEmit(ctx, event, eventArgs...)
	case "join":
		rc, err = e.SocketsJoin(ctx, rest...)
	case "leave":
		rc, err = e.SocketsLeave(ctx, rest...)
	case "disconnect":
		rc, err = e.DisconnectSockets(ctx, closeConn)
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		err = conn.dials.explain(err, conn.timeout)
	}
	if err != nil {
		return classify(err)
	}
	if rc.Receivers == 0 {
		fmt.Fprintf(stderr, "sioredis %s: warning: published on %q, but no server is subscribed to it: check --prefix, --nsp and --mode against the servers' adapter (sioredis monitor shows what they publish), or the servers are reconnecting to Redis\n", cmd, rc.Channel)
	}
	if rc.Receivers >= 0 && rc.Receivers < minReceivers {
		return fmt.Errorf("published on %q to %d Redis subscribers, fewer than --min-receivers %d", rc.Channel, rc.Receivers, minReceivers)
	}
	return nil
}

// readArgsFile reads the JSON array of arguments of --args-file; text that is not Unicode (see
// jsvalue.CheckJSONText) is refused rather than published as U+FFFD.
func readArgsFile(name string, stdin io.Reader) ([]any, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if err := jsvalue.CheckJSONText(data); err != nil {
		return nil, fmt.Errorf("--args-file: %w", err)
	}
	return jsonarg.ParseArray(data)
}

// dialTrace remembers the last failed dial to Redis: go-redis retries a refused connection until the command's
// context ends, whose error ("context deadline exceeded") alone does not say what failed. Safe for concurrent
// use.
type dialTrace struct {
	tls *tls.Config // rediss://: the dial includes the TLS handshake, as go-redis's own dialer does

	mu        sync.Mutex
	err       error // the last failed dial's error
	addr      string
	failed    int  // dials that failed
	connected bool // a dial succeeded
}

func (d *dialTrace) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 5 * time.Minute}
	var c net.Conn
	var err error
	if d.tls != nil {
		c, err = (&tls.Dialer{NetDialer: nd, Config: d.tls}).DialContext(ctx, network, addr)
	} else {
		c, err = nd.DialContext(ctx, network, addr)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addr = addr
	switch {
	case err == nil:
		d.connected = true
	case ctx.Err() == nil: // the command's own deadline is not what failed
		d.err = err
		d.failed++
	}
	return c, err
}

// explain adds to err, a command that ran out of time, what the connections to Redis did meanwhile.
func (d *dialTrace) explain(err error, timeout time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.err != nil && !d.connected:
		return fmt.Errorf("could not connect to Redis at %s within --timeout %s (%d failed attempts, the last: %w): %w", d.addr, timeout, d.failed, d.err, err)
	case d.addr != "" && !d.connected:
		return fmt.Errorf("could not connect to Redis at %s within --timeout %s (no answer to the connection attempt): %w", d.addr, timeout, err)
	case d.connected:
		return fmt.Errorf("connected to Redis at %s, but it did not answer within --timeout %s: %w", d.addr, timeout, err)
	}
	return fmt.Errorf("no connection to Redis attempted within --timeout %s: %w", timeout, err)
}
