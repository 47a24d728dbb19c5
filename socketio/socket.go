package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/randid"
	"github.com/sioredis/sioredis/internal/siopacket"
)

// EventHandler handles an event received from a client. ack is nil unless the client asked for an
// acknowledgement; then call it once with the reply. ctx ends when the socket disconnects.
type EventHandler func(ctx context.Context, s *Socket, args Args, ack AckFunc)

// AnyHandler receives every event, before its EventHandler.
type AnyHandler func(ctx context.Context, s *Socket, event string, args Args)

// OutgoingHandler receives every event sent to a socket (see Socket.OnAnyOutgoing) with its arguments as given to
// Emit (with connection state recovery, followed by the packet's offset). It runs on the goroutine emitting, must
// not block, and must not modify args.
type OutgoingHandler func(s *Socket, event string, args []any)

// PacketMiddleware runs for every event a socket receives, after its AnyHandlers and before its EventHandler
// (see Socket.Use); a non-nil error stops the event: its EventHandler is not called, and the socket's error
// handlers (Socket.OnError) get the error. ctx ends when the socket disconnects.
type PacketMiddleware func(ctx context.Context, s *Socket, event string, args Args) error

// AckFunc sends the acknowledgement of an event; a second call returns ErrAckTwice.
type AckFunc func(args ...any) error

// Handshake describes the request that opened the connection of a socket, and its CONNECT packet. What a socket
// keeps of them is bounded: the request's target and headers by engineio.Config.MaxHeaderBytes (16 KiB, larger
// requests are refused), the CONNECT payload by the message size (engineio.Config.MaxHTTPBufferSize), as in Node.
type Handshake struct {
	Headers http.Header
	// Query is the handshake request's query; for a socket.io-client 2 client (engineio.Config.AllowEIO3), the
	// query of its namespace is merged in, its values replacing the request's, as socket.io 2 servers did.
	Query url.Values
	// Auth is the payload of the CONNECT packet (nil without one); for a socket.io-client 2 client, the query of
	// its namespace as a JSON object (io("/admin?token=x"): {"token":"x"}), as the reference server makes it.
	Auth json.RawMessage
	// Address is the client's IP address, without a port ("127.0.0.1", "::1"), as the reference server gives
	// the remote address of the connection; behind a trusted proxy (engineio.Config.TrustedProxies), the
	// address the proxy forwarded.
	Address string
	Time    time.Time
	Secure  bool
	URL     string
}

// Socket is a client connected to a namespace. Its event handlers run one at a time, in the order the client
// sent the events, on a goroutine that is not reading the client's packets (so a handler may wait for an
// acknowledgement; see the package doc). All its methods are
// safe for concurrent use.
type Socket struct {
	id        string
	pid       string // the private session id, with connection state recovery
	recovered bool
	// replayedTo is the last offset replayed to a socket recovered through the cluster: the broadcasts up to it
	// are not delivered to it again. Guarded by the namespace's deliverMu.
	replayedTo string
	ns         *Namespace
	client     *client
	auth       string // the CONNECT payload (a string: 8 bytes less per socket)
	connTime   int64  // Unix nanoseconds
	ctx        context.Context
	cancel     context.CancelFunc

	mu        sync.Mutex
	connected bool
	handlers  []eventHandler // a slice: sockets have few handlers, and a map costs an idle socket more
	// outgoing are the OnAnyOutgoing handlers, read without the lock on the broadcast path; replaced, never
	// modified, under mu.
	outgoing atomic.Pointer[[]*OutgoingHandler]
	hooks    *socketHooks         // nil until one is added
	acks     map[int64]func(Args) // pending acknowledgements, by ack id; called once, on the read loop
	nextAck  int64
	data     any
}

func newSocket(ns *Namespace, cl *client, auth json.RawMessage, ctx context.Context, cancel context.CancelFunc) *Socket {
	return &Socket{
		id:        randid.New(),
		ns:        ns,
		client:    cl,
		ctx:       ctx,
		cancel:    cancel,
		auth:      string(auth),
		connTime:  time.Now().UnixNano(),
		connected: true,
	}
}

// Recovered reports whether the socket is the recovery of an earlier session of the same client (see
// RecoveryConfig): it has that session's id, rooms and data, and was sent the packets it missed.
func (s *Socket) Recovered() bool { return s.recovered }

