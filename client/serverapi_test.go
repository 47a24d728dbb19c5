package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/socketio"
)

// The server API that the reference server has beside On (socket.use, once/off, the any-listener family for
// received and sent events, the handshake address), checked through the Go client.

// log is a concurrency-safe list of strings.
type log struct {
	mu sync.Mutex
	l  []string
}

func (l *log) add(format string, a ...any) {
	l.mu.Lock()
	l.l = append(l.l, fmt.Sprintf(format, a...))
	l.mu.Unlock()
}

func (l *log) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.l)
}

// TestServerAPISocketUse: the packet middlewares run in order after the any handlers and before the event's
// handler; the first error stops the event (no handler, no acknowledgement) and reaches the OnError handlers.
func TestServerAPISocketUse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		event   string
		want    []string
		wantAck bool
	}{
		{"passes", "ok", []string{"any ok", "mw1 ok", "mw2 ok", "handler ok"}, true},
		{"first refuses", "deny1", []string{"any deny1", "mw1 deny1", "error mw1 refuses deny1"}, false},
		{"second refuses", "deny2", []string{"any deny2", "mw1 deny2", "mw2 deny2", "error mw2 refuses deny2"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var l log
			g := startGoServer(t, socketio.Config{}, func(srv *socketio.Server) {
				srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
					s.OnAny(func(ctx context.Context, s *socketio.Socket, event string, args socketio.Args) {
						l.add("any %s", event)
					})
					s.Use(func(ctx context.Context, s *socketio.Socket, event string, args socketio.Args) error {
						l.add("mw1 %s", event)
						if event == "deny1" {
							return errors.New("mw1 refuses " + event)
						}
						return nil
					})
					s.Use(func(ctx context.Context, s *socketio.Socket, event string, args socketio.Args) error {
						l.add("mw2 %s", event)
						if event == "deny2" {
							return errors.New("mw2 refuses " + event)
						}
						return nil
					})
					s.OnError(func(err error) { l.add("error %v", err) })
					for _, ev := range []string{"ok", "deny1", "deny2"} {
						s.On(ev, func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
							l.add("handler %s", ev)
							_ = ack("done")
						})
					}
				})
			})
			c := dial(t, g.URL(), fastOpts(WebSocket), nil)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_, err := c.EmitWithAck(ctx, tc.event)
			if tc.wantAck != (err == nil) {
				t.Fatalf("acknowledgement error %v, want one: %v", err, !tc.wantAck)
			}
			if got := l.get(); !slices.Equal(got, tc.want) {
				t.Fatalf("calls %q, want %q", got, tc.want)
			}
		})
	}
}

// TestServerAPIOnceOff: a Once handler sees one event, Off removes a handler, and a Once handler is not used up
// by an event a middleware refuses.
func TestServerAPIOnceOff(t *testing.T) {
	t.Parallel()
	var l log
	g := startGoServer(t, socketio.Config{}, func(srv *socketio.Server) {
		srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
			block := true
			s.Use(func(ctx context.Context, s *socketio.Socket, event string, args socketio.Args) error {
				if event == "once" && block {
					block = false // handlers run one at a time: no race
					return errors.New("not yet")
				}
				return nil
			})
			s.Once("once", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
				l.add("once")
			})
			s.On("off-me", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
				l.add("off-me")
			})
			s.On("off", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
				s.Off("off-me")
				_ = ack()
			})
			s.On("sync", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) { _ = ack() })
		})
	})
	c := dial(t, g.URL(), fastOpts(WebSocket), nil)
	ctx := tctx(t)
	for _, ev := range []string{"once", "once", "once", "off-me", "off-me"} {
		_ = c.Emit(ev)
	}
	if _, err := c.EmitWithAck(ctx, "off"); err != nil {
		t.Fatal(err)
	}
	_ = c.Emit("off-me")
	if _, err := c.EmitWithAck(ctx, "sync"); err != nil { // handled in order: everything before has run
		t.Fatal(err)
	}
	if got, want := l.get(), []string{"once", "off-me", "off-me"}; !slices.Equal(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

// TestServerAPIAnyListeners: PrependAny runs first, the returned function removes one handler, OffAny all of
// them, ListenersAny lists them in order.
func TestServerAPIAnyListeners(t *testing.T) {
	t.Parallel()
	var l log
	counts := make(chan []int, 1)
	g := startGoServer(t, socketio.Config{}, func(srv *socketio.Server) {
		srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
			var removeB func()
			s.OnAny(func(ctx context.Context, s *socketio.Socket, event string, args socketio.Args) { l.add("a %s", event) })
			removeB = s.OnAny(func(ctx context.Context, s *socketio.Socket, event string, args socketio.Args) { l.add("b %s", event) })
			s.PrependAny(func(ctx context.Context, s *socketio.Socket, event string, args socketio.Args) {
				l.add("first %s", event)
			})
			s.On("remove-b", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
				n := len(s.ListenersAny())
				removeB()
				removeB() // a second call does nothing
				counts <- []int{n, len(s.ListenersAny())}
			})
			s.On("off-any", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) { s.OffAny() })
			s.On("sync", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) { _ = ack() })
		})
	})
	c := dial(t, g.URL(), fastOpts(WebSocket), nil)
	for _, ev := range []string{"e1", "remove-b", "e2", "off-any", "e3"} {
		_ = c.Emit(ev)
	}
	if _, err := c.EmitWithAck(tctx(t), "sync"); err != nil {
		t.Fatal(err)
	}
	want := []string{"first e1", "a e1", "b e1", "first remove-b", "a remove-b", "b remove-b", "first e2", "a e2",
		"first off-any", "a off-any"}
	if got := l.get(); !slices.Equal(got, want) {
		t.Fatalf("calls\n%q, want\n%q", got, want)
	}
	if n := want0(t, counts); !slices.Equal(n, []int{3, 2}) {
		t.Fatalf("ListenersAny before and after the removal: %v, want [3 2]", n)
	}
}

