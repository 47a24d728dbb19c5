package socketio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sioredis/sioredis/internal/randid"
	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/protocol"
)

// BroadcastOperator selects sockets of a namespace (on every server of the cluster) to emit to or to act on.
// It is immutable: To, Except and the flag methods return a new operator. Safe for concurrent use.
type BroadcastOperator struct {
	ns   *Namespace
	opts selection
}

// selection is what a BroadcastOperator selects, and its flags.
type selection struct {
	rooms    []string // the sockets in at least one of them; all sockets when empty
	except   []string // minus the sockets in any of these (a socket id is a room holding that socket)
	volatile bool
	local    bool // this server only
	compress protocol.Compress
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	c.opts.rooms = slices.Clone(b.opts.rooms)
	c.opts.except = slices.Clone(b.opts.except)
	return &c
}

// message returns the cluster message of the operator's selection.
func (b *BroadcastOperator) message(t ClusterMessageType) *ClusterMessage {
	return &ClusterMessage{Type: t, Rooms: b.opts.rooms, Except: b.opts.except, Volatile: b.opts.volatile, Compress: b.opts.compress}
}

// remote reports whether the operation goes to the other servers of ns's cluster too.
func (b *BroadcastOperator) remote(ns *Namespace) bool { return !b.opts.local && ns.link != nil }

// To adds target rooms: the sockets in any of them are reached.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	for _, r := range rooms {
		if !slices.Contains(c.opts.rooms, r) {
			c.opts.rooms = append(c.opts.rooms, r)
		}
	}
	return c
}

// In is To.
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except excludes the sockets in any of rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.opts.except = append(c.opts.except, rooms...)
	return c
}

// Volatile lets the event be dropped for clients not ready to receive it.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.opts.volatile = true
	return c
}

// Local limits the operation to the sockets of this server.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := b.clone()
	c.opts.local = true
	return c
}

// Compress sets the compress flag, which the Cluster forwards; this server does not compress WebSocket messages.
func (b *BroadcastOperator) Compress(compress bool) *BroadcastOperator {
	c := b.clone()
	c.opts.compress = protocol.CompressFalse
	if compress {
		c.opts.compress = protocol.CompressTrue
	}
	return c
}

