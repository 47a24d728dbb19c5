// Package chat is the application of "sioredis chat": a chat whose messages go the way most Socket.IO
// deployments send data from their other backends. A browser posts a message over HTTP (an AJAX POST); the
// handler saves it in a database (a SQLite file for one process, PostgreSQL for several); a relay then
// publishes it through Redis in the format of the Socket.IO Redis adapter, and every server of the cluster
// (Node.js or Go) delivers it to the clients in the message's room.
//
// The process is also one of those servers: it serves the chat page and Socket.IO, and its server joins the Redis
// cluster through redisadapter. With no Redis, it runs alone: the relay emits from its own server.
//
// Messages are saved before anything is published (an outbox): when Redis is down the API still accepts
// messages, answers 202, and the relay delivers them in order once Redis is back.
package chat

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/sioclient"
	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/metrics"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

//go:embed static
var static embed.FS

// Config configures an App.
type Config struct {
	// Store holds the messages; required. The App does not close it.
	Store *Store
	// Redis, when not nil, connects the App to a Socket.IO cluster: messages are published through Redis and
	// the App's own Socket.IO server joins the cluster (classic @socket.io/redis-adapter format).
	Redis redis.UniversalClient
	// Prefix is the Redis adapter's key prefix; default "socket.io".
	Prefix string
	// Namespace the messages are emitted to and the page connects to; default "/".
	Namespace string
	// Event is the name of the event carrying a message; default "message".
	Event string
	// MaxBodyLen bounds a message's body, in bytes; default DefaultMaxBodyLen. It may not exceed
	// MaxBodyFor(MaxPayload): every message accepted can be published.
	MaxBodyLen int
	// MaxPayload is the largest message published through Redis, in bytes (emitter.WithMaxPayload); default
	// emitter.DefaultMaxPayload, a quarter of Redis's default pub/sub output-buffer hard limit.
	MaxPayload int
	// MaxRooms bounds the rooms one Socket.IO connection may be in, joined from the handshake query (room=,
	// rooms=) and with "join"; default DefaultMaxRooms. A handshake naming more is refused.
	MaxRooms int
	// AllowedOrigins are the origins of pages on other sites ("https://app.example.com") allowed to post
	// messages and to connect to Socket.IO. Requests from any other site are refused with 403.
	AllowedOrigins []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-* headers are believed, for the
	// API's cross-site check and for Socket.IO (see engineio.Config.TrustedProxies).
	TrustedProxies []netip.Prefix
	// PublishWait is how long a POST waits for its message to be published before it answers 202 Accepted
	// instead of 201 Created; default 2 s.
	PublishWait time.Duration
	// RetryAfter is the Retry-After of the 503 answers given while the database is unavailable (a POST, a
	// read of the history), rounded up to whole seconds; default 2 s.
	RetryAfter time.Duration
	// Mode is the format of the Socket.IO cluster the App joins with Redis: ModeClassic (default), ModeSharded or
	// ModeStreams.
	Mode Mode
	// ClusterWait bounds how long, in the pub/sub formats, the relay holds a message that reached fewer servers
	// than the cluster had during a Redis incident (see deliveryGuard), waiting for them to resubscribe before it
	// publishes the message again; default 10 s. Past it, the message is published once more for the servers that
	// are back, and the others' clients miss it (logged and counted).
	ClusterWait time.Duration
	// WaitReplicas, in the streams format, is the number of replicas each message's stream entry must reach
	// (Redis WAIT, emitter.WithDurability) before the relay counts it published, for WaitTimeout at most; 0, the
	// default, waits for none. Replication is asynchronous: without it, an entry the master acknowledged and lost
	// in a failover before its replicas had it is gone. An entry that fewer replicas acknowledged in time is kept
	// as published (it is in the stream; adding it again would deliver it twice), logged and counted. While the
	// master has fewer replicas in sync than WaitReplicas (after a failover, until one rejoins), messages are
	// published without WAIT, and the App logs when that starts and ends.
	WaitReplicas int
	// WaitTimeout bounds each WAIT of WaitReplicas; default 1 s.
	WaitTimeout time.Duration
	// Timeouts are the HTTP server's time limits; zero fields take Node's defaults (see httpserve).
	Timeouts httpserve.Timeouts
	// HTTP are the HTTP server's header bound and allowed host names (see httpserve.Options).
	HTTP httpserve.Options
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics, if not nil, receives the observations of the App's Socket.IO server, cluster transport and
	// emitter, the outbox's depth (counted at each scrape) and each message's publish lag.
	Metrics *metrics.Metrics
	// MetricsHandler, if not nil, answers GET /metrics (promhttp.HandlerFor the registry of Metrics).
	MetricsHandler http.Handler
	// Auth, when not nil, identifies who posts and connects (see Auth); nil is the anonymous mode of the demo.
	Auth *Auth
}

