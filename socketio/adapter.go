package socketio

import (
	"context"
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
	})
	return p.msgs, p.err
}

// InMemoryAdapter is the default Adapter: rooms in memory, broadcasts to the sockets of this server. It is safe
// for concurrent use.
type InMemoryAdapter struct {
	ns *Namespace

	mu    sync.RWMutex
	rooms map[string]map[string]struct{} // room -> socket ids
	sids  map[string]map[string]struct{} // socket id -> rooms
}

// NewInMemoryAdapter is the default AdapterFactory.
func NewInMemoryAdapter(ns *Namespace) Adapter {
	return &InMemoryAdapter{
		ns:    ns,
		rooms: make(map[string]map[string]struct{}),
		sids:  make(map[string]map[string]struct{}),
	}
}

// AddAll implements Adapter.
func (a *InMemoryAdapter) AddAll(id string, rooms []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mine := a.sids[id]
	if mine == nil {
		mine = make(map[string]struct{}, len(rooms))
		a.sids[id] = mine
	}
	for _, r := range rooms {
		mine[r] = struct{}{}
		members := a.rooms[r]
		if members == nil {
			members = make(map[string]struct{})
			a.rooms[r] = members
		}
		members[id] = struct{}{}
	}
}

// Del implements Adapter.
func (a *InMemoryAdapter) Del(id, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delLocked(id, room)
}

func (a *InMemoryAdapter) delLocked(id, room string) {
	if mine := a.sids[id]; mine != nil {
		delete(mine, room)
	}
	if members := a.rooms[room]; members != nil {
		delete(members, id)
		if len(members) == 0 {
			delete(a.rooms, room)
		}
	}
}

// DelAll implements Adapter.
func (a *InMemoryAdapter) DelAll(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for r := range a.sids[id] {
		a.delLocked(id, r)
	}
	delete(a.sids, id)
}

// SocketRooms implements Adapter.
func (a *InMemoryAdapter) SocketRooms(id string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.sids[id]))
	for r := range a.sids[id] {
		out = append(out, r)
	}
	return out
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
			if _, ok := a.rooms[r][id]; ok {
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
		for id := range a.rooms[r] {
			if _, dup := seen[id]; dup || excluded(id) {
				continue
			}
			seen[id] = struct{}{}
			ids = append(ids, id)
		}
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

// ServerCount implements Adapter.
func (a *InMemoryAdapter) ServerCount(ctx context.Context) (int, error) { return 1, nil }

// Close implements Adapter.
func (a *InMemoryAdapter) Close() error { return nil }
