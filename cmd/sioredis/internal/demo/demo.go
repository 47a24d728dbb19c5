// Package demo is the live page of "sioredis serve": a Socket.IO server with an embedded web page (and the
// socket.io client script from internal/sioclient) where a person joins a room, sends
// messages to it and sees events arrive live.
package demo

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/sioredis/sioredis/admin"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/sioclient"
	"github.com/sioredis/sioredis/socketio"
)

//go:embed static
var static embed.FS

// Config configures a Demo.
type Config struct {
	// TickInterval is the period of the "tick" event sent to every client; default 5 s, negative disables it.
	TickInterval time.Duration
	// Timeouts are the HTTP server's time limits; zero fields take Node's defaults (see httpserve).
	Timeouts httpserve.Timeouts
	// TrustedProxies are the reverse proxies whose X-Forwarded-* and Forwarded headers are believed (see
	// engineio.Config.TrustedProxies).
	TrustedProxies []netip.Prefix
	// AllowEIO3 also accepts socket.io-client 2.x (see engineio.Config.AllowEIO3).
	AllowEIO3 bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Admin, when not nil, turns on the admin UI (see AdminConfig).
	Admin *AdminConfig
}

// Demo is the server behind the page. Safe for concurrent use.
type Demo struct {
	cfg     Config
	io      *socketio.Server
	mux     *http.ServeMux
	page    []byte
	headers http.Header
	admin   *admin.Admin // nil without Config.Admin
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
	if cfg.TickInterval == 0 {
		cfg.TickInterval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	srv, err := socketio.NewServer(socketio.Config{Logger: cfg.Logger, Engine: engineio.Config{TrustedProxies: cfg.TrustedProxies, AllowEIO3: cfg.AllowEIO3}})
	if err != nil {
		return nil, err
	}
	page, err := static.ReadFile("static/index.html")
	if err != nil {
		return nil, err
	}
	d := &Demo{cfg: cfg, io: srv, mux: http.NewServeMux(), page: page, headers: httpserve.PageHeaders(page)}
	srv.Of("/").OnConnection(d.onConnection)
	d.mux.Handle("/socket.io/", srv)
	// No Redis and no cluster: ready as soon as it serves.
	httpserve.HealthHandlers(d.mux, nil, cfg.Timeouts.Ready)
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

func (d *Demo) onConnection(ctx context.Context, s *socketio.Socket) {
	d.cfg.Logger.Info("connected", "sid", s.ID(), "transport", s.Conn().Transport())
	_ = s.Emit("welcome", map[string]any{"id": s.ID(), "text": "Join a room to get its messages."})
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
		return map[string]any{"room": room, "members": n}
	})
	socketio.Handle(s, "say", func(ctx context.Context, s *socketio.Socket, m Message) {
		if m.Room == "" || m.Text == "" {
			return
		}
		m.From, m.At = s.ID(), time.Now()
		_ = s.Namespace().To(m.Room).Emit(ctx, "message", m)
	})
	s.OnDisconnect(func(reason socketio.DisconnectReason) {
		d.cfg.Logger.Info("disconnected", "sid", s.ID(), "reason", string(reason))
	})
}

// Run serves on ln until ctx ends, then shuts down.
func (d *Demo) Run(ctx context.Context, ln net.Listener) error {
	hs := httpserve.NewServer(d, d.cfg.Timeouts, "/socket.io/", httpserve.SessionOf(engineio.Config{}), d.cfg.Logger)
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
			if d.admin != nil {
				d.admin.Close()
			}
			err := errors.Join(d.io.Shutdown(sctx), hs.Shutdown(sctx))
			if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
				err = errors.Join(err, serr)
			}
			return err
		}
	}
}