// Mode is the format of a Socket.IO cluster over Redis.
type Mode string

// The cluster formats. In the pub/sub formats (classic, sharded), what is published while a server resubscribes
// after a Redis restart or failover never reaches its clients: the relay holds a message that reached fewer
// servers than the cluster has until they are back and publishes it again (see deliveryGuard), and the App tells
// its pages to reload their history after its own server resubscribed. In the streams format, every server reads
// the stream from where it left off: nothing accepted is lost for connected clients (with Redis persistence,
// across a Redis restart; with replicas, see Config.WaitReplicas).
const (
	ModeClassic Mode = "classic" // @socket.io/redis-adapter createAdapter
	ModeSharded Mode = "sharded" // @socket.io/redis-adapter createShardedAdapter (Redis >= 7, Redis Cluster); pub/sub too
	ModeStreams Mode = "streams" // @socket.io/redis-streams-adapter 0.3
)

// clusterMember is what the App needs of its server's cluster transport.
type clusterMember interface {
	socketio.Cluster
	WaitReady(ctx context.Context) error
}

// App is the chat: an http.Handler for the page, the API and Socket.IO, and the relay that publishes saved
// messages while Run runs. Safe for concurrent use.
type App struct {
	cfg     Config
	io      *socketio.Server
	cluster clusterMember         // nil alone
	classic *redisadapter.Adapter // the classic transport, for its gaps
	nsp     *socketio.Namespace
	relay   *relay
	mux     *http.ServeMux
	page    []byte
	headers http.Header
	csrf    *http.CrossOriginProtection
	auth    *authState  // nil: anonymous
	saved   *savedTimes // when this instance saved the messages not yet published, for the publish lag; nil without metrics
}

// ErrConfig reports a Config that New refuses.
var ErrConfig = errors.New("chat: invalid configuration")

// MaxBodyFor returns the longest body whose message fits in a published message of maxPayload bytes: the body
// goes out as written (MessagePack strings are not escaped), with its room twice, its author and the fields
// of the message and of the adapter's envelope.
func MaxBodyFor(maxPayload int) int {
	return maxPayload - 2*MaxRoomLen - MaxAuthorLen - publishOverhead
}

// publishOverhead bounds what a published message holds besides its body, room and author: the adapter's
// envelope, the namespace and event (checked by New), the message's keys, id, sequence number and time.
const publishOverhead = 1024

