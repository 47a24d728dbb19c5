// Package demo is the live page of "sioredis serve": a Socket.IO server with an embedded web page (and the
// socket.io client script from internal/sioclient) where a person joins a room, sends messages to it and sees
// events arrive live, with the namespace's sockets and rooms. With Config.Redis the server joins the Socket.IO
// cluster on that Redis, so what "sioredis emit" publishes there shows up on the page.
package demo

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sioredis/sioredis/admin"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/sioclient"
	"github.com/sioredis/sioredis/metrics"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

//go:embed static
var static embed.FS

// Config configures a Demo.
type Config struct {
	// TickInterval, if positive, is the period of a volatile "tick" event sent to every client. Default 0: none.
	TickInterval time.Duration
	// Redis, if not nil, makes the server one of the Socket.IO cluster on that Redis, in the format Mode names.
	// Default nil: alone, in memory.
	Redis redis.UniversalClient
	// Mode is the cluster's format with Redis: ModeClassic (default), ModeSharded or ModeStreams.
	Mode Mode
	// Prefix is the Redis adapter's key prefix (the stream name in streams mode); default "socket.io".
	Prefix string
	// Metrics, if not nil, receives the observations of the server and of its cluster transport.
	Metrics *metrics.Metrics
	// MetricsHandler, if not nil, answers GET /metrics.
	MetricsHandler http.Handler
	// Timeouts are the HTTP server's time limits; zero fields take Node's defaults (see httpserve).
	Timeouts httpserve.Timeouts
	// HTTP are the HTTP server's header bound and allowed host names (see httpserve.Options).
	HTTP httpserve.Options
	// TrustedProxies are the reverse proxies whose X-Forwarded-* headers are believed (see
	// engineio.Config.TrustedProxies).
	TrustedProxies []netip.Prefix
	// AllowEIO3 also accepts socket.io-client 2.x (see engineio.Config.AllowEIO3).
	AllowEIO3 bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Admin, when not nil, turns on the admin UI (see AdminConfig).
	Admin *AdminConfig
}

// Mode is the format of a Socket.IO cluster over Redis.
type Mode string

// The cluster formats, as "sioredis emit --mode" names them.
const (
	ModeClassic Mode = "classic" // @socket.io/redis-adapter createAdapter
	ModeSharded Mode = "sharded" // @socket.io/redis-adapter createShardedAdapter (Redis >= 7)
	ModeStreams Mode = "streams" // @socket.io/redis-streams-adapter
)

// ErrConfig reports a Config that New refuses.
var ErrConfig = errors.New("demo: invalid configuration")

// clusterMember is what the Demo needs of its cluster transport.
type clusterMember interface {
	socketio.Cluster
	WaitReady(ctx context.Context) error
}

// Demo is the server behind the page. Safe for concurrent use.
type Demo struct {
	cfg     Config
	io      *socketio.Server
	cluster clusterMember // nil alone

	announcing atomic.Bool    // an announcement is on its way
	wg         sync.WaitGroup // announcements
	closing    chan struct{}  // closed when Run shuts down
	mux        *http.ServeMux
	page       []byte
	headers    http.Header
	admin      *admin.Admin // nil without Config.Admin
}

// Message is what the page sends with "say" and receives as "message".
type Message struct {
	Room string    `json:"room"`
	Text string    `json:"text"`
	From string    `json:"from,omitempty"`
	At   time.Time `json:"at,omitzero"`
}

