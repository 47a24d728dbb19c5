// Package admin is the server side of the official Socket.IO admin UI (@socket.io/admin-ui 0.5.1) for a
// socketio.Server: Instrument adds the "/admin" namespace that the UI connects to, and speaks there the protocol of
// Node's instrument(io), so that the UI shows the Go server's sockets, rooms, namespaces and events, and acts on
// them, alone or in a cluster with Node servers that call instrument.
//
// # What the UI gets
//
// On connection, after authentication: "session" (with basic authentication, the session id that lets the UI
// reconnect without the password), "config" (the features the UI may use), then, in development mode,
// "all_sockets" (every socket of every namespace of the cluster, through FetchSockets). Every StatsInterval (2 s),
// "server_stats" (server id, hostname, pid, uptime, Engine.IO and long-polling client counts, the sockets of each
// namespace, and the connections and disconnections of the last interval, per second). In development mode, as
// they happen: "socket_connected", "socket_updated" (a transport upgrade), "socket_disconnected", "room_joined",
// "room_left" and "event_received" (an event a client sent; not in the admin namespace). The UI's operations, unless
// ReadOnly: "emit", "join", "leave" and "_disconnect" on the sockets of a namespace, of a room, or one socket,
// applied across the cluster (BroadcastOperator.Emit, SocketsJoin, SocketsLeave, DisconnectSockets).
//
// # Across a cluster
//
// As in Node, everything goes through the server's Cluster: the events are emitted to the admin namespace, so a UI
// connected to any server of the cluster hears every server that is instrumented (Go or Node), "all_sockets" and
// the operations cover the sockets of every server, and each server sends its own "server_stats".
//
// # Not sent
//
// "event_sent" (the server has no hook on outgoing events), the packets and bytes of "aggregatedEvents" (Engine.IO
// reports no per-packet counts), and "socket_updated" for a change of Socket.SetData. A socket of another Go server
// has no clientId nor transport in "all_sockets" (a Node server's sockets have them): the UI groups it as a client
// of its own.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sioredis/sioredis/socketio"
)

// ErrConfig is wrapped by the errors of Instrument for bad Options.
var ErrConfig = errors.New("admin: invalid options")

// Mode says how much the UI is sent; see Options.Mode.
type Mode string

// The modes of Node's instrument.
const (
	// Development sends every socket and every event as they happen (Node's default, NODE_ENV unset).
	Development Mode = "development"
	// Production sends the server stats only: no socket list, no socket or room event, for the cost of
	// busy servers.
	Production Mode = "production"
)

// BasicAuth is the UI's login: a username and the bcrypt hash of the password (as Node's auth option takes it,
// e.g. from `htpasswd -nbBC 10 "" secret | tr -d ':\n'` or bcrypt.GenerateFromPassword).
type BasicAuth struct {
	Username     string
	PasswordHash string
}

// Feature names what the UI may do, as sent in the "config" event.
type Feature string

// The features of @socket.io/admin-ui 0.5.1.
const (
	FeatureEmit             Feature = "EMIT"
	FeatureJoin             Feature = "JOIN"
	FeatureLeave            Feature = "LEAVE"
	FeatureDisconnect       Feature = "DISCONNECT"
	FeatureMJoin            Feature = "MJOIN"
	FeatureMLeave           Feature = "MLEAVE"
	FeatureMDisconnect      Feature = "MDISCONNECT"
	FeatureAggregatedEvents Feature = "AGGREGATED_EVENTS"
	FeatureAllEvents        Feature = "ALL_EVENTS"
)