// New returns an App. It checks the configuration; with Redis, the server's adapter starts subscribing (Run's
// end stops it).
func New(cfg Config) (*App, error) {
	if cfg.Store == nil {
		return nil, errors.New("chat: Config.Store is nil")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "socket.io"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "/"
	}
	if cfg.Event == "" {
		cfg.Event = "message"
	}
	if cfg.MaxBodyLen <= 0 {
		cfg.MaxBodyLen = DefaultMaxBodyLen
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = emitter.DefaultMaxPayload
	}
	if limit := MaxBodyFor(cfg.MaxPayload); cfg.MaxBodyLen > limit {
		return nil, fmt.Errorf("%w: a body of %d bytes could not be published in a message of at most %d bytes; the body limit is at most %d",
			ErrConfig, cfg.MaxBodyLen, cfg.MaxPayload, limit)
	}
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = DefaultMaxRooms
	}
	if cfg.PublishWait == 0 {
		cfg.PublishWait = 2 * time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	nsp, err := protocol.NormalizeNamespace(cfg.Namespace)
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	cfg.Namespace = nsp
	if err := siopacket.ValidateEvent(cfg.Event); err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	if len(cfg.Event)+len(nsp) > 256 {
		return nil, fmt.Errorf("%w: namespace and event longer than 256 bytes together", ErrConfig)
	}
	if err := protocol.ValidatePrefix(cfg.Prefix); err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}

	page, err := static.ReadFile("static/index.html")
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	var em, durable *emitter.Emitter // durable: em with WaitReplicas
	var cluster clusterMember
	var classic *redisadapter.Adapter
	var sharded *redisadapter.ShardedAdapter
	csrf := http.NewCrossOriginProtection()
	for _, o := range cfg.AllowedOrigins {
		if err := csrf.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("%w: AllowedOrigins: %w", ErrConfig, err)
		}
	}
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, &FieldError{Field: "Origin", Reason: "cross-site request refused"})
	}))
	ioCfg := socketio.Config{Logger: cfg.Logger, Engine: engineio.Config{AllowedOrigins: cfg.AllowedOrigins, TrustedProxies: cfg.TrustedProxies,
		MaxHeaderBytes: cfg.HTTP.EngineMaxHeaderBytes()}}
	var adapterMetrics redisadapter.Metrics
	if cfg.Metrics != nil {
		cfg.Metrics.Instrument(&ioCfg)
		adapterMetrics = cfg.Metrics.Adapter()
	}
	// The transport's observations also tell the relay when Redis had trouble (see deliveryGuard).
	trouble := &troubleClock{}
	adapterMetrics = troubleWatch{clock: trouble, next: adapterMetrics}
	if cfg.Mode == "" {
		cfg.Mode = ModeClassic
	}
	if cfg.Redis != nil { // the emitter first: once created, the server's adapter runs until the server is closed
		opts := []emitter.Option{emitter.WithPrefix(cfg.Prefix), emitter.WithLogger(cfg.Logger), emitter.WithMaxPayload(cfg.MaxPayload)}
		if cfg.Metrics != nil {
			opts = append(opts, emitter.WithMetrics(cfg.Metrics.Emitter()))
		}
		switch cfg.Mode {
		case ModeClassic:
		case ModeSharded:
			opts = append(opts, emitter.WithMode(emitter.Sharded))
		case ModeStreams:
			opts = append(opts, emitter.WithMode(emitter.Streams))

		default:
			return nil, fmt.Errorf("%w: mode %q (classic, sharded or streams)", ErrConfig, cfg.Mode)
		}
		var err error
		if em, err = emitter.New(cfg.Redis, opts...); err != nil {
			return nil, fmt.Errorf("chat: %w", err)
		}
		if cfg.Mode == ModeStreams && cfg.WaitReplicas > 0 {
			if cfg.WaitTimeout <= 0 {
				cfg.WaitTimeout = time.Second
			}
			if durable, err = emitter.New(cfg.Redis, append(opts, emitter.WithDurability(cfg.WaitReplicas, cfg.WaitTimeout))...); err != nil {
				return nil, fmt.Errorf("chat: %w", err)
			}
		}
		switch cfg.Mode {
		case ModeStreams:
			cluster = redisadapter.NewStreams(cfg.Redis, redisadapter.StreamsConfig{StreamName: cfg.Prefix, ChannelPrefix: cfg.Prefix, Logger: cfg.Logger, Metrics: adapterMetrics})
		case ModeSharded:
			sharded = redisadapter.NewSharded(cfg.Redis, redisadapter.ShardedConfig{Prefix: cfg.Prefix, Logger: cfg.Logger, Metrics: adapterMetrics})
			cluster = sharded
		default:
			classic = redisadapter.New(cfg.Redis, redisadapter.Config{Prefix: cfg.Prefix, Logger: cfg.Logger, Metrics: adapterMetrics})
			cluster = classic
		}
		ioCfg.Cluster = cluster
	}
	srv, err := socketio.NewServer(ioCfg)
	if err != nil {
		if cluster != nil {
			_ = cluster.Close()
		}
		return nil, err
	}
	a := &App{cfg: cfg, io: srv, cluster: cluster, classic: classic, nsp: srv.Of(nsp), mux: http.NewServeMux(), page: page,
		headers: httpserve.PageHeaders(page), csrf: csrf}
	var pub Publisher = serverPublisher{ns: a.nsp, event: cfg.Event}
	var emPub emitterPublisher
	if em != nil {
		emPub = emitterPublisher{em: em.Of(nsp), event: cfg.Event, log: cfg.Logger}
		if durable != nil {
			emPub.durable = durable.Of(nsp)
			emPub.replicas = &replicaWatch{rdb: cfg.Redis, key: protocol.StreamKey(cfg.Prefix, nsp, 1), want: cfg.WaitReplicas, log: cfg.Logger}
		}
		pub = emPub
	}
	a.relay = newRelay(cfg.Store, pub, cfg.Logger)
	if m := cfg.Metrics; m != nil {
		a.saved = &savedTimes{}
		a.relay.published = func(msg Message) {
			if lag, ok := a.saved.lag(msg, time.Now()); ok {
				m.ObservePublishLag(lag)
			}
		}
		store := cfg.Store
		m.SetOutboxDepth(func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, n, err := store.Count(ctx)
			if err != nil {
				return math.NaN()
			}
			return float64(n)
		})
	}
	if classic != nil || sharded != nil { // pub/sub formats; the stream keeps what is written while servers are away
		if cfg.ClusterWait <= 0 {
			cfg.ClusterWait = 10 * time.Second
		}
		a.relay.guard = &deliveryGuard{probe: emPub.probe, present: ownSubscription(cfg.Redis, cfg.Prefix, nsp, classic, sharded),
			maxWait: cfg.ClusterWait, log: cfg.Logger, trouble: trouble}
		if cc, onCluster := cfg.Redis.(*redis.ClusterClient); onCluster && classic != nil {
			// PUBLISH on a Redis Cluster reaches every node but counts the subscribers of one: the count of the
			// servers is asked of every node instead, after each publish (servers SUBSCRIBE to the request channel
			// on the connection that has their broadcasts' pattern).
			servers := clusterWide(cc, protocol.RequestChannel(cfg.Prefix, nsp))
			a.relay.guard.probe, a.relay.guard.count = servers, servers
			a.relay.guard.present = clusterWideHas(cc, protocol.SpecificResponseChannel(cfg.Prefix, nsp, classic.UID()))
		}
		if cfg.Metrics != nil {
			a.relay.guard.metrics = cfg.Metrics
		}
		a.relay.guard.left = func() int { n, _ := a.relay.serversLeft(); return n }
	}
	a.setupAuth()
	a.nsp.OnConnection(a.onConnection)
	a.routes()
	return a, nil
}

