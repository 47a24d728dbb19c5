package socketio

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// recoveryServer is a server with connection state recovery whose main namespace joins the rooms of the handshake
// query and answers testpeers/clients.js with "__joined".
func recoveryServer(t *testing.T, rc RecoveryConfig) *testServer {
	return startTestServer(t, Config{ConnectionStateRecovery: &rc}, func(_ *testServer, srv *Server) {
		srv.Of("/").OnConnection(func(ctx context.Context, s *Socket) {
			if !s.Recovered() {
				if q := s.Handshake().Query.Get("rooms"); q != "" {
					s.Join(strings.Split(q, ",")...)
				}
			}
			_ = s.Emit("__joined", map[string]any{"id": s.ID(), "rooms": s.Rooms()})
		})
	})
}

// TestConnectionStateRecovery: real socket.io-client 4.8.4 clients (websocket and long-polling) lose their
// connection; what is broadcast meanwhile to their rooms and to them is replayed when they come back, once and in
// order, with their id, rooms and data (socket.recovered is true); what was not for them is not. A session that
// expired gives a new socket (recovered false).
func TestConnectionStateRecovery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("recovered", func(t *testing.T) {
		ts := recoveryServer(t, RecoveryConfig{})
		clients := testenv.StartClients(t, 4, []testenv.ClientSpec{
			{Name: "ws", URL: ts.URL(), Rooms: []string{"r1"}, Recovery: true},
			{Name: "poll", URL: ts.URL(), Rooms: []string{"r1"}, Recovery: true, Transports: []string{"polling"}},
		})
		ns := ts.Server().Of("/")
		for _, name := range []string{"ws", "poll"} {
			id := clients.IDs[name]
			ns.Socket(id).SetData(map[string]string{"who": name})
			if err := ns.To("r1").Emit(ctx, "ev", "before-"+name); err != nil {
				t.Fatal(err)
			}
			if _, err := clients.WaitEvent(ctx, name, func(e testenv.Event) bool {
				return e.Name == "ev" && string(e.Args[0]) == `"before-`+name+`"`
			}); err != nil {
				t.Fatal(err)
			}
			if err := clients.Drop(ctx, name); err != nil {
				t.Fatal(err)
			}
			testenv.WaitFor(t, func() bool { return ns.Socket(id) == nil })
			// While it is away: two broadcasts to its room, one to it alone, one to another room, a volatile one.
			for _, err := range []error{
				ns.To("r1").Emit(ctx, "ev", "missed-1-"+name),
				ns.To(id).Emit(ctx, "ev", "direct-"+name),
				ns.To("r2").Emit(ctx, "ev", "not-for-"+name),
				ns.To("r1").Volatile().Emit(ctx, "ev", "volatile-"+name),
				ns.To("r1").Except("nobody").Emit(ctx, "ev", "missed-2-"+name),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
			if ns.Socket(id) != nil {
				t.Fatalf("%s reconnected before the broadcasts: the test proves nothing", name)
			}
			conns, err := clients.WaitConnects(ctx, name, 2)
			if err != nil {
				t.Fatal(err)
			}
			if c := conns[1]; !c.Recovered || c.ID != id {
				t.Fatalf("%s reconnected as %+v, want recovered with id %s", name, c, id)
			}
			want := []string{`"before-` + name + `"`, `"missed-1-` + name + `"`, `"direct-` + name + `"`, `"missed-2-` + name + `"`}
			// poll also got "before-ws" and what ws missed (it was connected then): its own are counted.
			own := func() []string {
				return slices.DeleteFunc(clients.FirstArgs(name, "ev"), func(s string) bool { return !strings.HasSuffix(s, `-`+name+`"`) })
			}
			testenv.WaitFor(t, func() bool { return len(own()) >= len(want) })
			got := clients.FirstArgs(name, "ev")
			if name == "poll" {
				got = slices.DeleteFunc(got, func(s string) bool { return strings.HasSuffix(s, `-ws"`) })
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s got %v, want %v", name, got, want)
			}
			s := ns.Socket(id)
			if s == nil || !s.Recovered() {
				t.Fatalf("%s: no recovered socket %s", name, id)
			}
			if rooms := strings.Join(s.Rooms(), ","); !strings.Contains(rooms, "r1") {
				t.Errorf("%s: rooms %s after recovery", name, rooms)
			}
			if d, _ := s.Data().(map[string]string); d["who"] != name {
				t.Errorf("%s: data %v after recovery", name, s.Data())
			}
			// The offset is the last argument of each kept packet, as socket.io-client expects.
			for _, ev := range clients.Events(name) {
				if ev.Name == "ev" && len(ev.Args) != 2 {
					t.Errorf("%s: event with %d arguments, want the value and the offset: %s", name, len(ev.Args), ev.ArgsJSON())
				}
			}
		}
	})

	t.Run("expired", func(t *testing.T) {
		ts := recoveryServer(t, RecoveryConfig{MaxDisconnectionDuration: 200 * time.Millisecond})
		clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: ts.URL(), Rooms: []string{"r1"}, Recovery: true}})
		ns := ts.Server().Of("/")
		id := clients.IDs["c"]
		if err := ns.To("r1").Emit(ctx, "ev", "before"); err != nil {
			t.Fatal(err)
		}
		if _, err := clients.WaitEvent(ctx, "c", testenv.EventNamed("ev")); err != nil {
			t.Fatal(err)
		}
		if err := clients.Drop(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, func() bool { return ns.Socket(id) == nil })
		if err := ns.To("r1").Emit(ctx, "ev", "missed"); err != nil {
			t.Fatal(err)
		}
		conns, err := clients.WaitConnects(ctx, "c", 2)
		if err != nil {
			t.Fatal(err)
		}
		if c := conns[1]; c.Recovered || c.ID == id {
			t.Fatalf("reconnected as %+v after the session expired, want a new socket (old id %s)", c, id)
		}
		if got := clients.FirstArgs("c", "ev"); strings.Join(got, " ") != `"before"` {
			t.Errorf("got %v, want only what came before the disconnection", got)
		}
	})
}

