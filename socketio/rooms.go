package socketio

import (
	"slices"
	"sync"
)

// roomIndex is the rooms of one namespace's local sockets: which sockets each room holds, and which rooms each
// socket is in (its own id among them). Safe for concurrent use; it calls nothing while its lock is held.
//
// A socket's own room, joined first when it connects, is implicit: a flag of the socket (sockRooms.own), not an
// entry of rooms, which would cost every idle socket a map entry and a slice. A room's members are those of
// rooms plus, when the room is named after a socket in its own room, that socket. A socket that leaves its own
// room and joins it again after other rooms holds it explicitly, which keeps the order of Rooms as Node has it.
type roomIndex struct {
	observer RoomObserver // nil unless the namespace's ClusterLink is one
	ns       *Namespace
	events   *roomEvents // the namespace's OnRoomEvent handlers
	metrics  Metrics     // Config.Metrics, called under mu

	mu    sync.RWMutex
	rooms map[string]members   // room -> socket ids (implicit own rooms aside)
	sids  map[string]sockRooms // socket id -> rooms
}

// sockRooms is the rooms of one socket.
type sockRooms struct {
	own   bool     // in its own room, implicitly (first in Rooms)
	rooms []string // the other rooms, in join order
}

func newRoomIndex() *roomIndex {
	return &roomIndex{rooms: make(map[string]members), sids: make(map[string]sockRooms)}
}

// ownIn reports whether room is named after a socket that is in it implicitly (under mu).
func (a *roomIndex) ownIn(room string) bool { return a.sids[room].own }

