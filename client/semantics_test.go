package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/socketio"
)

// Socket.IO semantics of the Go server, checked through the Go client (beside the JavaScript scenarios of
// testpeers/sio-client-suite.js, which stay).

// TestSemanticsMiddlewareOrder: server middlewares run before those of the namespace, or of the parent of a
// dynamic namespace, in the order they were added; the first error refuses the connection with its message.
func TestSemanticsMiddlewareOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		nsp     string
		failAt  string
		wantErr string
		want    []string
	}{
		{"dynamic, all pass", "/dyn-1", "", "", []string{"server1", "server2", "parent", "connection"}},
		{"dynamic, server refuses", "/dyn-1", "server2", "server2 says no", []string{"server1", "server2"}},
		{"dynamic, parent refuses", "/dyn-1", "parent", "parent says no", []string{"server1", "server2", "parent"}},
		{"static, all pass", "/static", "", "", []string{"server1", "server2", "nsp1", "nsp2", "connection"}},
		{"static, server refuses", "/static", "server1", "server1 says no", []string{"server1"}},
		{"static, namespace refuses", "/static", "nsp1", "nsp1 says no", []string{"server1", "server2", "nsp1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got []string
			mark := func(name string) error {
				mu.Lock()
				got = append(got, name)
				mu.Unlock()
				if name == tc.failAt {
					return errors.New(name + " says no")
				}
				return nil
			}
			g := startGoServer(t, socketio.Config{}, func(srv *socketio.Server) {
				srv.Use(func(ctx context.Context, s *socketio.Socket) error { return mark("server1") })
				srv.Use(func(ctx context.Context, s *socketio.Socket) error { return mark("server2") })
				parent := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
				parent.Use(func(ctx context.Context, s *socketio.Socket) error { return mark("parent") })
				parent.OnConnection(func(ctx context.Context, s *socketio.Socket) { _ = mark("connection") })
				static := srv.Of("/static")
				static.Use(func(ctx context.Context, s *socketio.Socket) error { return mark("nsp1") })
				static.Use(func(ctx context.Context, s *socketio.Socket) error { return mark("nsp2") })
				static.OnConnection(func(ctx context.Context, s *socketio.Socket) { _ = mark("connection") })
			})
			s, err := Dial(tctx(t), g.URL()+tc.nsp, fastOpts(WebSocket), nil)
			if err == nil {
				defer s.Close()
			}
			var ce *ConnectError
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (!errors.As(err, &ce) || ce.Message != tc.wantErr):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, tc.want) {
				t.Fatalf("order %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSemanticsDisconnectingBeforeLeave: "disconnecting" sees the socket still in its rooms, "disconnect" after
// it left them, whoever ends the connection.
func TestSemanticsDisconnectingBeforeLeave(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		end  func(s *Socket)
	}{
		{"client disconnect", func(s *Socket) { _ = s.Disconnect(context.Background()) }},
		{"server disconnect", func(s *Socket) { _ = s.Emit("kick") }},
		{"transport close", func(s *Socket) { _ = s.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			type seen struct {
				hook  string
				rooms []string
			}
			out := make(chan seen, 4)
			g := startGoServer(t, socketio.Config{}, func(srv *socketio.Server) {
				srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
					s.Join("r1", "r2")
					s.On("kick", func(ctx context.Context, s *socketio.Socket, a socketio.Args, ack socketio.AckFunc) {
						s.Disconnect(false)
					})
					s.OnDisconnecting(func(ctx context.Context, r socketio.DisconnectReason) {
						out <- seen{"disconnecting", s.Rooms()}
					})
					s.OnDisconnect(func(r socketio.DisconnectReason) { out <- seen{"disconnect", s.Rooms()} })
				})
			})
			s := dial(t, g.URL(), fastOpts(), nil)
			id := s.ID()
			tc.end(s)
			a, b := want(t, out), want(t, out)
			sort.Strings(a.rooms)
			wantRooms := []string{id, "r1", "r2"}
			sort.Strings(wantRooms)
			if a.hook != "disconnecting" || !slices.Equal(a.rooms, wantRooms) {
				t.Fatalf("first %+v", a)
			}
			if b.hook != "disconnect" || len(b.rooms) != 0 {
				t.Fatalf("second %+v", b)
			}
		})
	}
}

// TestSemanticsDynamicNamespaces: a matching name makes a namespace, others are refused with "Invalid
// namespace"; the parent's broadcast reaches every child.
func TestSemanticsDynamicNamespaces(t *testing.T) {
	t.Parallel()
	var parent *socketio.Namespace
	g := startGoServer(t, socketio.Config{}, func(srv *socketio.Server) {
		parent = srv.OfFunc(func(ctx context.Context, name string, auth json.RawMessage) bool {
			return len(name) > 6 && name[:6] == "/team-"
		})
		parent.OnConnection(func(ctx context.Context, s *socketio.Socket) {
			_ = s.Emit("where", s.Namespace().Name())
		})
	})
	m, err := NewManager(g.URL(), fastOpts(WebSocket))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, tc := range []struct {
		nsp string
		ok  bool
	}{{"/team-a", true}, {"/team-b", true}, {"/other", false}, {"/team", false}} {
		s := m.Socket(tc.nsp, nil)
		where := recv[string](s, "where")
		err := s.Connect(tctx(t))
		var ce *ConnectError
		if tc.ok {
			if err != nil {
				t.Fatalf("%s: %v", tc.nsp, err)
			}
			if w := want(t, where); w != tc.nsp {
				t.Fatalf("%s: connected to %s", tc.nsp, w)
			}
		} else if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
			t.Fatalf("%s: %v", tc.nsp, err)
		}
	}
	got := make(chan string, 4)
	for _, nsp := range []string{"/team-a", "/team-b"} {
		m.Socket(nsp, nil).On("all", func(ctx context.Context, s *Socket, a Args, ack AckFunc) { got <- s.Namespace() })
	}
	if err := parent.Emit(tctx(t), "all"); err != nil {
		t.Fatal(err)
	}
	seen := []string{want(t, got), want(t, got)}
	sort.Strings(seen)
	if !slices.Equal(seen, []string{"/team-a", "/team-b"}) {
		t.Fatalf("parent broadcast reached %v", seen)
	}
}

