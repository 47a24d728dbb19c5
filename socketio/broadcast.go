package socketio

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/sioredis/sioredis/protocol"
)

// BroadcastOperator selects sockets of a namespace (on every server of the cluster) to emit to or to act on.
// It is immutable: To, Except and the flag methods return a new operator. Safe for concurrent use.
type BroadcastOperator struct {
	ns   *Namespace
	opts BroadcastOptions
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	c.opts.Rooms = slices.Clone(b.opts.Rooms)
	c.opts.Except = slices.Clone(b.opts.Except)
	return &c
}

// To adds target rooms: the sockets in any of them are reached.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	for _, r := range rooms {
		if !slices.Contains(c.opts.Rooms, r) {
			c.opts.Rooms = append(c.opts.Rooms, r)
		}
	}
	return c
}

// In is To.
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except excludes the sockets in any of rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.opts.Except = append(c.opts.Except, rooms...)
	return c
}

// Volatile lets the event be dropped for clients not ready to receive it.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Volatile = true
	return c
}

// Local limits the operation to the sockets of this server.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Local = true
	return c
}

// Compress sets the compress flag, which cluster adapters forward; this server does not compress WebSocket
// messages.
func (b *BroadcastOperator) Compress(compress bool) *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Compress = protocol.CompressFalse
	if compress {
		c.opts.Flags.Compress = protocol.CompressTrue
	}
	return c
}

// Options returns the selection and flags of the operator.
func (b *BroadcastOperator) Options() BroadcastOptions { return b.clone().opts }

// Emit sends an event to the selected sockets. The arguments are encoded once for all of them.
func (b *BroadcastOperator) Emit(ctx context.Context, event string, args ...any) error {
	if err := protocol.ValidateEvent(event); err != nil {
		return err
	}
	for _, ns := range b.ns.targets() {
		p := NewPacket(ns.name, event, args...)
		if _, err := p.Messages(); err != nil {
			return err
		}
		if err := ns.adapter.Broadcast(ctx, p, b.opts); err != nil {
			return err
		}
	}
	return nil
}

// EmitWithAck sends an event to the selected sockets, each with an acknowledgement id of its own, and collects
// their acknowledgements: the Go form of the reference server's io.timeout(ms).emitWithAck(event, ...args). It
// returns once every socket reached (on every server of the cluster, unless Local) has answered, with one Args per
// answer in the order they arrived, or when ctx ends: the error then wraps ErrAckTimeout and ctx.Err(), and the
// answers received so far are returned with it. Give ctx a deadline: a socket that never answers, that
// disconnects, or whose Volatile packet was dropped by a server counting it anyway, is waited for until ctx ends.
// A broadcast reaching no socket returns at once, with no answers. The arguments are encoded once for all sockets
// (only the ack id differs); encoding errors are those of Emit. Other errors (of the adapter) are returned with
// the answers received until then.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if err := protocol.ValidateEvent(event); err != nil {
		return nil, err
	}
	targets := b.ns.targets()
	packets := make([]*Packet, len(targets))
	for i, ns := range targets {
		packets[i] = NewPacket(ns.name, event, args...)
		if _, err := packets[i].Messages(); err != nil {
			return nil, err
		}
	}
	// The adapters stop reporting, and forget the acknowledgements still expected, once this returns.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &ackCollector{done: make(chan struct{})}
	servers := 0
	for _, ns := range targets {
		n := 1
		if !b.opts.Flags.Local {
			var err error
			if n, err = ns.adapter.ServerCount(ctx); err != nil {
				return nil, fmt.Errorf("socketio: broadcast with acknowledgements: server count: %w", err)
			}
		}
		servers += n
	}
	c.expect(servers)
	for i, ns := range targets {
		if err := ns.adapter.BroadcastWithAck(ctx, packets[i], b.opts, c.clientCount, c.ack); err != nil {
			return c.finish(), fmt.Errorf("socketio: broadcast with acknowledgements: %w", err)
		}
	}
	select {
	case <-c.done:
		return c.finish(), nil
	case <-ctx.Done():
		c.mu.Lock()
		complete := c.closed
		got, want, counted := len(c.responses), c.clients, c.counted
		c.mu.Unlock()
		responses := c.finish()
		if complete { // the last answer and the end of ctx came together
			return responses, nil
		}
		return responses, fmt.Errorf("%w: %d acknowledgements of %d clients (%d of %d servers counted): %w",
			ErrAckTimeout, got, want, counted, servers, ctx.Err())
	}
}

