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
	"github.com/sioredis/sioredis/internal/sioclient"
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
	// MaxNamespaces bounds the namespaces one connection may join (connected or connecting); a CONNECT past it
	// gets a CONNECT_ERROR ("Too many namespaces"), the connection stays. Each namespace costs the server a
	// socket, and a dynamic namespace (OfFunc, OfRegexp) its cluster subscriptions too. Default
	// DefaultMaxNamespaces; the reference server has no limit (negative: none).
	MaxNamespaces int
	// Logger receives debug and warning records; default slog.Default().
	Logger *slog.Logger
	// Metrics, if not nil, receives the server's observations (namespaces, sockets, rooms, packets, acks: see
	// Metrics). Default nil: nothing is observed. Engine.Metrics observes the connections.
	Metrics Metrics
	// MaxAttachments bounds the binary attachments one incoming packet may announce; a packet announcing more
	// closes the connection (parse error). Default DefaultMaxAttachments (10, socket.io-parser's).
	MaxAttachments int
	// MaxAttachmentBytes bounds, per connection, the bytes of the attachments received for a packet still
	// waiting for the rest; more closes the connection. Default DefaultMaxAttachmentBytes.
	MaxAttachmentBytes int
	// AttachmentTimeout bounds the wait for the remaining attachments of a packet, from its header; past it the
	// connection is closed. Default DefaultAttachmentTimeout.
	AttachmentTimeout time.Duration
	// ServeClient serves the browser client, socket.io-client 4.8.4 (the release this server is tested with),
	// as the reference server's serveClient does: GET <mount>/socket.io.js, socket.io.min.js, the esm and
	// msgpack builds and their source maps, with the client version as ETag (304 for a matching If-None-Match)
	// and gzip encoding when accepted. Default false, where the reference server's is true: the zero Config
	// serves Engine.IO only, and an application's own copy of the client, built with its pages, is the usual
	// choice in Go, where nothing else installs one (the files are in the binary either way, 320 KB
	// compressed). The msgpack build speaks socket.io-msgpack-parser, which this server does not: it is served
	// as the reference server serves it, for pages connecting to servers that do.
	ServeClient bool
	// Parser encodes and decodes the packets, as the Node server's parser option: nil is JSONParser
	// (socket.io-parser, the default of socket.io-client), msgpackparser.Parser is socket.io-msgpack-parser's.
	// Clients must use the same parser; a client speaking another is disconnected (parse error) at its first
	// packet, as the Node server does.
	Parser Parser
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
	parser Parser        // cfg.Parser, never nil
	decCfg DecoderConfig // the limits of every connection's Decoder
	engine *engineio.Server
	log    *slog.Logger
	ctx    context.Context // ends when Close starts: the answers to other servers stop
	cancel context.CancelFunc

	mu          sync.RWMutex
	nsps        map[string]*Namespace
	parents     []*Namespace
	middlewares []Middleware
	onNamespace []func(*Namespace)
	closed      bool

	wg sync.WaitGroup // handler goroutines
}

// DefaultMaxNamespaces is the default of Config.MaxNamespaces: far more than a page uses, few enough that one
// client cannot make a server create and subscribe dynamic namespaces by the thousand.
const DefaultMaxNamespaces = 100

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
	if cfg.MaxNamespaces == 0 {
		cfg.MaxNamespaces = DefaultMaxNamespaces
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
	if cfg.Parser == nil {
		cfg.Parser = JSONParser{}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, nsps: make(map[string]*Namespace), parser: cfg.Parser,
		decCfg: DecoderConfig{MaxAttachments: cfg.MaxAttachments, MaxAttachmentBytes: cfg.MaxAttachmentBytes}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	eng, err := engineio.NewServer(cfg.Engine, (*engineHandler)(s))
	if err != nil {
		return nil, err
	}
	s.engine = eng
	s.Of("/")
	return s, nil
}

// ServeHTTP serves the Engine.IO transports, and the client's files with Config.ServeClient.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ServeClient && sioclient.ServeBundle(w, r) {
		return
	}
	s.engine.ServeHTTP(w, r)
}

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
	created := false
	if ns = s.nsps[name]; ns == nil {
		ns = newNamespace(s, name, nil)
		s.nsps[name] = ns
		created = true
	}
	hs := s.onNamespace
	s.mu.Unlock()
	if created {
		for _, h := range hs {
			h(ns)
		}
	}
	return ns
}

// Namespaces returns the namespaces of the server ("/" and those created by Of, and the dynamic namespaces that
// exist now), not the parents of OfFunc and OfRegexp, in no particular order.
func (s *Server) Namespaces() []*Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Namespace, 0, len(s.nsps))
	for _, ns := range s.nsps {
		out = append(out, ns)
	}
	return out
}

// Namespace returns the namespace with the given name if it exists (see Namespaces), without creating it, or nil.
func (s *Server) Namespace(name string) *Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nsps[name]
}

// OnNamespace adds a handler run for each namespace created from now on, by Of or as a dynamic namespace (the
// reference server's "new_namespace" event). It runs on the goroutine that created the namespace, after the
// server's lock is released: before the client whose request created a dynamic namespace joins it, but another
// client joining the namespace at that very moment may be connected first. Namespaces lists those that exist
// already.
func (s *Server) OnNamespace(h func(*Namespace)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onNamespace = append(s.onNamespace, h)
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

// Shutdown stops the server gracefully: it disconnects every client (reason ReasonServerShuttingDown), waits,
// until ctx is done, for the goroutines of the server and its handlers to return (it then returns ctx's error
// and leaves the cluster links open), then closes the cluster links of the namespaces and the Cluster. The
// http.Server serving it should be shut down too.
func (s *Server) Shutdown(ctx context.Context) error { return s.shutdown(ctx, true) }

// Close stops the server at once: what Shutdown does, without waiting for the handlers still running, whose
// emits then fail or go nowhere.
func (s *Server) Close() error { return s.shutdown(context.Background(), false) }

func (s *Server) shutdown(ctx context.Context, wait bool) error {
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
	var err error
	if wait {
		err = s.engine.Shutdown(ctx)
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
	} else {
		err = s.engine.Close()
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

// goTracked runs fn on a goroutine that Shutdown waits for.
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
			created := false
			if ns = s.nsps[name]; ns == nil {
				ns = newNamespace(s, name, nil)
				ns.parent = p
				ns.roomEvents.parent = p.roomEvents
				s.nsps[name] = ns
				p.addChild(ns)
				created = true
			}
			hs := s.onNamespace
			s.mu.Unlock()
			if created {
				for _, h := range hs {
					h(ns)
				}
			}
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
	if cl.eio3() {
		// socket.io-client 2 sends no CONNECT for "/": it is connected to it at once, as by the reference server.
		cl.handle(ReceivedPacket{Type: PacketConnect, Nsp: "/", ID: NoAckID})
	}
}

func (h *engineHandler) OnMessage(c *engineio.Conn, msg engineio.Message) {
	if cl, ok := c.Value().(*client); ok {
		cl.onMessage(msg)
	}
}

// OnBurstEnd runs the client's packets of the burst on the engine's reader goroutine.
func (h *engineHandler) OnBurstEnd(c *engineio.Conn) {
	if cl, ok := c.Value().(*client); ok {
		cl.run.burstEnd((*Server)(h))
	}
}

func (h *engineHandler) OnClose(c *engineio.Conn, reason engineio.CloseReason) {
	if cl, ok := c.Value().(*client); ok {
		cl.onClose(DisconnectReason(reason))
	}
}
