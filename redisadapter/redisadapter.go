// Package redisadapter is a socketio.Adapter over Redis pub/sub that speaks the classic format of
// @socket.io/redis-adapter (createAdapter, versions 7.2 and later): Go servers using it and Node servers using the
// official adapter on the same Redis form one cluster, and the official emitters (or package emitter) reach both.
//
// Carried between servers, both ways: broadcasts (to rooms, except rooms, volatile), socketsJoin, socketsLeave,
// disconnectSockets, fetchSockets, broadcasts with acknowledgements (each client's first acknowledgement argument
// is relayed, as the official adapter does), serverSideEmit, and serverSideEmit with acknowledgements (a Node
// server's serverSideEmit with a callback, or serverSideEmitWithAck, reaches socketio.Namespace's
// OnServerSideEmitWithAck handlers, whose first acknowledgement argument is the Go server's answer; a Go server's
// Namespace.ServerSideEmitWithAck gets one answer from each other server, Node or Go). The server count is PUBSUB
// NUMSUB of the request channel, as Node servers count.
//
// Each namespace's adapter subscribes in the background (retrying until Redis answers; WaitReady waits for it)
// and runs one goroutine, ended when the socketio.Server closes. The adapters are safe for concurrent use.
package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/randid"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/pubsub"
	"github.com/sioredis/sioredis/socketio"
)

// Config configures the adapters of New. The zero value is valid.
type Config struct {
	// Prefix is the channel prefix, the official adapter's "key" option. Default "socket.io".
	Prefix string
	// Logger receives the adapter's warnings; default slog.Default().
	Logger *slog.Logger
}

// ErrAdapter wraps the errors of the cluster operations.
var ErrAdapter = errors.New("redisadapter: Redis command failed")