// Options configures Instrument, as Node's instrument options do.
type Options struct {
	// Auth is the login the UI must give. Either Auth or NoAuth must be set, as Node requires auth to be given
	// or explicitly false.
	Auth *BasicAuth
	// NoAuth lets anyone who reaches the server use the UI (Node's auth: false). Use with care.
	NoAuth bool
	// ReadOnly refuses every operation (emit, join, leave, disconnect): the UI only looks.
	ReadOnly bool
	// NamespaceName is the namespace of the UI. Default "/admin".
	NamespaceName string
	// ServerID names this server in the UI, unique in the cluster. Default the hostname, as in Node (which
	// appends "#pid" in a cluster worker).
	ServerID string
	// Mode is Development (the default, as Node's without NODE_ENV) or Production.
	Mode Mode
	// LoginLimit bounds the password checks of Auth's login: bcrypt checks at once, and a back-off after
	// failures per client address and per username. The zero value takes its defaults.
	LoginLimit LoginLimit
	// Sessions keeps the session ids given to the UI after a login. Default an in-memory store of this server
	// (MemorySessions with Node's RedisStore defaults: 24 h, and at most 10 000 sessions).
	Sessions SessionStore
	// StatsInterval is the period of "server_stats". Default 2 s (fixed in Node).
	StatsInterval time.Duration
	// MaxQueuedEvents bounds the events waiting to be emitted to the UI; past it, events are dropped and counted
	// in a warning. Default 10 000.
	MaxQueuedEvents int
	// Logger receives warnings; default slog.Default().
	Logger *slog.Logger
}

// SessionStore keeps the UI's session ids. Implementations must be safe for concurrent use.
type SessionStore interface {
	// SaveSession keeps id.
	SaveSession(ctx context.Context, id string) error
	// SessionExists reports whether id is kept.
	SessionExists(ctx context.Context, id string) (bool, error)
}

// Admin is the instrumentation of one server; Close stops it. Safe for concurrent use.
type Admin struct {
	srv      *socketio.Server
	nsp      *socketio.Namespace
	opts     Options
	features []Feature
	dev      bool
	base     serverBase
	log      *slog.Logger

	logins  *logins // nil with NoAuth
	queue   chan outEvent
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once

	mu         sync.Mutex
	pending    map[*socketio.Socket]string // sessions given at login, emitted once connected
	transports map[*socketio.Socket]string // development: the last transport reported of each local socket
	conns      map[string]int              // Engine.IO connection id -> its local sockets
	buckets    []eventBucket               // aggregated events since the last stats
	dropped    int                         // events dropped since the last warning
}

type serverBase struct {
	serverID, hostname string
	pid                int
}

type outEvent struct {
	event string
	args  []any
}

// eventBucket is one aggregated event count: a second, a type, a subtype.
type eventBucket struct {
	Timestamp int64  `json:"timestamp"`
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int    `json:"count"`
}

var processStart = time.Now()

