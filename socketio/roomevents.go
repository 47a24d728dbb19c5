package socketio

import (
	"sync"
	"sync/atomic"
)

// RoomEventKind says what happened to a room of a namespace.
type RoomEventKind uint8

// The room events, as the reference adapter emits them ("create-room", "delete-room", "join-room", "leave-room").
const (
	// RoomCreated: the room got its first local socket (a socket's own room included).
	RoomCreated RoomEventKind = iota + 1
	// RoomDeleted: the room lost its last local socket.
	RoomDeleted
	// RoomJoined: a local socket joined the room (it was not in it).
	RoomJoined
	// RoomLeft: a local socket left the room (it was in it), by Leave or by disconnecting.
	RoomLeft
)

var roomEventNames = [...]string{"", "create-room", "delete-room", "join-room", "leave-room"}

// String returns the name the reference adapter gives the event, such as "join-room".
func (k RoomEventKind) String() string {
	if int(k) < len(roomEventNames) && k > 0 {
		return roomEventNames[k]
	}
	return "unknown"
}

// RoomEvent is a change of the local rooms of a namespace. SocketID is the socket that joined or left (RoomJoined,
// RoomLeft); empty for RoomCreated and RoomDeleted.
type RoomEvent struct {
	Kind     RoomEventKind
	Room     string
	SocketID string
}

// RoomEventHandler receives the room events of a namespace; see Namespace.OnRoomEvent.
type RoomEventHandler func(ns *Namespace, e RoomEvent)

// OnRoomEvent adds a handler of the changes of the namespace's local rooms, the Go form of the reference
// adapter's "create-room", "delete-room", "join-room" and "leave-room" events: for a socket joining a room it has
// no socket yet, RoomCreated then RoomJoined; for the last socket leaving it, RoomLeft then RoomDeleted. Only
// changes are reported: joining a room the socket is in, or leaving one it is not in, reports nothing. A socket's
// own room is a room like the others: it is created when the socket connects and deleted when it disconnects.
// On a parent namespace (Server.OfFunc), h hears the rooms of every child namespace, passed as ns.
//
// h runs synchronously on the goroutine that changed the rooms (Join, Leave, a disconnection, a cluster command),
// after the namespace's room lock is released, and the handlers of one namespace run one change at a time, in the
// order of the changes. So h must not block (queue what takes time, such as I/O), and must not make a socket of
// the same namespace join or leave a room itself: that deadlocks. It may read rooms (Socket.Rooms) and emit.
// Without a handler, the rooms cost nothing more. Safe for concurrent use.
func (ns *Namespace) OnRoomEvent(h RoomEventHandler) {
	ns.roomEvents.add(h)
}

// roomEvents are the room event handlers of a namespace. Adding one is rare, calling them is the rule: the slice
// is replaced, never modified, and read without a lock.
type roomEvents struct {
	hs     atomic.Pointer[[]RoomEventHandler]
	parent *roomEvents // a dynamic namespace's parent's handlers, which hear it too
	// order makes one namespace's handlers see one change at a time, in the order of the changes: it is taken
	// while the room lock is still held and released once the handlers have run.
	order sync.Mutex
	mu    sync.Mutex // serializes add
}

func (e *roomEvents) add(h RoomEventHandler) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var hs []RoomEventHandler
	if p := e.hs.Load(); p != nil {
		hs = append(hs, *p...)
	}
	hs = append(hs, h)
	e.hs.Store(&hs)
}

// listening reports whether a handler would hear a change.
func (e *roomEvents) listening() bool {
	if e == nil {
		return false
	}
	return e.hs.Load() != nil || (e.parent != nil && e.parent.hs.Load() != nil)
}

// run calls the handlers for each event; order is held, and released here.
func (e *roomEvents) run(ns *Namespace, events []RoomEvent) {
	defer e.order.Unlock()
	var own, inherited []RoomEventHandler
	if p := e.hs.Load(); p != nil {
		own = *p
	}
	if e.parent != nil {
		if p := e.parent.hs.Load(); p != nil {
			inherited = *p
		}
	}
	for _, ev := range events {
		for _, h := range own {
			h(ns, ev)
		}
		for _, h := range inherited {
			h(ns, ev)
		}
	}
}