// New returns the AdapterFactory of a socketio.Config: each namespace gets an adapter subscribed to its channels
// on rdb (standalone, Sentinel or Cluster). The adapters are closed with the socketio.Server.
func New(rdb redis.UniversalClient, cfg Config) socketio.AdapterFactory {
	if cfg.Prefix == "" {
		cfg.Prefix = "socket.io"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return func(ns *socketio.Namespace) socketio.Adapter { return newAdapter(rdb, cfg, ns) }
}

// adapter is the adapter of one namespace. Safe for concurrent use.
type adapter struct {
	*socketio.InMemoryAdapter // local rooms and local delivery

	rdb       redis.UniversalClient
	cfg       Config
	ns        *socketio.Namespace
	uid       string
	channel   string // the namespace's broadcast channel, "P#N#"
	requests  string // "P-request#N#"
	responses string // "P-response#N#"
	mine      string // "P-response#N#uid#", where servers may answer this one only

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	done   chan struct{}
	ready  chan struct{} // closed once Redis has confirmed the subscriptions

	mu      sync.Mutex
	pending map[string]chan *protocol.Message // this server's requests waiting for answers, by request id
	ackReqs map[string]*ackRequest            // this server's broadcasts with acknowledgements, by request id
	sseReqs map[string]chan socketio.Args     // this server's serverSideEmits with acknowledgements, by request id

	answers sync.WaitGroup // goroutines publishing answers; Close waits for them
}

// ackRequest is a broadcast with acknowledgements of this server, waiting for the other servers' answers.
type ackRequest struct {
	clientCount func(int)
	ack         func(socketio.Args)
}

func newAdapter(rdb redis.UniversalClient, cfg Config, ns *socketio.Namespace) *adapter {
	a := &adapter{
		InMemoryAdapter: socketio.NewInMemoryAdapter(ns).(*socketio.InMemoryAdapter),
		rdb:             rdb,
		cfg:             cfg,
		ns:              ns,
		uid:             randid.New(),
		channel:         protocol.BroadcastChannel(cfg.Prefix, ns.Name(), nil),
		requests:        protocol.RequestChannel(cfg.Prefix, ns.Name()),
		responses:       protocol.ResponseChannel(cfg.Prefix, ns.Name()),
		pending:         make(map[string]chan *protocol.Message),
		ackReqs:         make(map[string]*ackRequest),
		sseReqs:         make(map[string]chan socketio.Args),
		done:            make(chan struct{}),
		ready:           make(chan struct{}),
	}
	a.mine = protocol.SpecificResponseChannel(cfg.Prefix, ns.Name(), a.uid)
	a.ctx, a.cancel = context.WithCancel(context.Background())
	go a.run()
	return a
}

// run subscribes (retrying until Redis answers) and handles what arrives, until Close.
func (a *adapter) run() {
	defer close(a.done)
	broadcast := protocol.BroadcastPattern(a.cfg.Prefix, a.ns.Name())
	var sub *pubsub.Subscription
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		var err error
		sub, err = pubsub.Subscribe(a.ctx, a.rdb, pubsub.Patterns(broadcast), pubsub.Channels(a.requests, a.responses, a.mine))
		if err == nil {
			break
		}
		if a.ctx.Err() != nil {
			return
		}
		a.cfg.Logger.Warn("redisadapter: subscribing", "nsp", a.ns.Name(), "err", err)
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
	close(a.ready)
	defer sub.Close()
	for {
		select {
		case <-a.ctx.Done():
			return
		case m, ok := <-sub.C():
			if !ok {
				return
			}
			if m.Kind == pubsub.KindGap {
				a.cfg.Logger.Warn("redisadapter: messages may have been lost", "nsp", a.ns.Name(), "gap", m.Gap)
				continue
			}
			if err := a.handle(m); err != nil {
				a.cfg.Logger.Warn("redisadapter: ignored a message", "channel", m.Channel, "err", err)
			}
		}
	}
}

// handle applies one message of another server (or of an emitter) to the local sockets.
func (a *adapter) handle(m pubsub.Message) error {
	payload := []byte(m.Payload)
	switch m.Channel {
	case a.requests:
		return a.handleRequest(payload)
	case a.responses, a.mine:
		return a.handleResponse(payload)
	}
	if !strings.HasPrefix(m.Channel, a.channel) {
		return nil // another namespace whose name starts like this one's
	}
	msg, err := protocol.DecodeClassicBroadcast(payload)
	if err != nil {
		return err
	}
	if msg.UID == a.uid || msg.Nsp != a.ns.Name() {
		return nil
	}
	args, ok := protocol.ArgsInOrder(msg, payload)
	if !ok {
		args = msg.Args
	}
	opts := socketio.BroadcastOptions{Rooms: msg.Rooms, Except: msg.Except, Flags: localFlags(msg)}
	return a.InMemoryAdapter.Broadcast(a.ctx, socketio.NewPacket(msg.Nsp, msg.Event, args...), opts)
}

// localFlags returns the flags of another server's broadcast, for its delivery to the local sockets.
func localFlags(msg *protocol.Message) socketio.BroadcastFlags {
	f, _ := msg.BroadcastFlags()
	return socketio.BroadcastFlags{Volatile: f.Volatile, Compress: f.Compress, Local: true}
}

func (a *adapter) handleRequest(payload []byte) error {
	msg, err := protocol.DecodeClassicRequest(payload)
	if err != nil {
		return err
	}
	if msg.UID == a.uid || a.isPending(msg.RequestID) {
		return nil
	}
	local := socketio.BroadcastOptions{Rooms: msg.Rooms, Except: msg.Except, Flags: socketio.BroadcastFlags{Local: true}}
	switch msg.Kind {
	case protocol.KindSocketsJoin:
		return a.InMemoryAdapter.AddSockets(a.ctx, local, msg.TargetRooms)
	case protocol.KindSocketsLeave:
		return a.InMemoryAdapter.DelSockets(a.ctx, local, msg.TargetRooms)
	case protocol.KindDisconnectSockets:
		return a.InMemoryAdapter.DisconnectSockets(a.ctx, local, msg.Close)
	case protocol.KindSockets:
		ids := a.localIDs(local)
		return a.publish(a.ctx, a.responses, protocol.AppendSocketsResponse(nil, msg.RequestID, ids))
	case protocol.KindAllRooms:
		return a.publish(a.ctx, a.responses, protocol.AppendAllRoomsResponse(nil, msg.RequestID, a.InMemoryAdapter.Rooms()))
	case protocol.KindFetchSockets:
		socks, err := a.InMemoryAdapter.FetchSockets(a.ctx, local)
		if err != nil {
			return err
		}
		fetched := make([]protocol.FetchedSocket, len(socks))
		for i, s := range socks {
			fetched[i] = protocol.FetchedSocket{ID: s.ID, Handshake: wireHandshake(s.Handshake), Rooms: s.Rooms, Data: s.Data}
		}
		body, err := protocol.AppendFetchSocketsResponse(nil, msg.RequestID, fetched)
		if err != nil {
			return err
		}
		return a.publish(a.ctx, a.responses, body)
	case protocol.KindBroadcastWithAck:
		args, ok := protocol.ArgsInOrder(msg, payload)
		if !ok {
			args = msg.Args
		}
		return a.answerBroadcastWithAck(msg, args)
	case protocol.KindServerSideEmit:
		args, ok := protocol.ArgsInOrder(msg, payload)
		if !ok {
			args = msg.Args
		}
		sargs, err := socketio.ArgsOf(args...)
		if err != nil {
			return err
		}
		if msg.RequestID == "" {
			a.ns.HandleServerSideEmit(a.ctx, msg.Event, sargs)
			return nil
		}
		a.ns.HandleServerSideEmitWithAck(a.ctx, msg.Event, sargs, a.serverSideAnswer(msg.RequestID))
	}
	return nil
}

// serverSideAnswer returns the function that sends this server's answer to another server's serverSideEmit with
// acknowledgements: on the shared response channel, where the official adapter answers (and where its requester
// listens whatever its publishOnSpecificResponseChannel option says).
func (a *adapter) serverSideAnswer(requestID string) func(args ...any) error {
	return func(args ...any) error {
		body, err := protocol.AppendServerSideEmitResponse(nil, requestID, args)
		if err != nil {
			return err
		}
		return a.publish(a.ctx, a.responses, body)
	}
}

func (a *adapter) localIDs(opts socketio.BroadcastOptions) []string {
	socks, _ := a.InMemoryAdapter.FetchSockets(a.ctx, opts)
	ids := make([]string, len(socks))
	for i, s := range socks {
		ids[i] = s.ID
	}
	return ids
}

// handleResponse hands an answer to the request of this server waiting for it.
func (a *adapter) handleResponse(payload []byte) error {
	msg, err := protocol.DecodeClassicResponse(payload)
	if err != nil {
		return err
	}
	a.mu.Lock()
	ch := a.pending[msg.RequestID]
	ar := a.ackReqs[msg.RequestID]
	sse := a.sseReqs[msg.RequestID]
	a.mu.Unlock()
	if sse != nil {
		if msg.Kind != protocol.KindServerSideEmitResponse {
			return nil
		}
		args, err := socketio.ArgsOf(protocol.ServerSideEmitAck(msg, payload)...)
		if err != nil {
			return err
		}
		select {
		case sse <- args:
		default: // more answers than servers counted: ignored
		}
		return nil
	}
	if ar != nil {
		switch msg.Kind {
		case protocol.KindBroadcastClientCount:
			n, _ := msg.Data.(int64)
			ar.clientCount(int(n))
		case protocol.KindBroadcastAck:
			args, err := socketio.ArgsOf(msg.Data)
			if err != nil {
				return err
			}
			ar.ack(args)
		}
		return nil
	}
	if ch != nil {
		select {
		case ch <- msg:
		default: // more answers than servers counted: ignored
		}
	}
	return nil
}

func (a *adapter) isPending(id string) bool {
	if id == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pending[id] != nil || a.ackReqs[id] != nil || a.sseReqs[id] != nil
}

// BroadcastWithAck implements socketio.Adapter: the other servers get a BROADCAST request and answer with their
// client counts and their clients' acknowledgements (the first argument of each, as the reference adapter
// relays them) until ctx ends.
func (a *adapter) BroadcastWithAck(ctx context.Context, p *socketio.Packet, opts socketio.BroadcastOptions, clientCount func(int), ack func(socketio.Args)) error {
	if !opts.Flags.Local {
		op := a.op(protocol.OpBroadcast, opts)
		op.Event, op.Args = p.Event, p.Args
		id := randid.New()
		body, err := protocol.AppendBroadcastWithAckRequest(nil, a.uid, id, op)
		if err != nil {
			return err
		}
		context.AfterFunc(ctx, track(a, a.ackReqs, id, &ackRequest{clientCount: clientCount, ack: ack}))
		if err := a.publish(ctx, a.requests, body); err != nil {
			return err
		}
	}
	return a.InMemoryAdapter.BroadcastWithAck(ctx, p, opts, clientCount, ack)
}

// answerBroadcastWithAck delivers another server's broadcast with acknowledgements to the local sockets and
// publishes the answers: the client count, then each acknowledgement.
func (a *adapter) answerBroadcastWithAck(msg *protocol.Message, args []any) error {
	_, timeout := msg.BroadcastFlags()
	if timeout == 0 {
		timeout = defaultAckTimeout
	}
	ctx, cancel := context.WithTimeout(a.ctx, timeout)
	context.AfterFunc(ctx, cancel) // released at the timeout or at Close
	id := msg.RequestID
	opts := socketio.BroadcastOptions{Rooms: msg.Rooms, Except: msg.Except, Flags: localFlags(msg)}
	answer := func(body []byte) {
		a.answers.Add(1)
		go func() {
			defer a.answers.Done()
			if err := a.publish(a.ctx, a.responses, body); err != nil && a.ctx.Err() == nil {
				a.cfg.Logger.Warn("redisadapter: answering a broadcast with acknowledgements", "err", err)
			}
		}()
	}
	return a.InMemoryAdapter.BroadcastWithAck(ctx, socketio.NewPacket(a.ns.Name(), msg.Event, args...), opts,
		func(n int) { answer(protocol.AppendBroadcastClientCountResponse(nil, id, n)) },
		func(reply socketio.Args) {
			vals, _ := reply.Values()
			var first any
			if len(vals) > 0 {
				first = vals[0]
			}
			if body, err := protocol.AppendBroadcastAckResponse(nil, id, first); err == nil {
				answer(body)
			}
		})
}

// defaultAckTimeout bounds the wait for the acknowledgements of another server's broadcast that carries no
// timeout flag.
const defaultAckTimeout = 10 * time.Second

// ErrTimeout is wrapped by the error of a cluster request whose answers did not all come before its deadline.
var ErrTimeout = errors.New("redisadapter: timeout waiting for the other servers")

// defaultRequestTimeout bounds a request when its context has no deadline (the official adapter's
// requestsTimeout default).
const defaultRequestTimeout = 5 * time.Second

// withRequestTimeout gives ctx the official adapter's requestsTimeout when it has no deadline of its own.
func withRequestTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, defaultRequestTimeout)
}

