package socketio

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/sioredis/sioredis/protocol"
)

// Namespace is a communication channel of the server: sockets join one, and it has its own middlewares,
// connection handlers, rooms and adapter. A parent namespace, from Server.OfFunc or Server.OfRegexp, stands for
// the dynamic namespaces it creates. Safe for concurrent use.
type Namespace struct {
	srv     *Server
	name    string
	adapter Adapter          // nil for a parent
	match   NamespaceMatcher // parents only
	parent  *Namespace

	mu               sync.RWMutex
	sockets          map[string]*Socket
	middlewares      []Middleware
	onConnection     []ConnectionHandler
	onServerSideEmit []ServerSideHandler
	children         []*Namespace
}

// ServerSideHandler receives an event sent by another server with ServerSideEmit.
type ServerSideHandler func(ctx context.Context, event string, args Args)

func newNamespace(s *Server, name string, match NamespaceMatcher) *Namespace {
	ns := &Namespace{srv: s, name: name, match: match, sockets: make(map[string]*Socket)}
	if match == nil {
		ns.adapter = s.cfg.Adapter(ns)
	}
	return ns
}

// Name returns the namespace name, such as "/" or "/admin"; "" for a parent namespace.
func (ns *Namespace) Name() string { return ns.name }

// Server returns the server of the namespace.
func (ns *Namespace) Server() *Server { return ns.srv }

// Adapter returns the namespace's adapter (nil for a parent namespace).
func (ns *Namespace) Adapter() Adapter { return ns.adapter }

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

// OnServerSideEmit adds a handler for the events other servers send with ServerSideEmit.
func (ns *Namespace) OnServerSideEmit(h ServerSideHandler) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.onServerSideEmit = append(ns.onServerSideEmit, h)
}

// HandleServerSideEmit runs the ServerSideHandlers of the namespace (and of its parent). Adapters call it when
// another server's ServerSideEmit arrives.
func (ns *Namespace) HandleServerSideEmit(ctx context.Context, event string, args Args) {
	var hs []ServerSideHandler
	for n := ns; n != nil; n = n.parent {
		n.mu.RLock()
		hs = append(hs, n.onServerSideEmit...)
		n.mu.RUnlock()
	}
	for _, h := range hs {
		h(ctx, event, args)
	}
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
}

func (ns *Namespace) remove(s *Socket) {
	ns.mu.Lock()
	if ns.sockets[s.id] == s {
		delete(ns.sockets, s.id)
	}
	ns.mu.Unlock()
}

func (ns *Namespace) addChild(c *Namespace) {
	ns.mu.Lock()
	ns.children = append(ns.children, c)
	ns.mu.Unlock()
}

// targets returns the namespaces a broadcast on ns reaches: itself, or a parent's children.
func (ns *Namespace) targets() []*Namespace {
	if ns.adapter != nil {
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

// ServerSideEmit sends an event to the other servers of the cluster (none with the in-memory adapter).
func (ns *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if err := validateServerEvent(event); err != nil {
		return err
	}
	for _, t := range ns.targets() {
		if err := t.adapter.ServerSideEmit(ctx, event, args); err != nil {
			return err
		}
	}
	return nil
}

func (ns *Namespace) op() *BroadcastOperator { return &BroadcastOperator{ns: ns} }

// ArgsOf encodes values as received arguments, for adapters that receive events decoded from another format.
func ArgsOf(values ...any) (Args, error) {
	data, bufs, err := protocol.AppendAckData(nil, values, nil)
	if err != nil {
		return Args{}, err
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Args{}, err
	}
	return Args{raw: raw, bufs: bufs}, nil
}