// TestSemanticsBroadcast: to, except, the sender's broadcast, and rooms in a table of clients in rooms.
func TestSemanticsBroadcast(t *testing.T) {
	t.Parallel()
	g := startGoServer(t, socketio.Config{}, func(srv *socketio.Server) {
		srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
			var rooms []string
			_ = s.Handshake() // rooms come with the "join" event
			s.On("join", func(ctx context.Context, s *socketio.Socket, a socketio.Args, ack socketio.AckFunc) {
				_ = a.Decode(0, &rooms)
				s.Join(rooms...)
				_ = ack()
			})
			s.On("op", func(ctx context.Context, s *socketio.Socket, a socketio.Args, ack socketio.AckFunc) {
				var op struct{ Kind, To, Except string }
				_ = a.Decode(0, &op)
				var err error
				switch op.Kind {
				case "to-except":
					err = s.Namespace().To(op.To).Except(op.Except).Emit(ctx, "b", op.Kind)
				case "to":
					err = s.Namespace().To(op.To).Emit(ctx, "b", op.Kind)
				case "socket-broadcast":
					err = s.Broadcast().Emit(ctx, "b", op.Kind)
				case "socket-to":
					err = s.To(op.To).Emit(ctx, "b", op.Kind)
				}
				_ = ack(fmt.Sprint(err))
			})
		})
	})
	names := []string{"a", "b", "c", "d"}
	rooms := map[string][]string{"a": {"r1"}, "b": {"r1", "r2"}, "c": {"r2"}, "d": {}}
	sockets := map[string]*Socket{}
	inbox := map[string]chan string{}
	for _, n := range names {
		s := dial(t, g.URL(), fastOpts(WebSocket), nil)
		inbox[n] = recv[string](s, "b")
		if _, err := s.EmitWithAck(tctx(t), "join", rooms[n]); err != nil {
			t.Fatal(err)
		}
		sockets[n] = s
	}
	for _, tc := range []struct {
		from, kind, to, except string
		want                   []string
	}{
		{"d", "to", "r1", "", []string{"a", "b"}},
		{"d", "to-except", "r1", "r2", []string{"a"}},
		{"a", "socket-broadcast", "", "", []string{"b", "c", "d"}},
		{"b", "socket-to", "r1", "", []string{"a"}}, // the sender is left out
		{"a", "to", "nobody", "", nil},
	} {
		t.Run(tc.kind+"-"+tc.from, func(t *testing.T) {
			res, err := EmitWithAckAs[string](tctx(t), sockets[tc.from], "op", map[string]string{"kind": tc.kind, "to": tc.to, "except": tc.except})
			if err != nil || res != "<nil>" {
				t.Fatalf("op: %q, %v", res, err)
			}
			time.Sleep(150 * time.Millisecond) // the broadcast is written before the ack; allow for delivery
			var got []string
			for _, n := range names {
				for done := false; !done; {
					select {
					case k := <-inbox[n]:
						if k != tc.kind {
							t.Fatalf("%s got %q", n, k)
						}
						got = append(got, n)
					default:
						done = true
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("reached %v, want %v", got, tc.want)
			}
		})
	}
}
