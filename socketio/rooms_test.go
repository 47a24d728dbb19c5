package socketio

import (
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