// ID returns the socket id, also the name of the room holding only this socket.
func (s *Socket) ID() string { return s.id }

// Namespace returns the namespace of the socket.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Handshake returns the handshake details, built from the handshake request on each call (an idle socket keeps
// no copy of them). Do not modify the headers: they are the request's.
func (s *Socket) Handshake() Handshake {
	r := s.client.conn.Request()
	q := r.URL.Query()
	if s.client.eio3() && s.auth != "" {
		mergeNamespaceQuery(q, s.auth)
	}
	return Handshake{
		Headers: r.Header,
		Query:   q,
		Auth:    authPayload(s.auth),
		Address: remoteIP(r.RemoteAddr),
		Time:    time.Unix(0, s.connTime),
		Secure:  r.TLS != nil,
		URL:     r.URL.RequestURI(),
	}
}

// Context returns a context canceled when the socket disconnects.
func (s *Socket) Context() context.Context { return s.ctx }

// Conn returns the underlying Engine.IO connection, shared by the sockets of one client in several namespaces.
func (s *Socket) Conn() *engineio.Conn { return s.client.conn }

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// SetData sets the socket's application data, which FetchSockets reports.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// Data returns the value set by SetData.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// On sets the handler of an event, replacing any previous one.
func (s *Socket) On(event string, h EventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.handlers {
		if s.handlers[i].event == event {
			s.handlers[i] = eventHandler{event, h, false}
			return
		}
	}
	s.handlers = appendHandler(s.handlers, eventHandler{event, h, false})
}

// appendHandler appends h, growing a short slice by one element at a time: a socket keeps its handlers for its
// whole life, and doubling would leave five handlers in room for eight (96 bytes more per socket).
func appendHandler(hs []eventHandler, h eventHandler) []eventHandler {
	if len(hs) < cap(hs) || len(hs) >= 8 {
		return append(hs, h)
	}
	out := make([]eventHandler, len(hs)+1)
	copy(out, hs)
	out[len(hs)] = h
	return out
}

func authPayload(auth string) json.RawMessage {
	if auth == "" {
		return nil
	}
	return json.RawMessage(auth)
}

// socketHooks are the handlers most sockets do not have, kept out of Socket.
type socketHooks struct {
	any           []*AnyHandler // pointers: the identity of a registration, for its removal
	use           []PacketMiddleware
	errs          []func(err error)
	disconnecting []func(ctx context.Context, reason DisconnectReason)
	disconnect    []func(reason DisconnectReason)
}

func (s *Socket) hooksLocked() *socketHooks {
	if s.hooks == nil {
		s.hooks = new(socketHooks)
	}
	return s.hooks
}

type eventHandler struct {
	event string
	h     EventHandler
	once  bool
}

// handlerLocked returns the handler of event, removing it if it was set with Once.
func (s *Socket) handlerLocked(event string) EventHandler {
	for i := range s.handlers {
		if s.handlers[i].event == event {
			h := s.handlers[i]
			if h.once {
				s.handlers = slices.Delete(s.handlers, i, i+1)
			}
			return h.h
		}
	}
	return nil
}

// OnDisconnecting adds a handler run when the socket is about to disconnect, while it is still in its rooms.
func (s *Socket) OnDisconnecting(h func(ctx context.Context, reason DisconnectReason)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooksLocked().disconnecting = append(s.hooksLocked().disconnecting, h)
}

// OnDisconnect adds a handler run once the socket has disconnected.
func (s *Socket) OnDisconnect(h func(reason DisconnectReason)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooksLocked().disconnect = append(s.hooksLocked().disconnect, h)
}

