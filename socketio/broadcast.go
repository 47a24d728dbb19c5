package socketio

import (
	"context"
	"slices"

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