// otherServers returns how many servers answer this one's requests: the subscribers of the request channel, this
// server excluded.
func (a *adapter) otherServers(ctx context.Context) (int, error) {
	n, err := a.ServerCount(ctx)
	if err != nil {
		return 0, err
	}
	return max(n-1, 0), nil
}

// track registers a request of this server waiting for answers, under its id in one of the adapter's maps, and
// returns the function that removes it.
func track[V any](a *adapter, requests map[string]V, id string, v V) (untrack func()) {
	a.mu.Lock()
	requests[id] = v
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		delete(requests, id)
		a.mu.Unlock()
	}
}

// FetchSockets implements socketio.Adapter: the local sockets, and those of every other server (REMOTE_FETCH).
func (a *adapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]socketio.RemoteSocket, error) {
	local, err := a.InMemoryAdapter.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	ctx, cancel := withRequestTimeout(ctx)
	defer cancel()
	others, err := a.otherServers(ctx)
	if err != nil {
		return nil, err
	}
	if others == 0 {
		return local, nil
	}
	id := randid.New()
	ch := make(chan *protocol.Message, others)
	defer track(a, a.pending, id, ch)()
	if err := a.publish(ctx, a.requests, protocol.AppendFetchSocketsRequest(nil, a.uid, id, opts.Rooms, opts.Except)); err != nil {
		return nil, err
	}
	out := local
	for got := 0; got < others; got++ {
		select {
		case m := <-ch:
			list, _ := m.Data.([]any)
			for _, v := range list {
				if fs, ok := protocol.FetchedSocketOf(v); ok {
					out = append(out, socketio.NewRemoteSocket(a.ns, fs.ID, goHandshake(fs.Handshake), fs.Rooms, fs.Data))
				}
			}
		case <-ctx.Done():
			return out, fmt.Errorf("%w: fetchSockets got %d of %d answers: %w", ErrTimeout, got, others, ctx.Err())
		}
	}
	return out, nil
}

