package socketio

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A ClusterLink that is a RoomObserver hears of each room when it gets its first local socket and when it loses
// its last: joins, leaves, and the disconnection of the last member, a socket's own room included.
func TestRoomObserver(t *testing.T) {
	c := &roomLogCluster{memNode: (&memHub{}).node(), links: map[string]*roomLog{}}
	ts := startTestServer(t, Config{Cluster: c}, func(*testServer, *Server) {})
	ns := ts.Server().Of("/")
	a, b := rawClient(t, ts.URL()), rawClient(t, ts.URL())
	connectRaw(t, a)
	connectRaw(t, b)
	socks := ns.Sockets()
	if len(socks) != 2 {
		t.Fatalf("%d sockets", len(socks))
	}
	s1, s2 := socks[0], socks[1]
	s1.Join("r")
	s2.Join("r", "r2")
	s1.Leave("r")
	s2.Leave("r2")
	_ = b.CloseNow()
	_ = a.CloseNow()
	log := c.links["/"]
	want := "+" + s1.ID() + " +" + s2.ID() + " +r +r2 -r2 -" + s2.ID() + " -r -" + s1.ID()
	deadline := time.Now().Add(5 * time.Second)
	for {
		log.mu.Lock()
		got := strings.Join(log.events, " ")
		log.mu.Unlock()
		// The two sockets connect and close in either order: compare what each room went through.
		if sameRoomHistory(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room events %q, want (per room) %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sameRoomHistory reports whether a and b hold the same events for each room, in the same order per room.
func sameRoomHistory(a, b string) bool {
	per := func(s string) map[string]string {
		m := map[string]string{}
		for _, e := range strings.Fields(s) {
			m[e[1:]] += e[:1]
		}
		return m
	}
	pa, pb := per(a), per(b)
	if len(pa) != len(pb) {
		return false
	}
	for k, v := range pa {
		if pb[k] != v {
			return false
		}
	}
	return true
}

// roomRecorder records the calls of a RoomObserver.
type roomRecorder struct{ calls []string }

func (r *roomRecorder) RoomCreated(room string) { r.calls = append(r.calls, "+"+room) }
func (r *roomRecorder) RoomDeleted(room string) { r.calls = append(r.calls, "-"+room) }

// A socket's own room is implicit in the index (no entry of its own) and behaves as any room: it is first in
// Rooms, broadcasts to it reach the socket, it can be left and joined again (after other rooms: last in Rooms, as
// in Node), another socket can join it, and it is created and deleted once, with its last member.
func TestRoomIndexOwnRoom(t *testing.T) {
	obs := &roomRecorder{}
	a := newRoomIndex()
	a.observer = obs
	check := func(what string, got, want []string) {
		t.Helper()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", what, got, want)
		}
	}
	a.add("A", []string{"A"})
	a.add("B", []string{"B"})
	if _, ok := a.rooms["A"]; ok {
		t.Error("the own room has an entry in rooms")
	}
	a.add("A", []string{"r", "A"}) // joining its own room again changes nothing
	if got := a.socketRooms("A"); !slices.Equal(got, []string{"A", "r"}) {
		t.Errorf("rooms of A %q", got)
	}
	if !a.has("A") || a.has("C") {
		t.Errorf("has(A) %v, has(C) %v", a.has("A"), a.has("C"))
	}
	check("all", a.all(), []string{"A", "B", "r"})
	check("match A", a.match([]string{"A"}, nil), []string{"A"})
	check("match all except A", a.match(nil, []string{"A"}), []string{"B"})
	check("match A,B except r", a.match([]string{"A", "B"}, []string{"r"}), []string{"B"})

	// B joins A's room: the room holds both; A's leaving does not delete it.
	a.add("B", []string{"A"})
	check("match A with B in it", a.match([]string{"A"}, nil), []string{"A", "B"})
	a.del("B", "A") // A is still in it: not deleted
	if !a.has("A") {
		t.Error("room A deleted while A is in it")
	}
	a.add("B", []string{"A"})
	a.del("A", "A")
	check("match A after A left", a.match([]string{"A"}, nil), []string{"B"})
	if got := a.socketRooms("A"); !slices.Equal(got, []string{"r"}) {
		t.Errorf("rooms of A after leaving its own %q", got)
	}
	a.del("B", "A")
	if a.has("A") {
		t.Error("room A left by everyone still exists")
	}
	// Joined again after another room: explicit, and last in Rooms.
	a.add("A", []string{"A"})
	if got := a.socketRooms("A"); !slices.Equal(got, []string{"r", "A"}) {
		t.Errorf("rooms of A after joining its own again %q", got)
	}
	check("match A rejoined", a.match([]string{"A"}, nil), []string{"A"})
	a.delAll("A")
	a.delAll("B")
	if len(a.rooms) != 0 || len(a.sids) != 0 {
		t.Errorf("left behind: rooms %v, sockets %v", a.rooms, a.sids)
	}
	want := "+A +B +r -A +A -r -A -B"
	if got := strings.Join(obs.calls, " "); got != want {
		t.Errorf("observer %q, want %q", got, want)
	}
}
