package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sioredis/sioredis/jsvalue"
	"github.com/sioredis/sioredis/socketio"
)

type msg struct {
	Text string `json:"text"`
	Bin  []byte `json:"bin,omitempty"`
}

func echoServer(srv *socketio.Server) {
	for _, name := range []string{"/", "/admin"} {
		srv.Of(name).OnConnection(func(ctx context.Context, s *socketio.Socket) {
			s.On("echo", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
				var m msg
				_ = args.Decode(0, &m)
				_ = s.Emit("echoed", m)
				if ack != nil {
					_ = ack(m)
				}
			})
			s.On("ask", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
				r, err := socketio.EmitWithAckAs[msg](ctx, s, "question", msg{Text: "q", Bin: []byte{9, 8}})
				if err != nil {
					r.Text = "error: " + err.Error()
				}
				_ = ack(r)
			})
			s.On("auth", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
				_ = ack(s.Handshake().Auth)
			})
			s.On("kick", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
				s.Disconnect(false)
			})
			s.On("tick-all", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
				var n int
				_ = args.Decode(0, &n)
				_ = s.Namespace().Emit(ctx, "tick", n)
			})
		})
	}
	srv.Of("/private").Use(func(ctx context.Context, s *socketio.Socket) error {
		return &socketio.ConnectError{Message: "not allowed", Data: map[string]any{"code": 42}}
	})
}