// Emit sends an event to the client. It does not wait for the network: the packet is queued for the connection's
// writer. The arguments follow the argument-encoding rule of package jsvalue, as everywhere in sioredis. It returns
// an error wrapping ErrInvalidEvent, ErrReservedEvent, ErrUnsupportedValue or ErrTooManyAttachments, or
// ErrDisconnected.
//
// With connection state recovery, the event goes as a broadcast to the socket's own room, as in the reference
// server, so that it gets an offset and is kept for a recovery: with a Cluster that carries recovery (the streams
// format), that is a round trip to Redis.
func (s *Socket) Emit(event string, args ...any) error {
	if s.ns.recovery != nil || s.ns.recLink != nil {
		if err := siopacket.ValidateEvent(event); err != nil {
			return err
		}
		if !s.Connected() {
			return ErrDisconnected
		}
		m := &ClusterMessage{Type: ClusterBroadcast, Rooms: []string{s.id}, Event: event, Args: args}
		ctx, cancel := context.WithTimeout(s.ns.srv.ctx, s.ns.srv.cfg.RequestTimeout)
		defer cancel()
		return s.ns.broadcast(ctx, m, newEventPacket(s.ns.srv.parser, s.ns.name, event, args), false)
	}
	return s.emit(false, event, args)
}

// Volatile returns an emitter whose events may be dropped if the client is not ready to receive them.
func (s *Socket) Volatile() VolatileEmitter { return VolatileEmitter{s} }

// VolatileEmitter emits volatile events to one socket. It is a value, safe for concurrent use.
type VolatileEmitter struct{ s *Socket }

// Emit sends a volatile event; a dropped event is no error.
func (v VolatileEmitter) Emit(event string, args ...any) error { return v.s.emit(true, event, args) }

func (s *Socket) emit(volatile bool, event string, args []any) error {
	msgs, err := s.ns.srv.parser.Encode(Packet{Type: PacketEvent, Nsp: s.ns.name, ID: NoAckID, Event: event, Args: args})
	if err != nil {
		return err
	}
	s.notifyOutgoing(event, args)
	return s.send(volatile, msgs)
}

func (s *Socket) send(volatile bool, msgs []engineio.Message) error {
	if !s.Connected() {
		return ErrDisconnected
	}
	err := s.client.conn.Send(deliveryOf(volatile), msgs...)
	if m := s.ns.srv.cfg.Metrics; m != nil && err == nil {
		m.PacketSent()
	}
	switch {
	case errors.Is(err, engineio.ErrClosed):
		return ErrDisconnected
	case errors.Is(err, engineio.ErrDropped):
		return nil
	default:
		return err
	}
}

// EmitWithAck sends an event and waits for the client's acknowledgement, until ctx ends (the error then wraps
// ErrAckTimeout and ctx.Err()) or the socket disconnects (ErrDisconnected).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	if err := siopacket.ValidateEvent(event); err != nil {
		return Args{}, err
	}
	ch := make(chan Args, 1)
	id, err := s.registerAck(func(a Args) { ch <- a })
	if err != nil {
		return Args{}, err
	}
	msgs, err := s.ns.srv.parser.Encode(Packet{Type: PacketEvent, Nsp: s.ns.name, ID: id, Event: event, Args: args})
	if err == nil {
		s.notifyOutgoing(event, args)
		err = s.send(false, msgs)
	}
	if err != nil {
		s.forgetAck(id)
		return Args{}, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		s.forgetAck(id)
		if m := s.ns.srv.cfg.Metrics; m != nil {
			m.AckTimedOut()
		}
		return Args{}, fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
	case <-s.ctx.Done():
		s.forgetAck(id)
		return Args{}, ErrDisconnected
	}
}

// sendWithAck queues the event p for the client with an acknowledgement id of this socket's own (from the
// sequence EmitWithAck uses) and returns at once; ack is called at most once, with the client's acknowledgement,
// on the goroutine reading the client's packets, so it must not block. The registration is dropped when ctx ends
// (ack is then no longer called); a socket that disconnects never calls ack. p's namespace is the socket's. It
// returns ErrDisconnected, engineio.ErrDropped for a volatile packet the client was not ready to receive (ack will
// not be called), ctx.Err(), or the encoding errors of Emit.
func (s *Socket) sendWithAck(ctx context.Context, p *eventPacket, volatile bool, ack func(Args)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msgs, err := p.messages()
	if err != nil {
		return err
	}
	var stop atomic.Pointer[func() bool]
	id, err := s.registerAck(func(a Args) {
		if f := stop.Load(); f != nil {
			(*f)()
		}
		ack(a)
	})
	if err != nil {
		return err
	}
	f := context.AfterFunc(ctx, func() { s.forgetAck(id) })
	stop.Store(&f)
	s.notifyOutgoing(p.event, p.args)
	if msgs, err = p.withAckID(msgs, id); err != nil {
		f()
		s.forgetAck(id)
		return err
	}
	if err := s.client.conn.Send(deliveryOf(volatile), msgs...); err != nil {
		f()
		s.forgetAck(id)
		if errors.Is(err, engineio.ErrClosed) {
			return ErrDisconnected
		}
		return err
	}
	if m := s.ns.srv.cfg.Metrics; m != nil {
		m.PacketSent()
	}
	return nil
}