// ackCollector gathers the reports of the adapters for one EmitWithAck.
type ackCollector struct {
	done chan struct{} // closed when every server has counted and every counted client has answered

	mu        sync.Mutex
	servers   int // clientCount calls expected
	counted   int // clientCount calls received
	clients   int // their total
	responses []Args
	closed    bool // done is closed
	finished  bool // EmitWithAck has returned: late reports are ignored
}

func (c *ackCollector) expect(servers int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.servers = servers
	c.check()
}

func (c *ackCollector) clientCount(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return
	}
	c.counted++
	c.clients += n
	c.check()
}

func (c *ackCollector) ack(a Args) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return
	}
	c.responses = append(c.responses, a)
	c.check()
}

// check closes done when complete; c.mu is held.
func (c *ackCollector) check() {
	if !c.closed && c.counted >= c.servers && len(c.responses) >= c.clients {
		c.closed = true
		close(c.done)
	}
}

// finish stops the collection and returns the answers.
func (c *ackCollector) finish() []Args {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished = true
	return c.responses
}

// FetchSockets returns the selected sockets.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	var out []RemoteSocket
	for _, ns := range b.ns.targets() {
		ss, err := ns.adapter.FetchSockets(ctx, b.opts)
		if err != nil {
			return nil, err
		}
		out = append(out, ss...)
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join rooms.
func (b *BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	for _, ns := range b.ns.targets() {
		if err := ns.adapter.AddSockets(ctx, b.opts, rooms); err != nil {
			return err
		}
	}
	return nil
}

// SocketsLeave makes the selected sockets leave rooms.
func (b *BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	for _, ns := range b.ns.targets() {
		if err := ns.adapter.DelSockets(ctx, b.opts, rooms); err != nil {
			return err
		}
	}
	return nil
}

// DisconnectSockets disconnects the selected sockets; close also closes their connections.
func (b *BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) error {
	for _, ns := range b.ns.targets() {
		if err := ns.adapter.DisconnectSockets(ctx, b.opts, close); err != nil {
			return err
		}
	}
	return nil
}

// RemoteSocket describes a socket found by FetchSockets, on this server or another one of the cluster. Its
// methods act on it through the adapter. It is a value, safe for concurrent use.
type RemoteSocket struct {
	ID        string
	Handshake Handshake
	Rooms     []string
	Data      any

	ns *Namespace
}

// Emit sends an event to the socket.
func (r RemoteSocket) Emit(ctx context.Context, event string, args ...any) error {
	return r.ns.To(r.ID).Emit(ctx, event, args...)
}

// Join makes the socket join rooms.
func (r RemoteSocket) Join(ctx context.Context, rooms ...string) error {
	return r.ns.To(r.ID).SocketsJoin(ctx, rooms...)
}

// Leave makes the socket leave rooms.
func (r RemoteSocket) Leave(ctx context.Context, rooms ...string) error {
	return r.ns.To(r.ID).SocketsLeave(ctx, rooms...)
}

// Disconnect disconnects the socket; close also closes its connection.
func (r RemoteSocket) Disconnect(ctx context.Context, close bool) error {
	return r.ns.To(r.ID).DisconnectSockets(ctx, close)
}

// NewRemoteSocket describes a socket of another server, for cluster adapters answering FetchSockets.
func NewRemoteSocket(ns *Namespace, id string, handshake Handshake, rooms []string, data any) RemoteSocket {
	return RemoteSocket{ID: id, Handshake: handshake, Rooms: rooms, Data: data, ns: ns}
}

func validateServerEvent(event string) error { return protocol.ValidateServerEvent(event) }