// The recovery store: which packets a session gets back, and its bounds (MaxPackets, MaxDisconnectionDuration).
func TestRecoveryStore(t *testing.T) {
	for _, tc := range []struct {
		mine, rooms, except []string
		want                bool
	}{
		{[]string{"id", "r1"}, nil, nil, true},
		{[]string{"id", "r1"}, []string{"r1"}, nil, true},
		{[]string{"id", "r1"}, []string{"r2"}, nil, false},
		{[]string{"id", "r1"}, []string{"id"}, nil, true},
		{[]string{"id", "r1"}, nil, []string{"r1"}, false},
		{[]string{"id", "r1"}, []string{"r1"}, []string{"id"}, false},
	} {
		if got := forRooms(tc.mine, tc.rooms, tc.except); got != tc.want {
			t.Errorf("forRooms(%v, %v, %v) = %v", tc.mine, tc.rooms, tc.except, got)
		}
	}
	r := newRecovery(RecoveryConfig{MaxDisconnectionDuration: time.Hour, MaxPackets: 3})
	var offsets []string
	for i := range 5 {
		o := r.nextOffset()
		offsets = append(offsets, o)
		r.store(o, nil, nil, encodePacket(PacketEvent, "/", -1, []byte(`["e",`+string(rune('0'+i))+`]`), nil))
	}
	if len(r.packets) != 3 {
		t.Fatalf("%d packets kept, want MaxPackets 3", len(r.packets))
	}
	r.persist("p1", "s1", []string{"s1"}, nil)
	if _, ok := r.take("p1", offsets[0]); ok {
		t.Error("recovered from an offset no longer kept")
	}
	r.persist("p1", "s1", []string{"s1"}, nil)
	if _, ok := r.take("p1", offsets[2]); !ok {
		t.Fatal("not recovered from a kept offset")
	}
	if got := len(r.missedSince(offsets[2], []string{"s1"})); got != 2 {
		t.Errorf("%d missed packets after the third of five, want 2", got)
	}
	if _, ok := r.take("p1", offsets[2]); ok {
		t.Error("a session was recovered twice")
	}
	short := newRecovery(RecoveryConfig{MaxDisconnectionDuration: time.Millisecond, MaxPackets: 10})
	o := short.nextOffset()
	short.store(o, nil, nil, nil)
	short.persist("p", "s", nil, nil)
	time.Sleep(5 * time.Millisecond)
	if _, ok := short.take("p", o); ok {
		t.Error("an expired session was recovered")
	}
}