// Emit sends an event to the selected sockets: to the other servers first (unless Local), then to the local
// sockets. The arguments are encoded once for all local sockets. The local sockets get the event whether or not
// the Cluster could send it (Redis down or restarting), as with Node's adapters; an error of the Cluster is
// returned after the local delivery, wrapping the transport's error.
func (b *BroadcastOperator) Emit(ctx context.Context, event string, args ...any) error {
	if err := siopacket.ValidateEvent(event); err != nil {
		return err
	}
	targets := b.ns.targets()
	packets := make([]*eventPacket, len(targets))
	for i, ns := range targets {
		packets[i] = newEventPacket(ns.srv.parser, ns.name, event, args)
		if _, err := packets[i].messages(); err != nil {
			return err // nothing sent: an argument cannot be encoded
		}
	}
	var errs []error
	for i, ns := range targets {
		m := b.message(ClusterBroadcast)
		m.Event, m.Args = event, args
		if err := ns.broadcast(ctx, m, packets[i], !b.remote(ns)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EmitWithAck sends an event to the selected sockets, each with an acknowledgement id of its own, and collects
// their acknowledgements: the Go form of the reference server's io.timeout(ms).emitWithAck(event, ...args). It
// returns once every socket reached (on every server of the cluster, unless Local) has answered, with one Args per
// answer in the order they arrived, or when ctx ends: the error then wraps ErrAckTimeout and ctx.Err(), and the
// answers received so far are returned with it. Give ctx a deadline: a socket that never answers, that
// disconnects, or whose Volatile packet was dropped by a server counting it anyway, is waited for until ctx ends.
// A broadcast reaching no socket returns at once, with no answers. The arguments are encoded once for all sockets
// (only the ack id differs); encoding errors are those of Emit. When the Cluster fails (Redis down), the local
// sockets still get the event and their answers are collected; the Cluster's error is returned with them.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if err := siopacket.ValidateEvent(event); err != nil {
		return nil, err
	}
	targets := b.ns.targets()
	packets := make([]*eventPacket, len(targets))
	for i, ns := range targets {
		packets[i] = newEventPacket(ns.srv.parser, ns.name, event, args)
		if _, err := packets[i].messages(); err != nil {
			return nil, err
		}
	}
	// The answers stop being collected, and the acknowledgements still expected are forgotten, once this returns.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &ackCollector{done: make(chan struct{})}
	servers := 0
	counts := make([]int, len(targets))
	var clusterErrs []error // the cluster's errors: the local sockets get the event all the same
	for i, ns := range targets {
		counts[i] = 1
		if b.remote(ns) {
			n, err := ns.ServerCount(ctx)
			if err != nil {
				clusterErrs = append(clusterErrs, err)
				n = 1
			}
			counts[i] = n
		}
		servers += counts[i]
	}
	c.expect(servers)
	for i, ns := range targets {
		if counts[i] > 1 {
			m := b.message(ClusterBroadcast)
			m.Event, m.Args, m.RequestID = event, args, randid.New()
			if d, ok := ctx.Deadline(); ok {
				m.Timeout = max(time.Until(d), time.Millisecond)
			}
			context.AfterFunc(ctx, ns.track(m.RequestID, func(r *ClusterMessage) {
				switch r.Type {
				case ClusterBroadcastClientCount:
					c.clientCount(r.ClientCount)
				case ClusterBroadcastAck:
					if a, err := argsOf(r.Args...); err == nil {
						c.ack(a)
					}
				}
			}))
			if err := ns.tell(ctx, m); err != nil {
				// The other servers will not answer; this server's sockets still get the event.
				clusterErrs = append(clusterErrs, err)
				c.forget(counts[i] - 1)
			}
		}
		n, err := ns.deliverWithAck(ctx, packets[i], b.opts.rooms, b.opts.except, b.opts.volatile, c.ack)
		c.clientCount(n)
		if err != nil {
			return c.finish(), fmt.Errorf("socketio: broadcast with acknowledgements: %w", errors.Join(append(clusterErrs, err)...))
		}
	}
	var clusterErr error
	if len(clusterErrs) > 0 {
		clusterErr = fmt.Errorf("socketio: broadcast with acknowledgements: %w", errors.Join(clusterErrs...))
	}
	select {
	case <-c.done:
		return c.finish(), clusterErr
	case <-ctx.Done():
		c.mu.Lock()
		complete := c.closed
		got, want, counted := len(c.responses), c.clients, c.counted
		c.mu.Unlock()
		responses := c.finish()
		if complete { // the last answer and the end of ctx came together
			return responses, clusterErr
		}
		if m := b.ns.srv.cfg.Metrics; m != nil {
			m.AckTimedOut()
		}
		return responses, errors.Join(fmt.Errorf("%w: %d acknowledgements of %d clients (%d of %d servers counted): %w",
			ErrAckTimeout, got, want, counted, servers, ctx.Err()), clusterErr)
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

// forget stops expecting the counts of n servers (a request they never got).
func (c *ackCollector) forget(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.servers -= n
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

// FetchSockets returns the selected sockets: the local ones, then those of the other servers (unless Local). When
// ctx (given Config.RequestTimeout if it has no deadline) ends before every other server has answered, the
// sockets found so far are returned with an error wrapping ErrRequestTimeout.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	var out []RemoteSocket
	for _, ns := range b.ns.targets() {
		for _, s := range ns.selected(b.opts.rooms, b.opts.except) {
			out = append(out, s.info().remote(ns))
		}
		if !b.remote(ns) {
			continue
		}
		answers, err := ns.ask(ctx, b.message(ClusterFetchSockets), ClusterFetchSocketsResponse)
		for _, r := range answers {
			for _, si := range r.Sockets {
				out = append(out, si.remote(ns))
			}
		}
		if err != nil {
			return out, fmt.Errorf("socketio: fetchSockets: %w", err)
		}
	}
	return out, nil
}

// command applies a command to the selected local sockets after sending it to the other servers (unless Local).
// The local sockets get it whether or not the Cluster could send it; the Cluster's error is returned after.
func (b *BroadcastOperator) command(ctx context.Context, m *ClusterMessage, apply func(*Socket)) error {
	var errs []error
	for _, ns := range b.ns.targets() {
		if b.remote(ns) {
			if err := ns.tell(ctx, m); err != nil {
				errs = append(errs, err)
			}
		}
		for _, s := range ns.selected(b.opts.rooms, b.opts.except) {
			apply(s)
		}
	}
	return errors.Join(errs...)
}

// SocketsJoin makes the selected sockets join rooms.
func (b *BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	m := b.message(ClusterSocketsJoin)
	m.TargetRooms = rooms
	return b.command(ctx, m, func(s *Socket) { s.Join(rooms...) })
}

// SocketsLeave makes the selected sockets leave rooms.
func (b *BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	m := b.message(ClusterSocketsLeave)
	m.TargetRooms = rooms
	return b.command(ctx, m, func(s *Socket) { s.Leave(rooms...) })
}

// DisconnectSockets disconnects the selected sockets; close also closes their connections.
func (b *BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) error {
	m := b.message(ClusterDisconnectSockets)
	m.Close = close
	return b.command(ctx, m, func(s *Socket) { s.Disconnect(close) })
}

// RemoteSocket describes a socket found by FetchSockets, on this server or another one of the cluster. Its
// methods act on it through the cluster. It is a value, safe for concurrent use.
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

func (si SocketInfo) remote(ns *Namespace) RemoteSocket {
	return RemoteSocket{ID: si.ID, Handshake: si.Handshake, Rooms: si.Rooms, Data: si.Data, ns: ns}
}

func validateServerEvent(event string) error { return siopacket.ValidateServerEvent(event) }
