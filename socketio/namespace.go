package socketio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Namespace is a communication channel of the server: sockets join one, and it has its own middlewares,
// connection handlers, rooms and adapter. A parent namespace, from Server.OfFunc or Server.OfRegexp, stands for
// the dynamic namespaces it creates. Safe for concurrent use.
type Namespace struct {
	srv   *Server
	name  string
	rooms *roomIndex // nil for a parent
	// roomEvents are the OnRoomEvent handlers (for a parent, those its children's call too).
	roomEvents *roomEvents
	// recovery keeps sessions and packets with Config.ConnectionStateRecovery (nil otherwise, and for a parent);
	// deliverMu then makes the order of the stored packets that of their delivery.
	recovery  *recovery
	recLink   ClusterRecovery // the cluster's recovery, used instead of recovery when the link has one
	deliverMu sync.Mutex
	link      ClusterLink      // nil for a parent, and without a Config.Cluster
	match     NamespaceMatcher // parents only
	parent    *Namespace

	mu               sync.RWMutex
	sockets          map[string]*Socket
	middlewares      []Middleware
	onConnection     []ConnectionHandler
	onServerSideEmit []ServerSideAckHandler // both kinds, in the order they were added
	children         []*Namespace
	joining          int         // clients between lookup and joining (a dynamic namespace is kept meanwhile)
	cleanup          *time.Timer // the removal of an empty dynamic namespace, while it is scheduled
	removed          bool        // a dynamic namespace that was removed: clients ask the server again

	reqMu    sync.Mutex
	requests map[string]func(*ClusterMessage) // this server's requests waiting for answers, by request id
}

// ServerSideHandler receives an event sent by another server with ServerSideEmit (or ServerSideEmitWithAck, whose
// acknowledgement it cannot give: see ServerSideAckHandler).
type ServerSideHandler func(ctx context.Context, event string, args Args)

// ServerSideAckHandler receives an event sent by another server, and may acknowledge it. ack is nil when the
// sender expects no acknowledgement (ServerSideEmit, or a Node server's serverSideEmit without a callback);
// otherwise (ServerSideEmitWithAck, or a Node server's serverSideEmit(event, ...args, callback) and
// serverSideEmitWithAck) call it once: every handler of the event gets the same ack, the first call sends the
// answer and later calls return ErrAckTwice, as the reference server's listeners share one callback. Only the
// first argument of ack reaches the sender (the reference adapter carries one value per server); ack() with no
// argument sends none. A sender waits for every other server of the cluster: a server where no handler calls ack
// makes the sender wait until its timeout.
//
// ack is safe for concurrent use and may be called after the handler returns, from any goroutine. It returns the
// encoding errors of the value (then nothing was sent, and ack may be called again) and the adapter's errors.
type ServerSideAckHandler func(ctx context.Context, event string, args Args, ack AckFunc)

func newNamespace(s *Server, name string, match NamespaceMatcher) *Namespace {
	ns := &Namespace{srv: s, name: name, match: match, sockets: make(map[string]*Socket), roomEvents: new(roomEvents)}
	if match == nil {
		ns.rooms = newRoomIndex()
		ns.rooms.ns, ns.rooms.events = ns, ns.roomEvents
		ns.rooms.metrics = s.cfg.Metrics
		if m := s.cfg.Metrics; m != nil {
			m.NamespaceCreated()
		}
		if s.cfg.Cluster != nil {
			ns.link = s.cfg.Cluster.Open(name, (*clusterHandler)(ns))
			ns.rooms.observer, _ = ns.link.(RoomObserver)
		}
		if rc := s.cfg.ConnectionStateRecovery; rc != nil {
			if rl, ok := ns.link.(ClusterRecovery); ok {
				ns.recLink = rl
			} else {
				ns.recovery = newRecovery(*rc)
			}
		}
	}
	return ns
}

// Name returns the namespace name, such as "/" or "/admin"; "" for a parent namespace.
func (ns *Namespace) Name() string { return ns.name }

// Server returns the server of the namespace.
func (ns *Namespace) Server() *Server { return ns.srv }

// Use adds a middleware, run in order when a client joins the namespace, after the server's.
func (ns *Namespace) Use(mw Middleware) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.middlewares = append(ns.middlewares, mw)
}

// OnConnection adds a handler run when a socket has joined the namespace.
func (ns *Namespace) OnConnection(h ConnectionHandler) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.onConnection = append(ns.onConnection, h)
}

// OnServerSideEmit adds a handler for the events other servers send with ServerSideEmit or
// ServerSideEmitWithAck. It runs as a ServerSideAckHandler that never acknowledges.
func (ns *Namespace) OnServerSideEmit(h ServerSideHandler) {
	ns.OnServerSideEmitWithAck(func(ctx context.Context, event string, args Args, _ AckFunc) { h(ctx, event, args) })
}