// New returns a demo server.
func New(cfg Config) (*Demo, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "socket.io"
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeClassic
	}
	ioCfg := socketio.Config{Logger: cfg.Logger, Engine: engineio.Config{TrustedProxies: cfg.TrustedProxies, AllowEIO3: cfg.AllowEIO3,
		MaxHeaderBytes: cfg.HTTP.EngineMaxHeaderBytes()}}
	var am redisadapter.Metrics
	if cfg.Metrics != nil {
		cfg.Metrics.Instrument(&ioCfg)
		am = cfg.Metrics.Adapter()
	}
	var cluster clusterMember
	if cfg.Redis != nil {
		switch cfg.Mode {
		case ModeClassic:
			cluster = redisadapter.New(cfg.Redis, redisadapter.Config{Prefix: cfg.Prefix, Logger: cfg.Logger, Metrics: am})
		case ModeSharded:
			cluster = redisadapter.NewSharded(cfg.Redis, redisadapter.ShardedConfig{Prefix: cfg.Prefix, Logger: cfg.Logger, Metrics: am})
		case ModeStreams:
			cluster = redisadapter.NewStreams(cfg.Redis, redisadapter.StreamsConfig{StreamName: cfg.Prefix, ChannelPrefix: cfg.Prefix, Logger: cfg.Logger, Metrics: am})
		default:
			return nil, fmt.Errorf("%w: mode %q (classic, sharded or streams)", ErrConfig, cfg.Mode)
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
	page, err := static.ReadFile("static/index.html")
	if err != nil {
		return nil, err
	}
	d := &Demo{cfg: cfg, io: srv, cluster: cluster, closing: make(chan struct{}), mux: http.NewServeMux(), page: page, headers: httpserve.PageHeaders(page)}
	srv.Of("/").OnConnection(d.onConnection)
	d.mux.Handle("/socket.io/", srv)
	var ready func(context.Context) error // alone: ready as soon as it serves
	if cluster != nil {
		ready = d.Ready
	}
	httpserve.HealthHandlers(d.mux, ready, cfg.Timeouts.Ready, cfg.Logger)
	if cfg.MetricsHandler != nil {
		d.mux.Handle("GET /metrics", cfg.MetricsHandler)
	}
	d.mux.HandleFunc("/", d.serveStatic)
	if cfg.Admin != nil {
		if err := d.instrumentAdmin(cfg.Admin); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// IO returns the Socket.IO server, to emit from Go.
func (d *Demo) IO() *socketio.Server { return d.io }

// Ready reports whether the server has subscribed to its cluster's channels and Redis answers PING before ctx
// ends; nil at once when it runs alone. GET /readyz answers 503 while it is not.
func (d *Demo) Ready(ctx context.Context) error {
	if d.cluster == nil {
		return nil
	}
	if err := d.cluster.WaitReady(ctx); err != nil {
		return &httpserve.Unready{Reason: "cluster subscription", Err: err}
	}
	if err := d.cfg.Redis.Ping(ctx).Err(); err != nil {
		return &httpserve.Unready{Reason: "redis unreachable", Err: err}
	}
	return nil
}

// ServeHTTP serves the page, the client script and Socket.IO.
func (d *Demo) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

func (d *Demo) serveStatic(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		if !sioclient.Serve(w, r) {
			http.NotFound(w, r)
		}
		return
	}
	httpserve.ServePage(w, r, d.page, d.headers)
}

// Presence is the answer to "presence" and the argument of the event of that name: the namespace's sockets,
// over the whole cluster with Redis, and its rooms with their members (the sockets' own rooms excepted), at most
// MaxPresence sockets.
type Presence struct {
	Sockets   []string       `json:"sockets"`
	Rooms     map[string]int `json:"rooms"`
	Truncated bool           `json:"truncated,omitempty"`
}

// MaxPresence bounds the sockets a Presence lists.
const MaxPresence = 200

func (d *Demo) presence(ctx context.Context) Presence {
	p := Presence{Sockets: []string{}, Rooms: map[string]int{}}
	socks, err := d.io.Of("/").FetchSockets(ctx)
	if err != nil {
		d.cfg.Logger.Debug("presence", "err", err)
	}
	for _, s := range socks {
		if len(p.Sockets) == MaxPresence {
			p.Truncated = true
			break
		}
		p.Sockets = append(p.Sockets, s.ID)
		for _, r := range s.Rooms {
			if r != s.ID {
				p.Rooms[r]++
			}
		}
	}
	return p
}

// announceSoon sends every local socket the namespace's presence shortly (volatile: a busy client gets the next
// one). Changes that come together share one announcement; Run waits for the last.
func (d *Demo) announceSoon() {
	if !d.announcing.CompareAndSwap(false, true) {
		return
	}
	d.wg.Go(func() {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-d.closing:
		}
		d.announcing.Store(false) // a change from now on gets an announcement of its own
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = d.io.Of("/").Local().Volatile().Emit(ctx, "presence", d.presence(ctx))
	})
}

func (d *Demo) onConnection(ctx context.Context, s *socketio.Socket) {
	d.cfg.Logger.Info("connected", "sid", s.ID(), "transport", s.Conn().Transport())
	_ = s.Emit("welcome", map[string]any{"id": s.ID(), "text": "Join a room to get its messages."})
	socketio.HandleAck(s, "presence", func(ctx context.Context, s *socketio.Socket, _ any) Presence {
		return d.presence(ctx)
	})
	socketio.HandleAck(s, "join", func(ctx context.Context, s *socketio.Socket, room string) map[string]any {
		for _, r := range s.Rooms() {
			if r != s.ID() {
				s.Leave(r)
			}
		}
		if room == "" {
			room = "lobby"
		}
		s.Join(room)
		n := 0
		if socks, err := s.Namespace().In(room).FetchSockets(ctx); err == nil {
			n = len(socks)
		}
		_ = s.To(room).Emit(ctx, "joined-room", map[string]any{"id": s.ID(), "room": room})
		d.announceSoon()
		return map[string]any{"room": room, "members": n}
	})
	// The acknowledgement tells the page what became of its message.
	socketio.HandleAck(s, "say", func(ctx context.Context, s *socketio.Socket, m Message) map[string]any {
		switch {
		case m.Room == "":
			return map[string]any{"ok": false, "error": "join a room first: a message goes to a room"}
		case m.Text == "":
			return map[string]any{"ok": false, "error": "empty message"}
		}
		m.From, m.At = s.ID(), time.Now()
		if err := s.Namespace().To(m.Room).Emit(ctx, "message", m); err != nil {
			// The error may name the cluster's internal addresses: for the log only.
			d.cfg.Logger.Warn("say: emit failed", "sid", s.ID(), "err", err)
			return map[string]any{"ok": false, "error": "not sent: the server could not publish it (see its log)"}
		}
		return map[string]any{"ok": true, "room": m.Room}
	})
	d.announceSoon()
	s.OnDisconnect(func(reason socketio.DisconnectReason) {
		d.cfg.Logger.Info("disconnected", "sid", s.ID(), "reason", string(reason))
		d.announceSoon()
	})
}

// Run serves on ln until ctx ends, then shuts down.
func (d *Demo) Run(ctx context.Context, ln net.Listener) error {
	hs := httpserve.NewServer(d, d.cfg.Timeouts, d.cfg.HTTP, "/socket.io/", httpserve.SessionOf(engineio.Config{}), d.cfg.Logger)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var tick <-chan time.Time
	if d.cfg.TickInterval > 0 {
		t := time.NewTicker(d.cfg.TickInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case now := <-tick:
			_ = d.io.Of("/").Volatile().Emit(ctx, "tick", map[string]any{"time": now.UTC().Format(time.RFC3339), "clients": d.io.Engine().Len()})
		case err := <-errc:
			return err
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			close(d.closing)
			if d.admin != nil {
				d.admin.Close()
			}
			err := errors.Join(d.io.Shutdown(sctx), hs.Shutdown(sctx))
			d.wg.Wait()
			if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
				err = errors.Join(err, serr)
			}
			return err
		}
	}
}
