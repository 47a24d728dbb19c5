package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/sioredis/sioredis/engineio"
)

// Config configures a Server. The zero value is valid.
type Config struct {
	// Engine configures the Engine.IO layer (heartbeat, sizes, transports, CORS).
	Engine engineio.Config
	// ConnectTimeout closes a connection that has joined no namespace this long after its handshake.
	// Default 45 s.
	ConnectTimeout time.Duration
	// Cluster carries this server's broadcasts, commands and requests to the other servers of its cluster, and
	// theirs to it (redisadapter.New makes one over Redis). Default nil: the server is alone. The Server closes it
	// when it closes.
	Cluster Cluster
	// RequestTimeout bounds the wait for the other servers' answers to a request (FetchSockets,
	// ServerSideEmitWithAck) whose context has no deadline: the reference adapters' requestsTimeout. Default 5 s.
	RequestTimeout time.Duration
	// ChildNamespaceCleanupDelay is how long a dynamic namespace (OfFunc, OfRegexp) stays once its last socket
	// has left: then it is removed and releases what it holds (its rooms, its cluster subscriptions), and the
	// next client asking for it gets a new one, without the handlers that were added to the removed one alone
	// (those of the parent apply to every child). Default 10 s; negative keeps empty dynamic namespaces for as
	// long as the server runs, as the reference server does without cleanupEmptyChildNamespaces.
	ChildNamespaceCleanupDelay time.Duration
	// ConnectionStateRecovery, when not nil, turns on connection state recovery (see RecoveryConfig). Default nil:
	// off, as in the reference server.
	ConnectionStateRecovery *RecoveryConfig
	// MaxPendingEvents bounds, per connection, the received packets waiting for their handlers; a client that
	// sends more while its handlers are busy is disconnected. Default 1024.
	MaxPendingEvents int
	// Logger receives debug and warning records; default slog.Default().
	Logger *slog.Logger
	// MaxAttachments bounds the binary attachments one incoming packet may announce; a packet announcing more
	// closes the connection (parse error). Default DefaultMaxAttachments (10, socket.io-parser's).
	MaxAttachments int
	// MaxAttachmentBytes bounds, per connection, the bytes of the attachments received for a packet still
	// waiting for the rest; more closes the connection. Default DefaultMaxAttachmentBytes.
	MaxAttachmentBytes int
	// AttachmentTimeout bounds the wait for the remaining attachments of a packet, from its header; past it the
	// connection is closed. Default DefaultAttachmentTimeout.
	AttachmentTimeout time.Duration
}

// Middleware runs when a client asks to join a namespace, before the socket is connected; a non-nil error
// refuses the connection (see ConnectError). ctx ends when the client goes away.
type Middleware func(ctx context.Context, s *Socket) error

// ConnectionHandler runs when a socket has joined a namespace. Event handlers set with Socket.On inside it see
// every event the client sends after connecting.
type ConnectionHandler func(ctx context.Context, s *Socket)

// NamespaceMatcher decides whether a dynamic namespace name may be created, given the auth payload of the
// client asking for it.
type NamespaceMatcher func(ctx context.Context, name string, auth json.RawMessage) bool

// Server is a Socket.IO v5 server over Engine.IO v4, and an http.Handler: mount it at "/socket.io/". Safe for
// concurrent use.
type Server struct {
	cfg    Config
	engine *engineio.Server
	log    *slog.Logger
	ctx    context.Context // ends when Close starts: the answers to other servers stop
	cancel context.CancelFunc

	mu          sync.RWMutex
	nsps        map[string]*Namespace
	parents     []*Namespace
	middlewares []Middleware
	closed      bool

	wg sync.WaitGroup // handler goroutines
}