// Instrument adds the admin namespace to srv and starts sending the UI what happens on it; call it before the
// server serves, so that every namespace and socket is seen. It returns an error wrapping ErrConfig for bad
// Options (neither Auth nor NoAuth, a password hash that is not bcrypt, an unknown Mode). The returned Admin runs
// one goroutine until Close: close it before closing the server.
func Instrument(srv *socketio.Server, opts Options) (*Admin, error) {
	switch {
	case opts.Auth == nil && !opts.NoAuth:
		return nil, fmt.Errorf("%w: Auth must be set, or NoAuth true", ErrConfig)
	case opts.Auth != nil && opts.NoAuth:
		return nil, fmt.Errorf("%w: both Auth and NoAuth set", ErrConfig)
	}
	limit, err := opts.LoginLimit.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.Auth != nil {
		if _, err := bcrypt.Cost([]byte(opts.Auth.PasswordHash)); err != nil {
			return nil, fmt.Errorf("%w: PasswordHash must be a valid bcrypt hash: %w", ErrConfig, err)
		}
	}
	if opts.NamespaceName == "" {
		opts.NamespaceName = "/admin"
	}
	if opts.NamespaceName[0] != '/' {
		opts.NamespaceName = "/" + opts.NamespaceName
	}
	switch opts.Mode {
	case "":
		opts.Mode = Development
	case Development, Production:
	default:
		return nil, fmt.Errorf("%w: Mode %q (want development or production)", ErrConfig, opts.Mode)
	}
	if opts.StatsInterval == 0 {
		opts.StatsInterval = 2 * time.Second
	}
	if opts.MaxQueuedEvents == 0 {
		opts.MaxQueuedEvents = 10000
	}
	if opts.StatsInterval < 0 || opts.MaxQueuedEvents < 0 {
		return nil, fmt.Errorf("%w: negative StatsInterval or MaxQueuedEvents", ErrConfig)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Sessions == nil {
		opts.Sessions = NewMemorySessions(24*time.Hour, 10000)
	}
	host, _ := os.Hostname()
	a := &Admin{
		srv:        srv,
		opts:       opts,
		dev:        opts.Mode == Development,
		base:       serverBase{serverID: opts.ServerID, hostname: host, pid: os.Getpid()},
		log:        opts.Logger,
		queue:      make(chan outEvent, opts.MaxQueuedEvents),
		done:       make(chan struct{}),
		stopped:    make(chan struct{}),
		pending:    make(map[*socketio.Socket]string),
		transports: make(map[*socketio.Socket]string),
		conns:      make(map[string]int),
	}
	if opts.Auth != nil {
		a.logins = newLogins(opts.Auth, limit, opts.Logger)
	}
	if a.base.serverID == "" {
		a.base.serverID = host
	}
	if !opts.ReadOnly {
		a.features = []Feature{FeatureEmit, FeatureJoin, FeatureLeave, FeatureDisconnect, FeatureMJoin,
			FeatureMLeave, FeatureMDisconnect}
	}
	a.features = append(a.features, FeatureAggregatedEvents)
	if a.dev {
		a.features = append(a.features, FeatureAllEvents)
	}
	a.nsp = srv.Of(opts.NamespaceName)
	if opts.Auth != nil {
		a.nsp.Use(a.authenticate)
	}
	a.nsp.OnConnection(a.onAdminConnection)
	srv.OnNamespace(a.watch)
	for _, ns := range srv.Namespaces() {
		a.watch(ns)
	}
	go a.run()
	return a, nil
}

// Close stops sending to the UI and waits for the Admin's goroutine. The admin namespace stays, its sockets
// connected, and their operations still work.
func (a *Admin) Close() {
	a.once.Do(func() { close(a.done) })
	<-a.stopped
}

// Features returns the features sent to the UI in "config".
func (a *Admin) Features() []Feature { return append([]Feature(nil), a.features...) }

// authenticate is the admin namespace's middleware with basic authentication: a known session id, or the
// username and password, checked within Options.LoginLimit.
func (a *Admin) authenticate(ctx context.Context, s *socketio.Socket) error {
	var auth struct {
		SessionID string `json:"sessionId"`
		Username  string `json:"username"`
		Password  string `json:"password"`
	}
	if raw := s.Handshake().Auth; len(raw) > 0 {
		_ = json.Unmarshal(raw, &auth) // anything else is no credential
	}
	if auth.SessionID != "" {
		ok, err := a.opts.Sessions.SessionExists(ctx, auth.SessionID)
		if err != nil {
			a.log.Warn("admin: checking a session", "err", err)
		}
		if ok {
			return nil
		}
	}
	if auth.Username == "" && auth.Password == "" {
		return &socketio.ConnectError{Message: "invalid credentials"} // no password to check
	}
	if err := a.logins.check(ctx, s.Handshake().Address, auth.Username, auth.Password); err != nil {
		return err
	}
	id := randomID()
	if err := a.opts.Sessions.SaveSession(ctx, id); err != nil {
		a.log.Warn("admin: saving a session", "err", err)
		return nil
	}
	a.mu.Lock()
	a.pending[s] = id
	a.mu.Unlock()
	// A socket that a later middleware refuses never connects: forget its session when it goes.
	context.AfterFunc(ctx, func() {
		a.mu.Lock()
		delete(a.pending, s)
		a.mu.Unlock()
	})
	return nil
}

// onAdminConnection greets a UI: its session, the config, and in development mode every socket.
func (a *Admin) onAdminConnection(ctx context.Context, s *socketio.Socket) {
	a.mu.Lock()
	session, ok := a.pending[s]
	delete(a.pending, s)
	a.mu.Unlock()
	if ok {
		_ = s.Emit("session", session)
	}
	a.registerOperations(s)
	_ = s.Emit("config", map[string]any{"supportedFeatures": a.features})
	if a.dev {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = s.Emit("all_sockets", a.allSockets(fctx))
	}
}

// registerOperations sets the handlers of the UI's operations that the features allow.
func (a *Admin) registerOperations(s *socketio.Socket) {
	if a.opts.ReadOnly {
		return
	}
	// emit(nsp, filter, event, ...args)
	s.On("emit", func(ctx context.Context, _ *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
		vals, err := args.Values()
		if err != nil || len(vals) < 3 {
			return
		}
		nsp, _ := vals[0].(string)
		filter, _ := vals[1].(string)
		event, _ := vals[2].(string)
		op := a.selection(nsp, filter)
		if op == nil {
			return
		}
		if err := op.Emit(ctx, event, vals[3:]...); err != nil {
			a.log.Warn("admin: emit", "nsp", nsp, "event", event, "err", err)
		}
	})
	// join(nsp, room, filter), leave(nsp, room, filter)
	for _, name := range []string{"join", "leave"} {
		s.On(name, func(ctx context.Context, _ *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
			var nsp, room, filter string
			if args.Decode(0, &nsp) != nil || args.Decode(1, &room) != nil || room == "" {
				return
			}
			_ = args.Decode(2, &filter)
			op := a.selection(nsp, filter)
			if op == nil {
				return
			}
			var err error
			if name == "join" {
				err = op.SocketsJoin(ctx, room)
			} else {
				err = op.SocketsLeave(ctx, room)
			}
			if err != nil {
				a.log.Warn("admin: "+name, "nsp", nsp, "room", room, "err", err)
			}
		})
	}
	// _disconnect(nsp, close, filter)
	s.On("_disconnect", func(ctx context.Context, _ *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
		var nsp, filter string
		var closeConn bool
		if args.Decode(0, &nsp) != nil {
			return
		}
		_ = args.Decode(1, &closeConn)
		_ = args.Decode(2, &filter)
		op := a.selection(nsp, filter)
		if op == nil {
			return
		}
		if err := op.DisconnectSockets(ctx, closeConn); err != nil {
			a.log.Warn("admin: disconnect", "nsp", nsp, "err", err)
		}
	})
}

// selection returns the sockets of namespace nsp, or of its room filter when not empty; nil for a namespace
// that does not exist (the UI cannot create one).
func (a *Admin) selection(nsp, filter string) *socketio.BroadcastOperator {
	ns := a.srv.Namespace(nsp)
	if ns == nil {
		return nil
	}
	if filter != "" {
		return ns.To(filter)
	}
	return ns.Except()
}

// watch adds the listeners of one namespace: its connections for the stats, and in development mode its
// sockets' events and its rooms.
func (a *Admin) watch(ns *socketio.Namespace) {
	ns.OnConnection(func(_ context.Context, s *socketio.Socket) { a.onConnection(ns, s) })
	if !a.dev {
		return
	}
	name := ns.Name()
	ns.OnRoomEvent(func(_ *socketio.Namespace, e socketio.RoomEvent) {
		switch e.Kind {
		case socketio.RoomJoined:
			a.send("room_joined", name, e.Room, e.SocketID, time.Now())
		case socketio.RoomLeft:
			a.send("room_left", name, e.Room, e.SocketID, time.Now())
		}
	})
}

func (a *Admin) onConnection(ns *socketio.Namespace, s *socketio.Socket) {
	connID := s.Conn().ID()
	a.mu.Lock()
	if a.conns[connID] == 0 {
		a.countLocked("rawConnection", "")
	}
	a.conns[connID]++
	if a.dev {
		a.transports[s] = s.Conn().Transport()
	}
	a.mu.Unlock()
	if a.dev {
		a.send("socket_connected", serializeLocal(s), time.Now())
		if ns != a.nsp {
			s.OnAny(func(_ context.Context, s *socketio.Socket, event string, args socketio.Args) {
				vals, err := args.Values()
				if err != nil {
					return
				}
				a.send("event_received", ns.Name(), s.ID(), append([]any{event}, vals...), time.Now())
			})
		}
	}
	s.OnDisconnect(func(reason socketio.DisconnectReason) {
		a.mu.Lock()
		if a.conns[connID]--; a.conns[connID] <= 0 {
			delete(a.conns, connID)
			a.countLocked("rawDisconnection", string(reason))
		}
		delete(a.transports, s)
		delete(a.pending, s)
		a.mu.Unlock()
		if a.dev {
			a.send("socket_disconnected", ns.Name(), s.ID(), string(reason), time.Now())
		}
	})
}

// countLocked adds one to the aggregated events of this second; a.mu is held.
func (a *Admin) countLocked(typ, sub string) {
	ts := time.Now().Truncate(time.Second).UnixMilli()
	for i := range a.buckets {
		if b := &a.buckets[i]; b.Timestamp == ts && b.Type == typ && b.SubType == sub {
			b.Count++
			return
		}
	}
	if len(a.buckets) < 1000 { // bounded however long the stats are not sent
		a.buckets = append(a.buckets, eventBucket{Timestamp: ts, Type: typ, SubType: sub, Count: 1})
	}
}

// send queues an event for the UIs; it never blocks.
func (a *Admin) send(event string, args ...any) {
	select {
	case a.queue <- outEvent{event, args}:
	default:
		a.mu.Lock()
		a.dropped++
		a.mu.Unlock()
	}
}

// run emits the queued events and the periodic stats until Close or the server's end.
func (a *Admin) run() {
	defer close(a.stopped)
	tick := time.NewTicker(a.opts.StatsInterval)
	defer tick.Stop()
	a.emit("server_stats", a.stats())
	for {
		select {
		case e := <-a.queue:
			a.emit(e.event, e.args...)
		case <-tick.C:
			a.checkTransports()
			a.emit("server_stats", a.stats())
			a.mu.Lock()
			dropped := a.dropped
			a.dropped = 0
			a.mu.Unlock()
			if dropped > 0 {
				a.log.Warn("admin: events dropped, the queue to the UI was full", "dropped", dropped,
					"max_queued_events", a.opts.MaxQueuedEvents)
			}
		case <-a.done:
			return
		}
	}
}

func (a *Admin) emit(event string, args ...any) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.nsp.Emit(ctx, event, args...); err != nil && !errors.Is(err, socketio.ErrDisconnected) {
		a.log.Warn("admin: emitting to the UI", "event", event, "err", err)
	}
}

