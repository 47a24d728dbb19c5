package socketio

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/protocol"
)

// Adapter keeps the rooms of one namespace and carries broadcasts and cluster commands to its sockets. The
// default, NewInMemoryAdapter, serves one server; a cluster adapter (over Redis, say) also forwards broadcasts
// and commands to the other servers and answers theirs, calling the same exported methods of Namespace and
// Socket that the in-memory adapter uses.
//
// # Contract
//
// An Adapter must be safe for concurrent use. AddAll, Del, DelAll and SocketRooms are about local sockets, are
// called on every join and leave, and must not block on I/O. The methods taking a context may do I/O (a cluster
// round trip) and must return when the context ends.
//
// Ordering: the broadcasts made by one goroutine reach each local socket in the order they were made, and after
// the joins and leaves that goroutine made before them (Broadcast resolves its target sockets synchronously).
//
// Broadcasts with acknowledgements (BroadcastWithAck, behind BroadcastOperator.EmitWithAck) follow the model of
// the reference server's adapter.broadcastWithAck, so that a cluster adapter can carry them between servers (as
// @socket.io/redis-adapter does with its BROADCAST request carrying a requestId, answered by
// BROADCAST_CLIENT_COUNT and BROADCAST_ACK responses):
//
//   - Every server of the cluster reached (this one only with opts.Flags.Local) calls clientCount exactly once,
//     with the number of its sockets the packet was sent to (0 included). The caller expects as many calls as
//     Adapter.ServerCount reports (1 with opts.Flags.Local).
//   - ack is called once per client acknowledgement, with its arguments (a cluster adapter relaying another
//     server's responses may carry only the first argument, as @socket.io/redis-adapter does). A socket that does
//     not answer, or disconnects, gets no call: the caller stops waiting when its context ends.
//   - For one server, clientCount may come before or after the acks of that server's clients; the caller only
//     compares totals.
//   - Both callbacks may be called from any goroutine, concurrently, during BroadcastWithAck and after it
//     returns, until ctx ends; they must not block (they only record). Once ctx has ended the adapter should
//     stop calling them and release what it holds for the operation; a call racing with the end is ignored.
//   - Each socket's packet has an ack id of that socket's own (Socket.SendWithAck): unlike the reference
//     server, which shares one id among the sockets of a broadcast, ids never collide with those of
//     Socket.EmitWithAck. A cluster adapter delivering a remote request to its local sockets does the same.
//   - The ordering guarantee above holds for BroadcastWithAck too: it resolves and queues its local packets
//     before returning, as Broadcast does.
//
// Re-entrancy: an Adapter must not hold its locks while it calls Socket or Namespace methods, since those call
// back into the Adapter (Socket.Join calls AddAll, for example).
type Adapter interface {
	// AddAll adds the local socket id to rooms.
	AddAll(id string, rooms []string)
	// Del removes the local socket id from room.
	Del(id, room string)
	// DelAll removes the local socket id from all its rooms.
	DelAll(id string)
	// SocketRooms returns the rooms of the local socket id.
	SocketRooms(id string) []string
	// Broadcast delivers p to every socket matching opts, on every server unless opts.Flags.Local.
	Broadcast(ctx context.Context, p *Packet, opts BroadcastOptions) error
	// BroadcastWithAck delivers p to every socket matching opts, on every server unless opts.Flags.Local, each
	// with an acknowledgement id, then reports through clientCount and ack as the Broadcasts with
	// acknowledgements section of the Adapter contract says. It returns once the packets are sent (or the
	// request published); an error means clientCount may never be called for some servers.
	BroadcastWithAck(ctx context.Context, p *Packet, opts BroadcastOptions, clientCount func(int), ack func(Args)) error
	// FetchSockets returns the sockets matching opts, on every server unless opts.Flags.Local.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]RemoteSocket, error)
	// AddSockets makes the sockets matching opts join rooms.
	AddSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DelSockets makes the sockets matching opts leave rooms.
	DelSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the sockets matching opts; close also closes their underlying connection.
	DisconnectSockets(ctx context.Context, opts BroadcastOptions, close bool) error
	// ServerSideEmit sends an event to the other servers of the cluster (Namespace.OnServerSideEmit there).
	ServerSideEmit(ctx context.Context, event string, args []any) error
	// ServerSideEmitWithAck sends an event to the other servers of the cluster, each expected to answer once
	// (Namespace.HandleServerSideEmitWithAck there), and returns their answers in the order they arrived, once
	// as many have come as ServerCount counts other servers: at once, with none, when there is no other server.
	// When ctx ends first, it returns the answers received so far and an error wrapping ErrAckTimeout and
	// ctx.Err(); later answers are dropped. The event name is validated by the caller.
	ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([]Args, error)
	// ServerCount returns the number of servers in the cluster, this one included.
	ServerCount(ctx context.Context) (int, error)
	// Close releases the adapter's resources; called once when the server closes.
	Close() error
}