// op returns the protocol operation of a broadcast or command.
func (a *adapter) op(kind protocol.OpKind, opts socketio.BroadcastOptions) *protocol.Op {
	return &protocol.Op{
		Kind:   kind,
		Nsp:    a.ns.Name(),
		Rooms:  opts.Rooms,
		Except: opts.Except,
		Flags:  protocol.Flags{Volatile: opts.Flags.Volatile, Compress: opts.Flags.Compress},
	}
}

func (a *adapter) publish(ctx context.Context, channel string, payload []byte) error {
	if err := a.rdb.Publish(ctx, channel, payload).Err(); err != nil {
		return fmt.Errorf("%w: publish on %s: %w", ErrAdapter, channel, err)
	}
	return nil
}

// Broadcast implements socketio.Adapter: the other servers get the packet on the broadcast channel (the room's
// own channel for a single room, as the official adapter publishes it), then the local sockets get it.
func (a *adapter) Broadcast(ctx context.Context, p *socketio.Packet, opts socketio.BroadcastOptions) error {
	if !opts.Flags.Local {
		op := a.op(protocol.OpBroadcast, opts)
		op.Event, op.Args = p.Event, p.Args
		payload, err := protocol.AppendClassicBroadcast(nil, a.uid, op, false)
		if err != nil {
			return err
		}
		if err := a.publish(ctx, protocol.BroadcastChannel(a.cfg.Prefix, a.ns.Name(), opts.Rooms), payload); err != nil {
			return err
		}
	}
	return a.InMemoryAdapter.Broadcast(ctx, p, opts)
}