// registerAck reserves the next ack id of the socket for fn.
func (s *Socket) registerAck(fn func(Args)) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return 0, ErrDisconnected
	}
	id := s.nextAck
	s.nextAck++
	if s.acks == nil {
		s.acks = make(map[int64]func(Args))
	}
	s.acks[id] = fn
	return id, nil
}

// takeAckLocked removes and returns the pending acknowledgement id.
func (s *Socket) takeAckLocked(id int64) func(Args) {
	fn := s.acks[id]
	delete(s.acks, id)
	if len(s.acks) == 0 {
		s.acks = nil // maps do not shrink: an idle socket keeps none
	}
	return fn
}

func (s *Socket) forgetAck(id int64) {
	s.mu.Lock()
	s.takeAckLocked(id)
	s.mu.Unlock()
}

func (s *Socket) onAck(id int64, args Args) {
	s.mu.Lock()
	fn := s.takeAckLocked(id)
	s.mu.Unlock()
	if fn != nil {
		if m := s.ns.srv.cfg.Metrics; m != nil {
			m.AckReceived()
		}
		fn(args)
	}
}

// dispatch runs the handlers of one event, on the client's runner.
func (s *Socket) dispatch(event string, args Args, id int64) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	var anys []*AnyHandler
	var use []PacketMiddleware
	if s.hooks != nil {
		anys, use = s.hooks.any, s.hooks.use
	}
	s.mu.Unlock()
	var ack AckFunc
	if id >= 0 {
		var sent atomic.Bool
		ack = func(a ...any) error {
			if sent.Swap(true) {
				return ErrAckTwice
			}
			msgs, err := s.ns.srv.parser.Encode(Packet{Type: PacketAck, Nsp: s.ns.name, ID: id, Args: a})
			if err != nil {
				sent.Store(false) // nothing was sent: the handler may try again with other values
				return err
			}
			return s.send(false, msgs)
		}
	}
	for _, a := range anys {
		(*a)(s.ctx, s, event, args)
	}
	for _, mw := range use {
		if err := mw(s.ctx, s, event, args); err != nil {
			s.reportError(err)
			return
		}
	}
	// Looked up once the middlewares let the event through: a Once handler is used up by an event that reaches it.
	s.mu.Lock()
	var h EventHandler
	if s.connected {
		h = s.handlerLocked(event)
	}
	s.mu.Unlock()
	if h != nil {
		h(s.ctx, s, args, ack)
	}
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) {
	if len(rooms) > 0 && s.Connected() {
		s.ns.rooms.add(s.id, rooms)
	}
}

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...string) {
	for _, r := range rooms {
		s.ns.rooms.del(s.id, r)
	}
}

// Rooms returns the rooms of the socket, its own id included.
func (s *Socket) Rooms() []string { return s.ns.rooms.socketRooms(s.id) }

// To returns a broadcast to the sockets in rooms, this socket excepted.
func (s *Socket) To(rooms ...string) *BroadcastOperator {
	return s.ns.op().To(rooms...).Except(s.id)
}

// Broadcast returns a broadcast to every socket of the namespace but this one.
func (s *Socket) Broadcast() *BroadcastOperator { return s.ns.op().Except(s.id) }

// Disconnect disconnects the socket from its namespace (the client gets "io server disconnect"); with close,
// it disconnects the client's other namespaces too and closes the connection.
func (s *Socket) Disconnect(close bool) {
	if close {
		s.client.disconnectAll()
		return
	}
	if !s.Connected() {
		return
	}
	if msgs, err := s.ns.srv.parser.Encode(Packet{Type: PacketDisconnect, Nsp: s.ns.name, ID: NoAckID}); err != nil {
		s.ns.srv.log.Warn("socketio: the parser cannot encode a DISCONNECT", "sid", s.id, "err", err)
	} else {
		_ = s.client.conn.Send(engineio.Queued, msgs...)
	}
	s.onclose(ReasonServerNamespaceDisconnect)
}