// AdapterFactory creates the adapter of a namespace, when the namespace is created.
type AdapterFactory func(ns *Namespace) Adapter

// BroadcastOptions select the sockets a broadcast or command reaches.
type BroadcastOptions struct {
	// Rooms: the sockets in at least one of them; all sockets when empty.
	Rooms []string
	// Except: minus the sockets in any of these rooms (a socket id is a room holding that socket).
	Except []string
	Flags  BroadcastFlags
}

// BroadcastFlags modify a broadcast.
type BroadcastFlags struct {
	// Volatile packets may be dropped for clients that are not ready to receive them.
	Volatile bool
	// Local limits the operation to this server.
	Local bool
	// Compress is the compress flag as set by BroadcastOperator.Compress (unset by default). This server does
	// not compress; cluster adapters forward the flag.
	Compress protocol.Compress
}

// Packet is an event to deliver: the unit a Broadcast carries. Its fields must not change once it is passed to an
// Adapter. Its encoding is computed once and shared by every socket it reaches. Safe for concurrent use.
type Packet struct {
	Nsp   string
	Event string
	Args  []any

	once sync.Once
	msgs []engineio.Message
	err  error
}

// NewPacket returns the packet of an event; it checks nothing (Validate does).
func NewPacket(nsp, event string, args ...any) *Packet {
	return &Packet{Nsp: nsp, Event: event, Args: args}
}

// Validate checks the event name.
func (p *Packet) Validate() error { return protocol.ValidateEvent(p.Event) }

// Messages returns the Engine.IO messages of the packet: the EVENT (or BINARY_EVENT) and its attachments, with
// the arguments encoded as Socket.Emit encodes them. It checks the event name too.
func (p *Packet) Messages() ([]engineio.Message, error) {
	p.once.Do(func() {
		p.msgs, p.err = encodeEvent(p.Nsp, -1, p.Event, p.Args)
		if p.err == nil {
			engineio.PrepareMessages(p.msgs) // the same WebSocket frames for every recipient
		}
	})
	return p.msgs, p.err
}

// withAckID returns msgs, the messages of an EVENT packet of namespace nsp without an ack id (from
// Packet.Messages), with the ack id set; the payload and the attachments are shared, not copied.
func withAckID(msgs []engineio.Message, nsp string, id int64) []engineio.Message {
	attachments := len(msgs) - 1
	var scratch [64]byte
	skip := len(appendHeader(scratch[:0], PacketEvent, nsp, -1, attachments))
	payload := msgs[0].Data[skip:]
	text := appendHeader(make([]byte, 0, skip+20+len(payload)), PacketEvent, nsp, id, attachments)
	out := make([]engineio.Message, len(msgs))
	copy(out, msgs)
	out[0] = engineio.Message{Data: append(text, payload...)}
	return out
}

// InMemoryAdapter is the default Adapter: rooms in memory, broadcasts to the sockets of this server. It is safe
// for concurrent use.
type InMemoryAdapter struct {
	ns *Namespace

	mu    sync.RWMutex
	rooms map[string]members  // room -> socket ids
	sids  map[string][]string // socket id -> rooms
}

// NewInMemoryAdapter is the default AdapterFactory.
func NewInMemoryAdapter(ns *Namespace) Adapter {
	return &InMemoryAdapter{
		ns:    ns,
		rooms: make(map[string]members),
		sids:  make(map[string][]string),
	}
}

// members is the set of the socket ids in a room: one id inline (most rooms are a socket's own room), a map
// beyond one.
type members struct {
	one  string
	many map[string]struct{}
}

func (m *members) has(id string) bool {
	if m.many != nil {
		_, ok := m.many[id]
		return ok
	}
	return m.one == id && id != ""
}

func (m *members) add(id string) {
	switch {
	case m.many != nil:
		m.many[id] = struct{}{}
	case m.one == "" || m.one == id:
		m.one = id
	default:
		m.many = map[string]struct{}{m.one: {}, id: {}}
		m.one = ""
	}
}

func (m *members) del(id string) {
	if m.many == nil {
		if m.one == id {
			m.one = ""
		}
		return
	}
	delete(m.many, id)
	if len(m.many) == 1 {
		for last := range m.many {
			m.one = last
		}
		m.many = nil
	}
}

func (m *members) empty() bool { return m.many == nil && m.one == "" }

// each calls fn for each id.
func (m *members) each(fn func(id string)) {
	if m.many == nil {
		if m.one != "" {
			fn(m.one)
		}
		return
	}
	for id := range m.many {
		fn(id)
	}
}

// AddAll implements Adapter.
func (a *InMemoryAdapter) AddAll(id string, rooms []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mine := a.sids[id]
	for _, r := range rooms {
		if !slices.Contains(mine, r) {
			mine = append(mine, r)
		}
		m := a.rooms[r]
		m.add(id)
		a.rooms[r] = m
	}
	a.sids[id] = mine
}