// request publishes a command to the other servers unless it is local.
func (a *adapter) request(ctx context.Context, op *protocol.Op, local bool) error {
	if local {
		return nil
	}
	payload, err := protocol.AppendClassicRequest(nil, a.uid, op)
	if err != nil {
		return err
	}
	return a.publish(ctx, a.requests, payload)
}

// AddSockets implements socketio.Adapter.
func (a *adapter) AddSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	op := a.op(protocol.OpSocketsJoin, opts)
	op.JoinRooms = rooms
	if err := a.request(ctx, op, opts.Flags.Local); err != nil {
		return err
	}
	return a.InMemoryAdapter.AddSockets(ctx, opts, rooms)
}

// DelSockets implements socketio.Adapter.
func (a *adapter) DelSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	op := a.op(protocol.OpSocketsLeave, opts)
	op.JoinRooms = rooms
	if err := a.request(ctx, op, opts.Flags.Local); err != nil {
		return err
	}
	return a.InMemoryAdapter.DelSockets(ctx, opts, rooms)
}

// DisconnectSockets implements socketio.Adapter.
func (a *adapter) DisconnectSockets(ctx context.Context, opts socketio.BroadcastOptions, close bool) error {
	op := a.op(protocol.OpDisconnectSockets, opts)
	op.Close = close
	if err := a.request(ctx, op, opts.Flags.Local); err != nil {
		return err
	}
	return a.InMemoryAdapter.DisconnectSockets(ctx, opts, close)
}