// clusterWide returns a function counting the subscribers of channel on every node of a Redis Cluster (PUBSUB
// NUMSUB is each node's own).
func clusterWide(cc *redis.ClusterClient, channel string) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		var n atomic.Int64
		err := cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
			m, err := c.PubSubNumSub(ctx, channel).Result()
			n.Add(m[channel])
			return err
		})
		return int(n.Load()), err
	}
}

// clusterWideHas reports whether channel has a subscriber on some node of a Redis Cluster.
func clusterWideHas(cc *redis.ClusterClient, channel string) func(context.Context) (bool, error) {
	count := clusterWide(cc, channel)
	return func(ctx context.Context) (bool, error) {
		n, err := count(ctx)
		return n > 0, err
	}
}

// ownSubscription returns a function reporting whether the App's own server is subscribed where the publishes
// go: its private response channel (SUBSCRIBE in the classic format, SSUBSCRIBE in the sharded one) counted by
// PUBSUB NUMSUB or SHARDNUMSUB through the client that publishes.
func ownSubscription(rdb redis.UniversalClient, prefix, nsp string, classic *redisadapter.Adapter, sharded *redisadapter.ShardedAdapter) func(context.Context) (bool, error) {
	if classic != nil {
		ch := protocol.SpecificResponseChannel(prefix, nsp, classic.UID())
		return func(ctx context.Context) (bool, error) {
			n, err := rdb.PubSubNumSub(ctx, ch).Result()
			return n[ch] > 0, err
		}
	}
	ch := protocol.BroadcastChannel(prefix, nsp, []string{sharded.UID()})
	return func(ctx context.Context) (bool, error) {
		var c redis.Cmdable = rdb
		if cc, ok := rdb.(*redis.ClusterClient); ok { // the count is the slot owner's: go-redis sends PUBSUB anywhere
			m, err := cc.MasterForKey(ctx, ch)
			if err != nil {
				return false, err
			}
			c = m
		}
		n, err := c.PubSubShardNumSub(ctx, ch).Result()
		return n[ch] > 0, err
	}
}