// existsLocked reports whether room holds at least one socket (under mu).
func (a *roomIndex) existsLocked(room string) bool {
	_, ok := a.rooms[room]
	return ok || a.ownIn(room)
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

// add adds the socket id to rooms.
func (a *roomIndex) add(id string, rooms []string) {
	evs, listen := a.lock()
	mine := a.sids[id]
	for _, r := range rooms {
		if r == id && mine.own {
			continue
		}
		existed := a.existsLocked(r)
		if r == id && len(mine.rooms) == 0 {
			mine.own = true // implicit: no entry in rooms
			a.sids[id] = mine
			if listen {
				if !existed {
					evs = append(evs, RoomEvent{Kind: RoomCreated, Room: r})
				}
				evs = append(evs, RoomEvent{Kind: RoomJoined, Room: r, SocketID: id})
			}
			if !existed && a.observer != nil {
				a.observer.RoomCreated(r)
			}
			continue
		}
		if !slices.Contains(mine.rooms, r) {
			mine.rooms = append(mine.rooms, r)
		}
		m := a.rooms[r]
		if listen {
			if !existed {
				evs = append(evs, RoomEvent{Kind: RoomCreated, Room: r})
			}
			if !m.has(id) {
				evs = append(evs, RoomEvent{Kind: RoomJoined, Room: r, SocketID: id})
			}
		}
		m.add(id)
		a.rooms[r] = m
		if !existed && a.observer != nil {
			a.observer.RoomCreated(r)
		}
		if !existed && a.metrics != nil && r != id {
			a.metrics.RoomCreated()
		}
	}
	a.sids[id] = mine
	a.unlock(evs, listen)
}

// lock takes the room lock, after the order of the room event handlers when there are some (listen): the
// handlers run once the room lock is released, and may read the rooms.
func (a *roomIndex) lock() (evs []RoomEvent, listen bool) {
	if listen = a.events.listening(); listen {
		a.events.order.Lock()
	}
	a.mu.Lock()
	return nil, listen
}

// unlock releases the room lock, then reports evs to the room event handlers.
func (a *roomIndex) unlock(evs []RoomEvent, listen bool) {
	a.mu.Unlock()
	if listen {
		a.events.run(a.ns, evs)
	}
}

// del removes the socket id from room.
func (a *roomIndex) del(id, room string) {
	evs, listen := a.lock()
	if mine, ok := a.sids[id]; ok {
		if room == id && mine.own {
			mine.own = false
			a.sids[id] = mine
			evs = a.leftOwnLocked(id, evs, listen)
			a.unlock(evs, listen)
			return
		}
		if i := slices.Index(mine.rooms, room); i >= 0 {
			mine.rooms = slices.Delete(mine.rooms, i, i+1)
			a.sids[id] = mine
		}
	}
	evs = a.delMemberLocked(id, room, evs, listen)
	a.unlock(evs, listen)
}

// leftOwnLocked reports that the socket id has left its implicit own room (sockRooms.own is already false).
func (a *roomIndex) leftOwnLocked(id string, evs []RoomEvent, listen bool) []RoomEvent {
	if listen {
		evs = append(evs, RoomEvent{Kind: RoomLeft, Room: id, SocketID: id})
	}
	if _, ok := a.rooms[id]; !ok {
		if listen {
			evs = append(evs, RoomEvent{Kind: RoomDeleted, Room: id})
		}
		if a.observer != nil {
			a.observer.RoomDeleted(id)
		}
	}
	return evs
}

func (a *roomIndex) delMemberLocked(id, room string, evs []RoomEvent, listen bool) []RoomEvent {
	if m, ok := a.rooms[room]; ok {
		if listen && m.has(id) {
			evs = append(evs, RoomEvent{Kind: RoomLeft, Room: room, SocketID: id})
		}
		m.del(id)
		if m.empty() {
			delete(a.rooms, room)
			if a.ownIn(room) {
				return evs // the socket named room is still in it
			}
			if listen {
				evs = append(evs, RoomEvent{Kind: RoomDeleted, Room: room})
			}
			if a.observer != nil {
				a.observer.RoomDeleted(room)
			}
			if a.metrics != nil && room != id {
				a.metrics.RoomDeleted()
			}
		} else {
			a.rooms[room] = m
		}
	}
	return evs
}

// delAll removes the socket id from all its rooms.
func (a *roomIndex) delAll(id string) {
	evs, listen := a.lock()
	mine := a.sids[id]
	if mine.own {
		a.sids[id] = sockRooms{rooms: mine.rooms}
		evs = a.leftOwnLocked(id, evs, listen)
	}
	for _, r := range mine.rooms {
		evs = a.delMemberLocked(id, r, evs, listen)
	}
	delete(a.sids, id)
	a.unlock(evs, listen)
}

// socketRooms returns the rooms of the socket id.
func (a *roomIndex) socketRooms(id string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	mine, ok := a.sids[id]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(mine.rooms)+1)
	if mine.own {
		out = append(out, id)
	}
	return append(out, mine.rooms...)
}

// has reports whether room holds at least one socket.
func (a *roomIndex) has(room string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.existsLocked(room)
}

// all returns the rooms that have at least one socket.
func (a *roomIndex) all() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.rooms)+len(a.sids))
	for r := range a.rooms {
		out = append(out, r)
	}
	for id, mine := range a.sids {
		if _, dup := a.rooms[id]; mine.own && !dup {
			out = append(out, id)
		}
	}
	return out
}

// match returns the ids of the sockets in any of rooms (all when rooms is empty) and in none of except.
func (a *roomIndex) match(rooms, except []string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	excluded := func(id string) bool {
		for _, r := range except {
			if m := a.rooms[r]; m.has(id) || (r == id && a.ownIn(id)) {
				return true
			}
		}
		return false
	}
	var ids []string
	if len(rooms) == 0 {
		ids = make([]string, 0, len(a.sids))
		for id := range a.sids {
			if !excluded(id) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	seen := make(map[string]struct{})
	visit := func(id string) {
		if _, dup := seen[id]; dup || excluded(id) {
			return
		}
		seen[id] = struct{}{}
		ids = append(ids, id)
	}
	for _, r := range rooms {
		if a.ownIn(r) {
			visit(r) // the socket named r, implicitly in it
		}
		m := a.rooms[r]
		m.each(visit)
	}
	return ids
}