// NewServer returns a server whose main namespace "/" exists already.
func NewServer(cfg Config) (*Server, error) {
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 45 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if rc := cfg.ConnectionStateRecovery; rc != nil {
		c := *rc // the caller's value is not modified
		if c.MaxDisconnectionDuration == 0 {
			c.MaxDisconnectionDuration = 2 * time.Minute
		}
		if c.MaxPackets == 0 {
			c.MaxPackets = 10000
		}
		if c.MaxDisconnectionDuration < 0 || c.MaxPackets < 0 {
			return nil, fmt.Errorf("%w: negative ConnectionStateRecovery field", engineio.ErrConfig)
		}
		cfg.ConnectionStateRecovery = &c
	}
	if cfg.ChildNamespaceCleanupDelay == 0 {
		cfg.ChildNamespaceCleanupDelay = 10 * time.Second
	}
	if cfg.MaxPendingEvents == 0 {
		cfg.MaxPendingEvents = 1024
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAttachments <= 0 {
		cfg.MaxAttachments = DefaultMaxAttachments
	}
	if cfg.MaxAttachmentBytes <= 0 {
		cfg.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if cfg.AttachmentTimeout <= 0 {
		cfg.AttachmentTimeout = DefaultAttachmentTimeout
	}
	if cfg.Engine.Logger == nil {
		cfg.Engine.Logger = cfg.Logger
	}
	if cfg.ConnectTimeout < 0 || cfg.MaxPendingEvents < 0 || cfg.RequestTimeout < 0 {
		return nil, fmt.Errorf("%w: negative ConnectTimeout, MaxPendingEvents or RequestTimeout", engineio.ErrConfig)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, nsps: make(map[string]*Namespace)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	eng, err := engineio.NewServer(cfg.Engine, (*engineHandler)(s))
	if err != nil {
		return nil, err
	}
	s.engine = eng
	s.Of("/")
	return s, nil
}

// ServeHTTP serves the Engine.IO transports.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *engineio.Server { return s.engine }

// Of returns the namespace with the given name ("/" is added in front if missing), creating it if needed.
func (s *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	s.mu.RLock()
	ns := s.nsps[name]
	s.mu.RUnlock()
	if ns != nil {
		return ns
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns = s.nsps[name]; ns == nil {
		ns = newNamespace(s, name, nil)
		s.nsps[name] = ns
	}
	return ns
}

// OfFunc declares dynamic namespaces: a client asking for a namespace that does not exist gets it created if
// match returns true. The returned parent namespace is not joined by clients: its middlewares and connection
// handlers apply to every namespace it creates, and its broadcasts reach all of them. As in the reference server,
// match decides creations only: a client asking for a dynamic namespace that exists already joins it through its
// middlewares, without match being called (check per-client authorisation in a middleware).
func (s *Server) OfFunc(match NamespaceMatcher) *Namespace {
	p := newNamespace(s, "", match)
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p
}

// OfRegexp declares the dynamic namespaces whose names match re, as OfFunc does.
func (s *Server) OfRegexp(re *regexp.Regexp) *Namespace {
	return s.OfFunc(func(_ context.Context, name string, _ json.RawMessage) bool { return re.MatchString(name) })
}

// Use adds a middleware run for every namespace, before the namespace's own.
func (s *Server) Use(mw Middleware) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.middlewares = append(s.middlewares, mw)
}

// To returns a broadcast to the rooms of the main namespace.
func (s *Server) To(rooms ...string) *BroadcastOperator { return s.Of("/").To(rooms...) }

// Emit sends an event to every socket of the main namespace.
func (s *Server) Emit(ctx context.Context, event string, args ...any) error {
	return s.Of("/").Emit(ctx, event, args...)
}

// ServerSideEmit sends an event to the other servers of the cluster, in the main namespace.
func (s *Server) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	return s.Of("/").ServerSideEmit(ctx, event, args...)
}

// ServerSideEmitWithAck sends an event to the other servers of the cluster, in the main namespace, and collects
// their acknowledgements; see Namespace.ServerSideEmitWithAck.
func (s *Server) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.Of("/").ServerSideEmitWithAck(ctx, event, args...)
}

// Close disconnects every client (reason ReasonServerShuttingDown), waits, until ctx is done, for the goroutines
// of the server and its handlers to return, then closes the cluster links of the namespaces and the Cluster. The
// http.Server serving it should be shut down too.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for _, ns := range s.nsps {
		ns.mu.Lock()
		if ns.cleanup != nil {
			ns.cleanup.Stop()
			ns.cleanup = nil
		}
		ns.mu.Unlock()
	}
	s.mu.Unlock()
	s.cancel()
	err := s.engine.Close(ctx)
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, ns := range s.nsps {
		if ns.link != nil {
			err = errors.Join(err, ns.link.Close())
		}
	}
	if s.cfg.Cluster != nil {
		err = errors.Join(err, s.cfg.Cluster.Close())
	}
	return err
}

// goTracked runs fn on a goroutine that Close waits for.
func (s *Server) goTracked(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// namespace finds or, for a dynamic name, creates the namespace a client asks for, reserved until the caller
// calls its joined method; nil if none.
func (s *Server) namespace(ctx context.Context, name string, auth json.RawMessage) *Namespace {
	for {
		ns := s.lookup(ctx, name, auth)
		if ns == nil || ns.reserve() {
			return ns
		}
		// Removed as empty between the lookup and the reservation: ask again.
	}
}

func (s *Server) lookup(ctx context.Context, name string, auth json.RawMessage) *Namespace {
	s.mu.RLock()
	ns := s.nsps[name]
	parents := s.parents
	s.mu.RUnlock()
	if ns != nil {
		return ns
	}
	for _, p := range parents {
		if p.match(ctx, name, auth) {
			s.mu.Lock()
			if ns = s.nsps[name]; ns == nil {
				ns = newNamespace(s, name, nil)
				ns.parent = p
				s.nsps[name] = ns
				p.addChild(ns)
			}
			s.mu.Unlock()
			return ns
		}
	}
	return nil
}

func (s *Server) serverMiddlewares() []Middleware {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.middlewares
}

// engineHandler receives the Engine.IO connections.
type engineHandler Server

func (h *engineHandler) OnOpen(c *engineio.Conn) {
	s := (*Server)(h)
	cl := newClient(s, c)
	c.SetValue(cl)
}

func (h *engineHandler) OnMessage(c *engineio.Conn, msg engineio.Message) {
	if cl, ok := c.Value().(*client); ok {
		cl.onMessage(msg)
	}
}

func (h *engineHandler) OnClose(c *engineio.Conn, reason engineio.CloseReason) {
	if cl, ok := c.Value().(*client); ok {
		cl.onClose(DisconnectReason(reason))
	}
}