// OnServerSideEmitWithAck adds a handler for the events other servers send, which may acknowledge those sent with
// an acknowledgement (ServerSideEmitWithAck here, serverSideEmit with a callback on a Node server). The handlers
// of both kinds run in the order they were added, the namespace's before its parent's, one at a time, on the
// goroutine of the Cluster that received the event (a handler that takes long delays the cluster traffic of the
// namespace, so one that waits should acknowledge from a goroutine of its own).
func (ns *Namespace) OnServerSideEmitWithAck(h ServerSideAckHandler) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.onServerSideEmit = append(ns.onServerSideEmit, h)
}

// runServerSideHandlers runs the server-side handlers of the namespace (and of its parent) for an event of another
// server. send is nil when the sender expects no acknowledgement; otherwise the handlers share one AckFunc that
// calls send at most once with success (later calls return ErrAckTwice); send returns an error when it sent nothing
// (the AckFunc may then be called again).
func (ns *Namespace) runServerSideHandlers(ctx context.Context, event string, args Args, send func(args ...any) error) {
	var ack AckFunc
	if send != nil {
		var sent atomic.Bool
		ack = func(vals ...any) error {
			if sent.Swap(true) {
				return ErrAckTwice
			}
			if err := send(vals...); err != nil {
				sent.Store(false)
				return fmt.Errorf("socketio: acknowledging server-side event %q: %w", event, err)
			}
			return nil
		}
	}
	for _, h := range ns.serverSideHandlers() {
		h(ctx, event, args, ack)
	}
}

func (ns *Namespace) serverSideHandlers() []ServerSideAckHandler {
	var hs []ServerSideAckHandler
	for n := ns; n != nil; n = n.parent {
		n.mu.RLock()
		hs = append(hs, n.onServerSideEmit...)
		n.mu.RUnlock()
	}
	return hs
}

// Socket returns the local socket with the given id, or nil.
func (ns *Namespace) Socket(id string) *Socket {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return ns.sockets[id]
}

// Sockets returns the local sockets of the namespace.
func (ns *Namespace) Sockets() []*Socket {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	out := make([]*Socket, 0, len(ns.sockets))
	for _, s := range ns.sockets {
		out = append(out, s)
	}
	return out
}

func (ns *Namespace) add(s *Socket) {
	ns.mu.Lock()
	ns.sockets[s.id] = s
	ns.mu.Unlock()
	if m := ns.srv.cfg.Metrics; m != nil {
		m.SocketConnected()
	}
}

// reserve keeps a dynamic namespace while a client joins it (until joined is called); false if it was removed.
func (ns *Namespace) reserve() bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.removed {
		return false
	}
	ns.joining++
	if ns.cleanup != nil {
		ns.cleanup.Stop()
		ns.cleanup = nil
	}
	return true
}

// joined ends a reserve, whether the client joined or was refused.
func (ns *Namespace) joined() {
	ns.mu.Lock()
	ns.joining--
	ns.scheduleCleanupLocked()
	ns.mu.Unlock()
}

// scheduleCleanupLocked schedules the removal of an empty dynamic namespace (Config.ChildNamespaceCleanupDelay);
// ns.mu is held.
func (ns *Namespace) scheduleCleanupLocked() {
	delay := ns.srv.cfg.ChildNamespaceCleanupDelay
	if ns.parent == nil || delay < 0 || ns.removed || ns.cleanup != nil || ns.joining > 0 || len(ns.sockets) > 0 {
		return
	}
	ns.cleanup = time.AfterFunc(delay, ns.removeIfEmpty)
}

// removeIfEmpty removes a dynamic namespace that is still empty: the server forgets it and its cluster link is
// closed; a client asking for it later gets a new one.
func (ns *Namespace) removeIfEmpty() {
	s := ns.srv
	s.mu.Lock()
	ns.mu.Lock()
	ns.cleanup = nil
	if ns.removed || ns.joining > 0 || len(ns.sockets) > 0 || s.closed {
		ns.mu.Unlock()
		s.mu.Unlock()
		return
	}
	ns.removed = true
	ns.mu.Unlock()
	if s.nsps[ns.name] == ns {
		delete(s.nsps, ns.name)
	}
	ns.parent.removeChild(ns)
	s.mu.Unlock()
	if m := s.cfg.Metrics; m != nil {
		m.NamespaceRemoved()
	}
	s.log.Debug("socketio: removed an empty dynamic namespace", "nsp", ns.name)
	if ns.link != nil {
		if err := ns.link.Close(); err != nil {
			s.log.Warn("socketio: closing the cluster link of a namespace", "nsp", ns.name, "err", err)
		}
	}
}

func (ns *Namespace) removeChild(c *Namespace) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for i, ch := range ns.children {
		if ch == c {
			ns.children = append(ns.children[:i], ns.children[i+1:]...)
			return
		}
	}
}

func (ns *Namespace) remove(s *Socket) {
	ns.mu.Lock()
	if ns.sockets[s.id] == s {
		delete(ns.sockets, s.id)
	}
	ns.scheduleCleanupLocked()
	ns.mu.Unlock()
}

func (ns *Namespace) addChild(c *Namespace) {
	ns.mu.Lock()
	ns.children = append(ns.children, c)
	ns.mu.Unlock()
}