// IO returns the App's Socket.IO server.
func (a *App) IO() *socketio.Server { return a.io }

// ClusterReady waits until the App's server has subscribed to the cluster's channels in Redis (at once when it
// runs alone), or until ctx ends.
func (a *App) ClusterReady(ctx context.Context) error {
	if a.cluster == nil {
		return nil
	}
	return a.cluster.WaitReady(ctx)
}

// Ready reports whether the App can save, read and publish messages: its database answers and, with Redis, its
// server has subscribed to the cluster's channels and Redis answers PING, before ctx ends. Its error is an
// *httpserve.Unready whose Reason says which ("database unreachable", "not subscribed to the cluster", "redis
// unreachable") and whose Err is the driver's; a database's wraps ErrDatabaseUnavailable. GET /readyz answers 503
// with the reason while it is not; the error, with addresses and users, goes to the log only.
func (a *App) Ready(ctx context.Context) error {
	if err := a.cfg.Store.Ping(ctx); err != nil {
		return &httpserve.Unready{Reason: reasonDatabaseUnreachable, Err: err}
	}
	if a.cfg.Redis == nil {
		return nil
	}
	if err := a.ClusterReady(ctx); err != nil {
		return &httpserve.Unready{Reason: reasonNotSubscribed, Err: err}
	}
	if err := a.cfg.Redis.Ping(ctx).Err(); err != nil {
		return &httpserve.Unready{Reason: reasonRedisUnreachable, Err: err}
	}
	return nil
}

// ServeHTTP serves the page, the API and Socket.IO.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mux.ServeHTTP(w, engineio.FromTrustedProxy(r, a.cfg.TrustedProxies))
}

// Run serves HTTP on ln and publishes saved messages (pending ones from earlier runs first) until ctx ends,
// then shuts down. It returns the first error of the HTTP server or of the shutdown. ln is closed when Run
// returns. Call Run once.
//
// The shutdown is a planned stop (SIGTERM): first the App tells the other instances sharing its database that
// it leaves, stops publishing and lets the outbox go, saying so, so that another instance publishes within
// milliseconds; then it closes its Socket.IO server (which leaves the cluster) and the HTTP server, whose
// requests in flight are still answered; a POST waiting for its message learns from the database that the next
// publisher sent it.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	hs := httpserve.NewServer(a, a.cfg.Timeouts, a.cfg.HTTP, "/socket.io/", httpserve.SessionOf(engineio.Config{}), a.cfg.Logger)
	publishCtx, stopPublishing := context.WithCancel(context.WithoutCancel(ctx))
	followCtx, stopFollowing := context.WithCancel(context.WithoutCancel(ctx))
	published := make(chan struct{})
	var wg sync.WaitGroup
	go func() { a.relay.run(publishCtx); close(published) }()
	wg.Go(func() { a.relay.follow(followCtx) })
	wg.Go(func() { a.resyncAfterGaps(followCtx) })
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	var err error
	select {
	case err = <-served: // Serve failed: shut the rest down all the same
		served = nil
	case <-ctx.Done():
	}
	lctx, cancelLeave := context.WithTimeout(context.Background(), time.Second)
	a.relay.leave(lctx)
	cancelLeave()
	stopPublishing()
	<-published
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Socket.IO first: it ends the long-polling requests that Shutdown would otherwise wait for.
	err = errors.Join(err, a.io.Shutdown(sctx), hs.Shutdown(sctx))
	stopFollowing()
	wg.Wait()
	if served != nil {
		if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
	}
	return err
}