// Del implements Adapter.
func (a *InMemoryAdapter) Del(id, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if mine, ok := a.sids[id]; ok {
		if i := slices.Index(mine, room); i >= 0 {
			a.sids[id] = slices.Delete(mine, i, i+1)
		}
	}
	a.delMemberLocked(id, room)
}

func (a *InMemoryAdapter) delMemberLocked(id, room string) {
	if m, ok := a.rooms[room]; ok {
		m.del(id)
		if m.empty() {
			delete(a.rooms, room)
		} else {
			a.rooms[room] = m
		}
	}
}

// DelAll implements Adapter.
func (a *InMemoryAdapter) DelAll(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.sids[id] {
		a.delMemberLocked(id, r)
	}
	delete(a.sids, id)
}

// SocketRooms implements Adapter.
func (a *InMemoryAdapter) SocketRooms(id string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return slices.Clone(a.sids[id])
}

// Rooms returns the rooms that have at least one local socket.
func (a *InMemoryAdapter) Rooms() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.rooms))
	for r := range a.rooms {
		out = append(out, r)
	}
	return out
}

// match returns the ids of the local sockets selected by opts.
func (a *InMemoryAdapter) match(opts BroadcastOptions) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	excluded := func(id string) bool {
		for _, r := range opts.Except {
			if m := a.rooms[r]; m.has(id) {
				return true
			}
		}
		return false
	}
	var ids []string
	if len(opts.Rooms) == 0 {
		ids = make([]string, 0, len(a.sids))
		for id := range a.sids {
			if !excluded(id) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	seen := make(map[string]struct{})
	for _, r := range opts.Rooms {
		m := a.rooms[r]
		m.each(func(id string) {
			if _, dup := seen[id]; dup || excluded(id) {
				return
			}
			seen[id] = struct{}{}
			ids = append(ids, id)
		})
	}
	return ids
}

// Broadcast implements Adapter.
func (a *InMemoryAdapter) Broadcast(ctx context.Context, p *Packet, opts BroadcastOptions) error {
	msgs, err := p.Messages()
	if err != nil {
		return err
	}
	for _, id := range a.match(opts) {
		if s := a.ns.Socket(id); s != nil {
			s.SendMessages(opts.Flags.Volatile, msgs...)
		}
	}
	return nil
}

// BroadcastWithAck implements Adapter: each local socket matching opts gets p with an ack id of its own
// (Socket.SendWithAck), then clientCount is called once with the number of sockets the packet was queued for.
// Sockets that disconnected meanwhile, or whose volatile packet was dropped, are not counted, since they will
// not answer (the reference server counts them and waits for them until its timeout).
func (a *InMemoryAdapter) BroadcastWithAck(ctx context.Context, p *Packet, opts BroadcastOptions, clientCount func(int), ack func(Args)) error {
	if _, err := p.Messages(); err != nil {
		return err
	}
	n := 0
	for _, id := range a.match(opts) {
		s := a.ns.Socket(id)
		if s == nil {
			continue
		}
		switch err := s.SendWithAck(ctx, p, opts.Flags.Volatile, ack); {
		case err == nil:
			n++
		case errors.Is(err, ErrDisconnected), errors.Is(err, engineio.ErrDropped):
		default:
			return err
		}
	}
	clientCount(n)
	return nil
}

// FetchSockets implements Adapter.
func (a *InMemoryAdapter) FetchSockets(ctx context.Context, opts BroadcastOptions) ([]RemoteSocket, error) {
	ids := a.match(opts)
	out := make([]RemoteSocket, 0, len(ids))
	for _, id := range ids {
		if s := a.ns.Socket(id); s != nil {
			out = append(out, s.remote())
		}
	}
	return out, nil
}

// AddSockets implements Adapter.
func (a *InMemoryAdapter) AddSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error {
	for _, id := range a.match(opts) {
		if s := a.ns.Socket(id); s != nil {
			s.Join(rooms...)
		}
	}
	return nil
}

// DelSockets implements Adapter.
func (a *InMemoryAdapter) DelSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error {
	for _, id := range a.match(opts) {
		if s := a.ns.Socket(id); s != nil {
			s.Leave(rooms...)
		}
	}
	return nil
}

// DisconnectSockets implements Adapter.
func (a *InMemoryAdapter) DisconnectSockets(ctx context.Context, opts BroadcastOptions, close bool) error {
	for _, id := range a.match(opts) {
		if s := a.ns.Socket(id); s != nil {
			s.Disconnect(close)
		}
	}
	return nil
}

// ServerSideEmit implements Adapter: with one server there is nobody to tell.
func (a *InMemoryAdapter) ServerSideEmit(ctx context.Context, event string, args []any) error {
	return nil
}

// ServerSideEmitWithAck implements Adapter: with one server there is nobody to answer, and it returns at once.
func (a *InMemoryAdapter) ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([]Args, error) {
	return nil, nil
}

// ServerCount implements Adapter.
func (a *InMemoryAdapter) ServerCount(ctx context.Context) (int, error) { return 1, nil }

// Close implements Adapter.
func (a *InMemoryAdapter) Close() error { return nil }
