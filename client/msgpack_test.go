package client

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/socketio"
	"github.com/sioredis/sioredis/socketio/msgpackparser"
)

// TestMsgpackParser: with ParserMsgpack the client talks to a Node socket.io 4.8 server given
// socket.io-msgpack-parser 3.0.2 and to the Go server given msgpackparser: events, acknowledgements and binary
// both ways, auth, a second namespace on the connection, a refused namespace, on each transport.
func TestMsgpackParser(t *testing.T) {
	t.Parallel()
	peers := map[string]func(t *testing.T) peer{
		"go": func(t *testing.T) peer {
			return startGoServer(t, socketio.Config{Parser: msgpackparser.Parser{}}, echoServer)
		},
		"node": func(t *testing.T) peer {
			n := &nodeServer{tb: t, parser: "msgpack"}
			n.start()
			t.Cleanup(n.stop)
			return n
		},
	}
	for name, start := range peers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			for _, tr := range []Transport{Polling, WebSocket} {
				t.Run(string(tr), func(t *testing.T) {
					opts := fastOpts(tr)
					opts.Parser = ParserMsgpack
					s := dial(t, g.URL(), opts, map[string]any{"token": "t", "n": 1})
					echoed := recv[msg](s, "echoed")
					in := msg{Text: "héllo", Bin: []byte{0, 1, 2, 255}}
					got, err := EmitWithAckAs[msg](tctx(t), s, "echo", in)
					if err != nil || got.Text != in.Text || !bytes.Equal(got.Bin, in.Bin) {
						t.Fatalf("ack = %+v, %v", got, err)
					}
					if e := want(t, echoed); e.Text != in.Text || !bytes.Equal(e.Bin, in.Bin) {
						t.Fatalf("echoed %+v", e)
					}
					HandleAck(s, "question", func(ctx context.Context, s *Socket, q msg) msg {
						return msg{Text: "answer to " + q.Text, Bin: q.Bin}
					})
					got, err = EmitWithAckAs[msg](tctx(t), s, "ask")
					if err != nil || got.Text != "answer to q" || !bytes.Equal(got.Bin, []byte{9, 8}) {
						t.Fatalf("ask = %+v, %v", got, err)
					}
					auth, err := EmitWithAckAs[map[string]any](tctx(t), s, "auth")
					if err != nil || auth["token"] != "t" || auth["n"] != float64(1) {
						t.Fatalf("auth = %v, %v", auth, err)
					}
					admin := s.Manager().Socket("/admin", nil)
					ticks := recv[int](admin, "tick")
					if err := admin.Connect(tctx(t)); err != nil {
						t.Fatal(err)
					}
					if err := admin.Emit("tick-all", 7); err != nil {
						t.Fatal(err)
					}
					if n := want(t, ticks); n != 7 {
						t.Fatalf("tick %d", n)
					}
					refused := s.Manager().Socket("/private", nil)
					var ce *ConnectError
					if err := refused.Connect(tctx(t)); !errors.As(err, &ce) || ce.Message != "not allowed" || string(ce.Data) != `{"code":42}` {
						t.Fatalf("connect /private: %v", err)
					}
				})
			}
		})
	}
}

// TestOtherParser: a client whose parser is not the server's never connects (the server closes the connection at
// its first packet); Dial, without reconnection, fails.
func TestOtherParser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		server socketio.Parser
		client Parser
	}{
		{"msgpack client, json server", nil, ParserMsgpack},
		{"json client, msgpack server", msgpackparser.Parser{}, ParserJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGoServer(t, socketio.Config{Parser: tc.server}, echoServer)
			opts := fastOpts(WebSocket)
			opts.Parser, opts.NoReconnection = tc.client, true
			ctx, cancel := context.WithTimeout(tctx(t), 3*time.Second)
			defer cancel()
			s, err := Dial(ctx, g.URL(), opts, nil)
			if err == nil {
				_ = s.Close()
				t.Fatal("connected")
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Dial waited for its context: %v", err)
			}
			t.Logf("Dial: %v", err)
		})
	}
}

// TestMsgpackSizeLimit: a msgpack packet over the server's Engine.IO message limit (MaxHTTPBufferSize, Node's
// maxHttpBufferSize; a long-polling request counts binary as base64) closes the connection, as the Node server
// closes it; one within it arrives.
func TestMsgpackSizeLimit(t *testing.T) {
	t.Parallel()
	cfg := socketio.Config{Parser: msgpackparser.Parser{}, Engine: engineio.Config{
		PingInterval: 300 * time.Millisecond, PingTimeout: 300 * time.Millisecond, MaxHTTPBufferSize: 10_000}}
	g := startGoServer(t, cfg, echoServer)
	for _, tr := range []Transport{Polling, WebSocket} {
		t.Run(string(tr), func(t *testing.T) {
			opts := fastOpts(tr)
			opts.Parser, opts.NoReconnection = ParserMsgpack, true
			s := dial(t, g.URL(), opts, nil)
			if _, err := EmitWithAckAs[msg](tctx(t), s, "echo", msg{Bin: make([]byte, 5_000)}); err != nil {
				t.Fatalf("within the limit: %v", err)
			}
			gone := make(chan string, 1)
			s.OnDisconnect(func(reason string) { gone <- reason })
			if err := s.Emit("echo", msg{Bin: make([]byte, 11_000)}); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-gone:
				t.Logf("disconnected: %s", r)
			case <-time.After(5 * time.Second):
				t.Fatal("still connected after a packet over the limit")
			}
		})
	}
}