// resyncAfterGaps tells the App's clients to reload their room's history (event "resync") each time the App's
// server subscribes again after losing Redis: what was published meanwhile did not reach it.
func (a *App) resyncAfterGaps(ctx context.Context) {
	if a.classic == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.classic.Reconnected():
			if err := a.nsp.Local().Emit(ctx, "resync"); err != nil {
				a.cfg.Logger.Warn("chat: resync", "err", err)
			}
		}
	}
}

// onConnection lets a socket join the rooms named in its handshake query (room=… or rooms=a,b) and then join
// or leave rooms with the "join" and "leave" events, acknowledged with {"room": …} or {"error": …}.
func (a *App) onConnection(ctx context.Context, s *socketio.Socket) {
	q := s.Handshake().Query
	var rooms []string
	for _, list := range append(q["room"], q["rooms"]...) {
		for _, room := range splitRooms(list) {
			if CheckRoom(room) == nil {
				rooms = append(rooms, room)
			}
			if len(rooms) > a.cfg.MaxRooms {
				a.cfg.Logger.Warn("chat: connection refused: too many rooms in its handshake", "sid", s.ID(), "max", a.cfg.MaxRooms)
				_ = s.Emit("refused", map[string]any{"error": fmt.Sprintf("at most %d rooms", a.cfg.MaxRooms)})
				s.Disconnect(true)
				return
			}
		}
	}
	s.Join(rooms...)
	type reply struct {
		Room  string `json:"room,omitempty"`
		Error string `json:"error,omitempty"`
	}
	socketio.HandleAck(s, "join", func(ctx context.Context, s *socketio.Socket, room string) reply {
		if err := CheckRoom(room); err != nil {
			return reply{Error: err.Error()}
		}
		if len(s.Rooms()) > a.cfg.MaxRooms && !slices.Contains(s.Rooms(), room) { // s.Rooms() holds the socket's own id
			return reply{Error: fmt.Sprintf("chat: at most %d rooms per connection", a.cfg.MaxRooms)}
		}
		s.Join(room)
		return reply{Room: room}
	})
	socketio.HandleAck(s, "leave", func(ctx context.Context, s *socketio.Socket, room string) reply {
		s.Leave(room)
		return reply{Room: room}
	})
}

func splitRooms(list string) []string {
	var out []string
	for _, room := range strings.Split(list, ",") {
		if room != "" {
			out = append(out, room)
		}
	}
	return out
}

func (a *App) routes() {
	a.mux.Handle("/socket.io/", a.io)
	a.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		httpserve.ServePage(w, r, a.page, a.headers)
	})
	a.mux.HandleFunc("GET /{file}", func(w http.ResponseWriter, r *http.Request) {
		if !sioclient.Serve(w, r) {
			http.NotFound(w, r)
		}
	})
	a.mux.HandleFunc("GET /api/config", a.getConfig)
	a.mux.Handle("POST /api/messages", a.csrf.Handler(http.HandlerFunc(a.postMessage)))
	a.mux.HandleFunc("GET /api/messages", a.getMessages)
	a.mux.HandleFunc("GET /api/status", a.getStatus)
	httpserve.HealthHandlers(a.mux, a.Ready, a.cfg.Timeouts.Ready, a.cfg.Logger)
	if a.cfg.MetricsHandler != nil {
		a.mux.Handle("GET /metrics", a.cfg.MetricsHandler)
	}
}