func TestTransports(t *testing.T) {
	t.Parallel()
	forPeers(t, 0, func(t *testing.T, g peer) {
		for _, tc := range transportCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := dial(t, g.URL(), fastOpts(tc.tr...), nil)
				echoed := recv[msg](s, "echoed")
				in := msg{Text: "héllo", Bin: []byte{0, 1, 2, 255}}
				got, err := EmitWithAckAs[msg](tctx(t), s, "echo", in)
				if err != nil || got.Text != in.Text || !bytes.Equal(got.Bin, in.Bin) {
					t.Fatalf("ack = %+v, %v", got, err)
				}
				if e := want(t, echoed); e.Text != in.Text || !bytes.Equal(e.Bin, in.Bin) {
					t.Fatalf("echoed %+v", e)
				}
				// The server's ack request, answered by a typed handler.
				HandleAck(s, "question", func(ctx context.Context, s *Socket, q msg) msg {
					return msg{Text: "answer to " + q.Text, Bin: q.Bin}
				})
				got, err = EmitWithAckAs[msg](tctx(t), s, "ask")
				if err != nil || got.Text != "answer to q" || !bytes.Equal(got.Bin, []byte{9, 8}) {
					t.Fatalf("ask = %+v, %v", got, err)
				}
				deadline := time.Now().Add(5 * time.Second)
				for s.Manager().Transport() != tc.want && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if tr := s.Manager().Transport(); tr != tc.want {
					t.Fatalf("transport %q, want %q", tr, tc.want)
				}
				// Heartbeat: the connection outlives several ping intervals (300 ms + 300 ms).
				time.Sleep(1500 * time.Millisecond)
				if !s.Connected() {
					t.Fatal("disconnected by the heartbeat")
				}
				if _, err := s.EmitWithAck(tctx(t), "echo", msg{}); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

func TestNamespacesAuthConnectError(t *testing.T) {
	t.Parallel()
	forPeers(t, 0, func(t *testing.T, g peer) {
		m, err := NewManager(g.URL(), fastOpts())
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		root := m.Socket("/", map[string]any{"token": "r"})
		admin := m.Socket("/admin", map[string]any{"token": "a"})
		for _, s := range []*Socket{root, admin} {
			if err := s.Connect(tctx(t)); err != nil {
				t.Fatal(err)
			}
		}
		for s, tok := range map[*Socket]string{root: "r", admin: "a"} {
			got, err := EmitWithAckAs[map[string]string](tctx(t), s, "auth")
			if err != nil || got["token"] != tok {
				t.Fatalf("%s auth = %v, %v", s.Namespace(), got, err)
			}
		}
		priv := m.Socket("/private", nil)
		err = priv.Connect(tctx(t))
		var ce *ConnectError
		if !errors.As(err, &ce) || !errors.Is(err, ErrConnectRefused) || ce.Message != "not allowed" || string(ce.Data) != `{"code":42}` {
			t.Fatalf("connect error = %v (%+v)", err, ce)
		}
		err = m.Socket("/nowhere", nil).Connect(tctx(t))
		if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
			t.Fatalf("unknown namespace: %v", err)
		}
		// One namespace leaving does not end the others.
		if err := admin.Disconnect(tctx(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := root.EmitWithAck(tctx(t), "echo", msg{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAckTimeoutVolatileBuffer(t *testing.T) {
	t.Parallel()
	forPeers(t, 0, func(t *testing.T, g peer) {
		m, err := NewManager(g.URL(), Options{MaxBufferedPackets: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		s := m.Socket("/", nil)
		echoed := recv[msg](s, "echoed")
		// Not connected yet: volatile is dropped, two emits are buffered, the third does not fit.
		if err := s.Volatile().Emit("echo", msg{Text: "volatile"}); err != nil {
			t.Fatal(err)
		}
		for _, txt := range []string{"b1", "b2"} {
			if err := s.Emit("echo", msg{Text: txt}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Emit("echo", msg{Text: "b3"}); !errors.Is(err, ErrBufferFull) {
			t.Fatalf("third buffered emit: %v", err)
		}
		if err := s.Connect(tctx(t)); err != nil {
			t.Fatal(err)
		}
		for _, txt := range []string{"b1", "b2"} {
			if got := want(t, echoed); got.Text != txt {
				t.Fatalf("got %q, want %q", got.Text, txt)
			}
		}
		// An event nobody acknowledges: the ctx ends the wait.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := s.EmitWithAck(ctx, "nobody-answers"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("EmitWithAck without answer: %v", err)
		}
		select {
		case got := <-echoed:
			t.Fatalf("volatile emit arrived: %+v", got)
		default:
		}
	})
}

func TestReconnect(t *testing.T) {
	t.Parallel()
	forPeers(t, 0, func(t *testing.T, g peer) {
		s := dial(t, g.URL(), fastOpts(), nil)
		disc := make(chan string, 10)
		conn := make(chan struct{}, 10)
		s.OnDisconnect(func(r string) { disc <- r })
		s.OnConnect(func() { conn <- struct{}{} })
		first := s.ID()
		g.stop()
		if r := want(t, disc); r != "transport close" && r != "transport error" {
			t.Fatalf("reason %q", r)
		}
		time.Sleep(300 * time.Millisecond) // a few failed attempts
		g.start()
		want(t, conn)
		if s.ID() == first || s.ID() == "" || s.Recovered() {
			t.Fatalf("id %q (was %q), recovered %v", s.ID(), first, s.Recovered())
		}
		if _, err := s.EmitWithAck(tctx(t), "echo", msg{Text: "again"}); err != nil {
			t.Fatal(err)
		}
		// The server's disconnect is final.
		if err := s.Emit("kick"); err != nil {
			t.Fatal(err)
		}
		if r := want(t, disc); r != "io server disconnect" {
			t.Fatalf("reason %q", r)
		}
		time.Sleep(300 * time.Millisecond)
		if s.Connected() {
			t.Fatal("reconnected after the server's disconnect")
		}
	})
}

func TestReconnectionAttempts(t *testing.T) {
	t.Parallel()
	o := fastOpts()
	o.ReconnectionAttempts = 2
	_, err := Dial(tctx(t), "http://127.0.0.1:1/", o, nil)
	if !errors.Is(err, ErrReconnectFailed) {
		t.Fatalf("Dial to a closed port: %v", err)
	}
}

func TestRecovery(t *testing.T) {
	t.Parallel()
	forPeers(t, time.Minute, func(t *testing.T, g peer) {
		s := dial(t, g.URL(), fastOpts(WebSocket), nil)
		other := dial(t, g.URL(), fastOpts(WebSocket), nil)
		got := make(chan int, 100)
		s.On("tick", func(ctx context.Context, s *Socket, a Args, ack AckFunc) {
			var n int
			_ = a.Decode(0, &n)
			got <- n
		})
		if err := other.Emit("tick-all", 1); err != nil {
			t.Fatal(err)
		}
		if n := want(t, got); n != 1 {
			t.Fatal(n)
		}
		first := s.ID()
		disc := make(chan string, 1)
		conn := make(chan struct{}, 1)
		s.OnDisconnect(func(r string) { disc <- r })
		s.OnConnect(func() { conn <- struct{}{} })
		// Cut the transport under the client ("transport close" on both sides): the server keeps the session.
		// The manager waits at least 25 ms (50 ms ± 50 %) before reconnecting: the ticks go out meanwhile.
		cutTransport(s)
		want(t, disc)
		for i := 2; i <= 4; i++ {
			if err := other.Emit("tick-all", i); err != nil {
				t.Fatal(err)
			}
		}
		want(t, conn)
		for i := 2; i <= 4; i++ {
			if n := want(t, got); n != i {
				t.Fatalf("got tick %d, want %d", n, i)
			}
		}
		if !s.Recovered() || s.ID() != first {
			t.Fatalf("recovered %v, id %q (was %q)", s.Recovered(), s.ID(), first)
		}
		select {
		case n := <-got:
			t.Fatalf("extra tick %d", n)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// TestArgsFidelity: what a socket.io 4.8 server sends back of the client's values decodes as it was sent: binary
// inside a struct or a map as []byte (Args.Decode), objects with their key order (Args.ValuesOrdered), and an
// argument's text exactly, a lone surrogate included (Args.Raw), as socket.io-client would see them.
func TestArgsFidelity(t *testing.T) {
	t.Parallel()
	n := startNodeServer(t, 0)
	s := dial(t, n.URL(), fastOpts(WebSocket), nil)
	obj := jsvalue.Object{{Key: "z", Value: 1}, {Key: "bin", Value: []byte{7}}, {Key: "a", Value: jsvalue.Object{{Key: "y", Value: 2}, {Key: "b", Value: 3}}}}
	args, err := s.EmitWithAck(tctx(t), "echo",
		map[string]any{"k": []byte{3}, "list": []any{[]byte{4}, "x"}, "map": map[string]any{"b": []byte{5}}},
		obj, json.RawMessage(`"a\ud800b"`))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		K    any            `json:"k"`
		List []any          `json:"list"`
		Map  map[string]any `json:"map"`
	}
	if err := args.Decode(0, &v); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.K, []byte{3}) || !reflect.DeepEqual(v.List, []any{[]byte{4}, "x"}) || !reflect.DeepEqual(v.Map, map[string]any{"b": []byte{5}}) {
		t.Errorf("decoded %#v", v)
	}
	vals, err := args.ValuesOrdered()
	want := jsvalue.Object{{Key: "z", Value: int64(1)}, {Key: "bin", Value: []byte{7}},
		{Key: "a", Value: jsvalue.Object{{Key: "y", Value: int64(2)}, {Key: "b", Value: int64(3)}}}}
	if err != nil || len(vals) != 3 || !reflect.DeepEqual(vals[1], want) {
		t.Errorf("ordered %#v, %v", vals, err)
	}
	if raw := string(args.Raw(2)); raw != `"a\ud800b"` {
		t.Errorf("raw %s", raw)
	}
}