// checkTransports reports the local sockets whose connection changed transport (an upgrade to WebSocket).
func (a *Admin) checkTransports() {
	type update struct {
		s         *socketio.Socket
		transport string
	}
	var updates []update
	a.mu.Lock()
	for s, last := range a.transports {
		if t := s.Conn().Transport(); t != last {
			a.transports[s] = t
			updates = append(updates, update{s, t})
		}
	}
	a.mu.Unlock()
	for _, u := range updates {
		a.emit("socket_updated", map[string]any{"id": u.s.ID(), "nsp": u.s.Namespace().Name(), "transport": u.transport})
	}
}

// stats is the "server_stats" event's value.
func (a *Admin) stats() map[string]any {
	type nsStats struct {
		Name         string `json:"name"`
		SocketsCount int    `json:"socketsCount"`
	}
	var namespaces []nsStats
	polling := map[string]bool{}
	for _, ns := range a.srv.Namespaces() {
		socks := ns.Sockets()
		namespaces = append(namespaces, nsStats{ns.Name(), len(socks)})
		for _, s := range socks {
			c := s.Conn()
			if c.Transport() == "polling" {
				polling[c.ID()] = true
			}
		}
	}
	a.mu.Lock()
	events := a.buckets
	a.buckets = nil
	a.mu.Unlock()
	if events == nil {
		events = []eventBucket{}
	}
	return map[string]any{
		"serverId":            a.base.serverID,
		"hostname":            a.base.hostname,
		"pid":                 a.base.pid,
		"uptime":              time.Since(processStart).Seconds(),
		"clientsCount":        a.srv.Engine().Len(),
		"pollingClientsCount": len(polling),
		"aggregatedEvents":    events,
		"namespaces":          namespaces,
	}
}