func want0[T any](tb testing.TB, ch chan T) T { tb.Helper(); return want(tb, ch) }

// TestServerAPIAnyOutgoing: the outgoing handlers see every event sent to the socket — Emit, Volatile, EmitWithAck,
// the broadcasts reaching it (with and without acknowledgements) — but not acknowledgements, nor broadcasts that
// exclude it; PrependAnyOutgoing runs first; the returned function and OffAnyOutgoing remove handlers.
func TestServerAPIAnyOutgoing(t *testing.T) {
	t.Parallel()
	for _, recovery := range []bool{false, true} {
		t.Run(fmt.Sprintf("recovery=%v", recovery), func(t *testing.T) {
			t.Parallel()
			var l log
			cfg := socketio.Config{}
			if recovery {
				cfg.ConnectionStateRecovery = &socketio.RecoveryConfig{}
			}
			var mu sync.Mutex
			var watched *socketio.Socket
			g := startGoServer(t, cfg, func(srv *socketio.Server) {
				ns := srv.Of("/")
				ns.OnConnection(func(ctx context.Context, s *socketio.Socket) {
					s.On("watch", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
						mu.Lock()
						watched = s
						mu.Unlock()
						s.Join("room")
						remove := s.OnAnyOutgoing(func(s *socketio.Socket, event string, args []any) {
							if recovery && event != "volatile" && event != "ask" {
								// The offset, as in the reference server: on every packet kept for a recovery
								// (not volatile, no acknowledgement).
								if _, ok := args[len(args)-1].(string); !ok {
									l.add("no offset %s %v", event, args)
								}
								args = args[:len(args)-1]
							}
							l.add("out %s %v", event, args)
						})
						s.PrependAnyOutgoing(func(s *socketio.Socket, event string, args []any) { l.add("first %s", event) })
						s.On("remove", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
							remove()
							_ = ack()
						})
						s.On("off", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
							s.OffAnyOutgoing()
							_ = ack(len(s.ListenersAnyOutgoing()))
						})
						_ = ack("watching") // an acknowledgement: not an outgoing event
					})
				})
			})
			c := dial(t, g.URL(), fastOpts(WebSocket), nil)
			c.On("ask", func(ctx context.Context, s *Socket, args Args, ack AckFunc) { _ = ack("yes") })
			ctx := tctx(t)
			if _, err := c.EmitWithAck(ctx, "watch"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			s := watched
			mu.Unlock()
			ns := s.Namespace()
			_ = s.Emit("direct", 1)
			_ = s.Volatile().Emit("volatile", 2)
			if _, err := s.EmitWithAck(ctx, "ask", 3); err != nil {
				t.Fatal(err)
			}
			_ = ns.Emit(ctx, "all", 4)
			_ = ns.To("room").Emit(ctx, "room", 5)
			_ = ns.Except("room").Emit(ctx, "not-me", 6)
			_ = s.Broadcast().Emit(ctx, "broadcast-from-me", 7)
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if _, err := ns.To("room").EmitWithAck(actx, "ask", 8); err != nil {
				t.Fatal(err)
			}
			cancel()
			if _, err := c.EmitWithAck(ctx, "remove"); err != nil {
				t.Fatal(err)
			}
			_ = s.Emit("after-remove")
			n, err := EmitWithAckAs[int](ctx, c, "off")
			if err != nil || n != 0 {
				t.Fatalf("ListenersAnyOutgoing after OffAnyOutgoing: %d, %v", n, err)
			}
			_ = s.Emit("after-off")
			want := []string{
				"first direct", "out direct [1]", "first volatile", "out volatile [2]", "first ask", "out ask [3]",
				"first all", "out all [4]", "first room", "out room [5]", "first ask", "out ask [8]",
				"first after-remove",
			}
			if got := l.get(); !slices.Equal(got, want) {
				t.Fatalf("outgoing\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestServerAPIHandshakeAddress: Handshake.Address is the client's IP without a port, as the reference server
// gives it.
func TestServerAPIHandshakeAddress(t *testing.T) {
	t.Parallel()
	got := make(chan string, 2)
	g := startGoServer(t, socketio.Config{}, func(srv *socketio.Server) {
		srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) { got <- s.Handshake().Address })
	})
	for _, tr := range []Transport{Polling, WebSocket} {
		_ = dial(t, g.URL(), fastOpts(tr), nil)
		if a := want(t, got); a != "127.0.0.1" {
			t.Errorf("%s: Address %q, want 127.0.0.1", tr, a)
		}
	}
	// Over IPv6 loopback: "::1", as Node gives it.
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) { got <- s.Handshake().Address })
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("no IPv6 loopback: %v", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		_ = hs.Close()
		_ = srv.Shutdown(context.Background())
	}()
	c := dial(t, "http://"+ln.Addr().String()+"/", fastOpts(WebSocket), nil)
	if a := want(t, got); a != "::1" {
		t.Errorf("IPv6: Address %q, want ::1", a)
	}
	_ = c.Close()
}
