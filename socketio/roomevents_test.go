package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The room events of each change of the index, in order, as the reference adapter emits them.
func TestRoomEvents(t *testing.T) {
	type step struct {
		op    string // join, leave, close
		id    string
		rooms []string
	}
	tests := []struct {
		name  string
		steps []step
		want  string
	}{
		{"own room on connect", []step{{"join", "a", []string{"a"}}},
			"create-room a, join-room a a"},
		{"second member joins only", []step{{"join", "a", []string{"r"}}, {"join", "b", []string{"r"}}},
			"create-room r, join-room r a, join-room r b"},
		{"joining twice reports once", []step{{"join", "a", []string{"r"}}, {"join", "a", []string{"r", "r"}}},
			"create-room r, join-room r a"},
		{"several rooms at once", []step{{"join", "a", []string{"r1", "r2"}}},
			"create-room r1, join-room r1 a, create-room r2, join-room r2 a"},
		{"last leaves: left then deleted", []step{{"join", "a", []string{"r"}}, {"leave", "a", []string{"r"}}},
			"create-room r, join-room r a, leave-room r a, delete-room r"},
		{"not last leaves", []step{{"join", "a", []string{"r"}}, {"join", "b", []string{"r"}}, {"leave", "a", []string{"r"}}},
			"create-room r, join-room r a, join-room r b, leave-room r a"},
		{"leaving a room one is not in", []step{{"join", "a", []string{"r"}}, {"leave", "b", []string{"r"}}, {"leave", "a", []string{"x"}}},
			"create-room r, join-room r a"},
		{"disconnection leaves every room", []step{{"join", "a", []string{"a", "r"}}, {"join", "b", []string{"r"}}, {"close", "a", nil}},
			"create-room a, join-room a a, create-room r, join-room r a, join-room r b, leave-room a a, delete-room a, leave-room r a"},
		{"rejoin after delete creates again", []step{{"join", "a", []string{"r"}}, {"leave", "a", []string{"r"}}, {"join", "a", []string{"r"}}},
			"create-room r, join-room r a, leave-room r a, delete-room r, create-room r, join-room r a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := &Namespace{name: "/", roomEvents: new(roomEvents)}
			ri := newRoomIndex()
			ri.ns, ri.events = ns, ns.roomEvents
			var got []string
			ns.OnRoomEvent(func(n *Namespace, e RoomEvent) {
				if n != ns {
					t.Errorf("handler given namespace %p, want %p", n, ns)
				}
				// The handler runs outside the room lock: reading the rooms does not deadlock.
				_ = ri.socketRooms(e.SocketID)
				got = append(got, strings.TrimSpace(e.Kind.String()+" "+e.Room+" "+e.SocketID))
			})
			for _, s := range tt.steps {
				switch s.op {
				case "join":
					ri.add(s.id, s.rooms)
				case "leave":
					for _, r := range s.rooms {
						ri.del(s.id, r)
					}
				case "close":
					ri.delAll(s.id)
				}
			}
			if g := strings.Join(got, ", "); g != tt.want {
				t.Errorf("events\n%s\nwant\n%s", g, tt.want)
			}
		})
	}
}

// Without a handler, nothing is collected (the hot path allocates nothing more).
func TestRoomEventsNoHandler(t *testing.T) {
	ns := &Namespace{name: "/", roomEvents: new(roomEvents)}
	ri := newRoomIndex()
	ri.ns, ri.events = ns, ns.roomEvents
	ri.add("a", []string{"a"})
	allocs := testing.AllocsPerRun(100, func() {
		ri.add("a", []string{"a"})
		ri.del("b", "a")
	})
	if allocs != 0 {
		t.Errorf("%v allocations per join and leave without a handler", allocs)
	}
}

// Through a server: the socket's own room at connection, Join and Leave, the disconnection; a parent namespace's
// handler hears its children; the handlers of one namespace see the changes of concurrent joins one at a time.
func TestRoomEventsServer(t *testing.T) {
	var mu sync.Mutex
	var got []string
	record := func(ns *Namespace, e RoomEvent) {
		mu.Lock()
		got = append(got, fmt.Sprintf("%s %s %s %s", ns.Name(), e.Kind, e.Room, e.SocketID))
		mu.Unlock()
	}
	ts := startTestServer(t, Config{}, func(_ *testServer, srv *Server) {
		srv.Of("/").OnRoomEvent(record)
		srv.OfFunc(func(context.Context, string, json.RawMessage) bool { return true }).OnRoomEvent(record)
	})
	srv := ts.Server()
	a := rawClient(t, ts.URL())
	connectRaw(t, a)
	s := srv.Of("/").Sockets()[0]
	s.Join("r")
	s.Leave("r")
	_ = a.CloseNow()
	id := s.ID()
	want := []string{
		"/ create-room " + id + " ", "/ join-room " + id + " " + id,
		"/ create-room r ", "/ join-room r " + id, "/ leave-room r " + id, "/ delete-room r ",
		"/ leave-room " + id + " " + id, "/ delete-room " + id + " ",
	}
	waitEvents := func(want []string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			g := slices.Clone(got)
			mu.Unlock()
			if slices.Equal(g, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("events\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitEvents(want)

	// A child of the parent namespace, created now, reports to the parent's handler.
	mu.Lock()
	got = nil
	mu.Unlock()
	child := srv.lookup(context.Background(), "/dyn", nil)
	if child == nil {
		t.Fatal("no dynamic namespace")
	}
	child.rooms.add("x", []string{"room"})
	waitEvents([]string{"/dyn create-room room ", "/dyn join-room room x"})

	// Concurrent joins of one room: one creation, then every join, never interleaved with another creation.
	mu.Lock()
	got = nil
	mu.Unlock()
	ns := srv.Of("/")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns.rooms.add(fmt.Sprint("c", i), []string{"shared"})
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 21 || got[0] != "/ create-room shared " {
		t.Fatalf("concurrent joins reported %q", got)
	}
	for _, g := range got[1:] {
		if !strings.HasPrefix(g, "/ join-room shared c") {
			t.Fatalf("concurrent joins reported %q", got)
		}
	}
}