// targets returns the namespaces a broadcast on ns reaches: itself, or a parent's children.
func (ns *Namespace) targets() []*Namespace {
	if ns.match == nil {
		return []*Namespace{ns}
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return append([]*Namespace(nil), ns.children...)
}

func (ns *Namespace) allMiddlewares() []Middleware {
	mws := append([]Middleware(nil), ns.srv.serverMiddlewares()...)
	if ns.parent != nil {
		ns.parent.mu.RLock()
		mws = append(mws, ns.parent.middlewares...)
		ns.parent.mu.RUnlock()
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return append(mws, ns.middlewares...)
}

func (ns *Namespace) connectionHandlers() []ConnectionHandler {
	ns.mu.RLock()
	hs := append([]ConnectionHandler(nil), ns.onConnection...)
	ns.mu.RUnlock()
	if ns.parent != nil {
		ns.parent.mu.RLock()
		hs = append(hs, ns.parent.onConnection...)
		ns.parent.mu.RUnlock()
	}
	return hs
}

// To returns a broadcast to the sockets in any of rooms.
func (ns *Namespace) To(rooms ...string) *BroadcastOperator { return ns.op().To(rooms...) }

// In is To.
func (ns *Namespace) In(rooms ...string) *BroadcastOperator { return ns.op().To(rooms...) }

// Except returns a broadcast to every socket but those in any of rooms.
func (ns *Namespace) Except(rooms ...string) *BroadcastOperator { return ns.op().Except(rooms...) }

// Volatile returns a broadcast to every socket whose packets may be dropped.
func (ns *Namespace) Volatile() *BroadcastOperator { return ns.op().Volatile() }

// Local returns a broadcast to the sockets of this server only.
func (ns *Namespace) Local() *BroadcastOperator { return ns.op().Local() }

// Emit sends an event to every socket of the namespace.
func (ns *Namespace) Emit(ctx context.Context, event string, args ...any) error {
	return ns.op().Emit(ctx, event, args...)
}

// EmitWithAck sends an event to every socket of the namespace and collects their acknowledgements until all have
// answered or ctx ends; see BroadcastOperator.EmitWithAck.
func (ns *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return ns.op().EmitWithAck(ctx, event, args...)
}

// FetchSockets returns every socket of the namespace.
func (ns *Namespace) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	return ns.op().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (ns *Namespace) SocketsJoin(ctx context.Context, rooms ...string) error {
	return ns.op().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms.
func (ns *Namespace) SocketsLeave(ctx context.Context, rooms ...string) error {
	return ns.op().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace.
func (ns *Namespace) DisconnectSockets(ctx context.Context, close bool) error {
	return ns.op().DisconnectSockets(ctx, close)
}

// ServerSideEmit sends an event to the other servers of the cluster (none without a Config.Cluster).
func (ns *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if err := validateServerEvent(event); err != nil {
		return err
	}
	for _, t := range ns.targets() {
		if err := t.tell(ctx, &ClusterMessage{Type: ClusterServerSideEmit, Event: event, Args: args}); err != nil {
			return err
		}
	}
	return nil
}

// ServerSideEmitWithAck sends an event to the other servers of the cluster and collects their acknowledgements:
// the Go form of the reference server's serverSideEmitWithAck(event, ...args). It returns one Args per other
// server, in the order they arrived, once every other server has answered (as many as ServerCount counts, minus
// this one); each Args holds the one value that server acknowledged with (none if it acknowledged without an
// argument). With no other server it returns at once, with no answers.
//
// It waits until ctx ends at most, or Config.RequestTimeout when ctx has no deadline. When that ends first, the
// answers received so far are returned with an error wrapping ErrAckTimeout, ErrRequestTimeout and ctx.Err(). A
// reserved or empty event name returns ErrReservedEvent or ErrInvalidEvent before anything is sent, as does the
// Cluster's ErrUnsupportedValue for an argument it cannot encode. For a parent namespace, every child namespace
// sends the event and the answers are put together. Safe for concurrent use.
func (ns *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if err := validateServerEvent(event); err != nil {
		return nil, err
	}
	var out []Args
	for _, t := range ns.targets() {
		answers, err := t.ask(ctx, &ClusterMessage{Type: ClusterServerSideEmit, Event: event, Args: args}, ClusterServerSideEmitResponse)
		for _, r := range answers {
			a, aerr := argsOf(r.Args...)
			if aerr != nil {
				ns.srv.log.Warn("socketio: undecodable server-side acknowledgement", "nsp", t.name, "from", r.From, "err", aerr)
				continue
			}
			out = append(out, a)
		}
		if err != nil {
			if errors.Is(err, ErrRequestTimeout) {
				err = fmt.Errorf("%w: %w", ErrAckTimeout, err)
			}
			return out, fmt.Errorf("socketio: serverSideEmit %q with acknowledgements: %w", event, err)
		}
	}
	return out, nil
}

func (ns *Namespace) op() *BroadcastOperator { return &BroadcastOperator{ns: ns} }