// onclose disconnects the socket once: disconnecting handlers, rooms left, disconnect handlers.
func (s *Socket) onclose(reason DisconnectReason) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	s.connected = false
	var disconnecting []func(ctx context.Context, reason DisconnectReason)
	var disconnect []func(reason DisconnectReason)
	if s.hooks != nil {
		disconnecting, disconnect = s.hooks.disconnecting, s.hooks.disconnect
	}
	s.mu.Unlock()
	for _, h := range disconnecting {
		h(s.ctx, reason)
	}
	if recoverableReasons[reason] && s.pid != "" { // no pid: a socket.io 2 client, which cannot recover
		s.persistSession()
	}
	s.ns.rooms.delAll(s.id)
	s.ns.remove(s)
	s.client.remove(s)
	if m := s.ns.srv.cfg.Metrics; m != nil {
		m.SocketDisconnected(reason)
	}
	s.cancel()
	for _, h := range disconnect {
		h(reason)
	}
}

// info returns the description FetchSockets gives of a local socket.
func (s *Socket) info() SocketInfo {
	return SocketInfo{ID: s.id, Handshake: s.Handshake(), Rooms: s.Rooms(), Data: s.Data()}
}

// Handle sets a typed handler: the event's first argument is decoded into a T. A client sending an argument that
// does not decode is logged and ignored.
func Handle[T any](s *Socket, event string, fn func(ctx context.Context, s *Socket, v T)) {
	s.On(event, func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var v T
		if args.Len() > 0 {
			if err := args.Decode(0, &v); err != nil {
				s.ns.srv.log.Warn("socketio: undecodable event argument", "event", event, "sid", s.id, "err", err)
				return
			}
		}
		fn(ctx, s, v)
	})
}

// HandleAck sets a typed handler whose result is the acknowledgement: the event's first argument is decoded into
// a T, and the returned R is sent back as the acknowledgement's argument when the client asked for one.
func HandleAck[T, R any](s *Socket, event string, fn func(ctx context.Context, s *Socket, v T) R) {
	s.On(event, func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var v T
		if args.Len() > 0 {
			if err := args.Decode(0, &v); err != nil {
				s.ns.srv.log.Warn("socketio: undecodable event argument", "event", event, "sid", s.id, "err", err)
				return
			}
		}
		r := fn(ctx, s, v)
		if ack != nil {
			if err := ack(r); err != nil {
				s.ns.srv.log.Warn("socketio: acknowledgement not sent", "event", event, "sid", s.id, "err", err)
			}
		}
	})
}

// EmitWithAckAs is EmitWithAck decoding the first argument of the acknowledgement into an R.
func EmitWithAckAs[R any](ctx context.Context, s *Socket, event string, args ...any) (R, error) {
	var r R
	a, err := s.EmitWithAck(ctx, event, args...)
	if err != nil {
		return r, err
	}
	if a.Len() == 0 {
		return r, nil
	}
	err = a.Decode(0, &r)
	return r, err
}

// persistSession keeps the session of a socket that disconnected for a recoverable reason.
func (s *Socket) persistSession() {
	ns := s.ns
	switch {
	case ns.recovery != nil:
		ns.recovery.persist(s.pid, s.id, s.Rooms(), s.Data())
	case ns.recLink != nil:
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ns.srv.ctx), ns.srv.cfg.RequestTimeout)
		defer cancel()
		sess := ClusterSession{PID: s.pid, SID: s.id, Rooms: s.Rooms(), Data: s.Data()}
		if err := ns.recLink.PersistSession(ctx, sess, ns.srv.cfg.ConnectionStateRecovery.MaxDisconnectionDuration); err != nil {
			ns.srv.log.Warn("socketio: session not kept for recovery", "nsp", ns.name, "sid", s.id, "err", err)
		}
	}
}

// deliveryOf is the engineio delivery of a packet with or without the volatile flag.
func deliveryOf(volatile bool) engineio.Delivery {
	if volatile {
		return engineio.Volatile
	}
	return engineio.Queued
}