// ServerSideEmit implements socketio.Adapter: the other servers' namespaces get the event.
func (a *adapter) ServerSideEmit(ctx context.Context, event string, args []any) error {
	if err := protocol.ValidateServerEvent(event); err != nil {
		return err
	}
	op := &protocol.Op{Kind: protocol.OpServerSideEmit, Nsp: a.ns.Name(), Event: event, Args: args}
	return a.request(ctx, op, false)
}

// ServerSideEmitWithAck implements socketio.Adapter: a SERVER_SIDE_EMIT request with a request id, answered by
// every other server (PUBSUB NUMSUB of the request channel, minus this one) on the response channel, as the
// official adapter's serverSideEmitWithAck does. A ctx without a deadline is given 5 s, the official adapter's
// requestsTimeout; when it ends first, the error wraps socketio.ErrAckTimeout, ErrTimeout and ctx.Err().
func (a *adapter) ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([]socketio.Args, error) {
	if err := protocol.ValidateServerEvent(event); err != nil {
		return nil, err
	}
	id := randid.New()
	op := &protocol.Op{Kind: protocol.OpServerSideEmit, Nsp: a.ns.Name(), Event: event, Args: args}
	body, err := protocol.AppendServerSideEmitWithAckRequest(nil, a.uid, id, op)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withRequestTimeout(ctx)
	defer cancel()
	others, err := a.otherServers(ctx)
	if err != nil || others == 0 {
		return nil, err
	}
	ch := make(chan socketio.Args, others)
	defer track(a, a.sseReqs, id, ch)()
	if err := a.publish(ctx, a.requests, body); err != nil {
		return nil, err
	}
	out := make([]socketio.Args, 0, others)
	for len(out) < others {
		select {
		case r := <-ch:
			out = append(out, r)
		case <-ctx.Done():
			// Answers that came with the end are taken too.
		drain:
			for len(out) < others {
				select {
				case r := <-ch:
					out = append(out, r)
				default:
					break drain
				}
			}
			if len(out) == others {
				return out, nil
			}
			return out, fmt.Errorf("%w: %w: serverSideEmit %q got %d of %d answers: %w",
				socketio.ErrAckTimeout, ErrTimeout, event, len(out), others, ctx.Err())
		}
	}
	return out, nil
}

// ServerCount implements socketio.Adapter: the subscribers of the request channel, as the official adapter
// counts them (PUBSUB NUMSUB).
func (a *adapter) ServerCount(ctx context.Context) (int, error) {
	res, err := a.rdb.PubSubNumSub(ctx, a.requests).Result()
	if err != nil {
		return 0, fmt.Errorf("%w: PUBSUB NUMSUB: %w", ErrAdapter, err)
	}
	return int(res[a.requests]), nil
}

// ErrNotRedisAdapter is returned by WaitReady for a namespace whose adapter is not this package's.
var ErrNotRedisAdapter = errors.New("redisadapter: the namespace's adapter is not a Redis adapter")

// WaitReady waits until Redis has confirmed the subscriptions of the namespace's adapter (they are made in the
// background, retried until Redis answers), or until ctx ends.
func WaitReady(ctx context.Context, ns *socketio.Namespace) error {
	a, ok := ns.Adapter().(*adapter)
	if !ok {
		return ErrNotRedisAdapter
	}
	select {
	case <-a.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close implements socketio.Adapter: it unsubscribes and waits for the adapter's goroutine.
func (a *adapter) Close() error {
	a.cancel()
	<-a.done
	a.answers.Wait()
	return nil
}
