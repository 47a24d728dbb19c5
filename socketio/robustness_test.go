package socketio

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// rawClient speaks Engine.IO over WebSocket by hand.
func rawClient(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	if _, open, err := ws.Read(ctx); err != nil || open[0] != '0' {
		t.Fatalf("open: %q %v", open, err)
	}
	return ws
}

// connectRaw connects ws to the main namespace and waits for the server's CONNECT reply.
func connectRaw(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("no CONNECT reply: %v", err)
		}
		if strings.HasPrefix(string(b), "40{") {
			return
		}
	}
}

// readUntilClosed reads frames until the server closes the connection, and returns them.
func readUntilClosed(t *testing.T, ws *websocket.Conn) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []string
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("connection not closed; got %q", got)
			}
			return got
		}
		got = append(got, string(b))
	}
}

// TestMalformedPacketsCloseTheConnection sends broken packets: each closes its connection with "parse error",
// and the server goes on serving.
func TestMalformedPacketsCloseTheConnection(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	reasons := make(chan DisconnectReason, 100)
	ts := startTestServer(t, Config{}, func(_ *testServer, srv *Server) {
		srv.Of("/").OnConnection(func(ctx context.Context, s *Socket) {
			s.OnDisconnect(func(r DisconnectReason) { reasons <- r })
			s.On("boom", func(ctx context.Context, s *Socket, args Args, ack AckFunc) { panic("handler bug") })
			s.On("ping", func(ctx context.Context, s *Socket, args Args, ack AckFunc) { _ = ack("pong") })
		})
	})
	tests := []struct {
		name   string
		frames []string
		binary bool
	}{
		{"bad type", []string{"4x"}, false},
		{"event not an array", []string{`42{"a":1}`}, false},
		{"event without name", []string{`42[]`}, false},
		{"reserved event", []string{`42["disconnect"]`}, false},
		{"not JSON", []string{`42["a"`}, false},
		{"unknown namespace", []string{`42/nope,["a"]`}, false},
		{"binary without header", []string{"\x01\x02"}, true},
		{"text instead of attachment", []string{`451-["a",{"_placeholder":true,"num":0}]`, `42["a"]`}, false},
		{"ack without id", []string{`43["a"]`}, false},
		// socket.io-parser 4.2.7 refuses these ("Illegal attachments"), and the Node server disconnects the client.
		{"binary event announcing no attachment", []string{`450-["a"]`}, false},
		{"binary ack announcing no attachment", []string{`460-1[]`}, false},
		{"placeholder past the attachments", []string{`451-["a",{"_placeholder":true,"num":1}]`, "\x01"}, true},
		{"nested placeholder past the attachments", []string{`451-["a",[{"x":{"_placeholder":true,"num":7}}]]`, "\x01"}, true},
		{"placeholder with a string num", []string{`451-["a",{"_placeholder":true,"num":"0"}]`, "\x01"}, true},
		{"placeholder without num", []string{`451-["a",{"_placeholder":true}]`, "\x01"}, true},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := rawClient(t, ts.URL())
			connectRaw(t, ws) // else a broken packet may close the connection before the socket exists
			for i, f := range tt.frames {
				typ := websocket.MessageText
				if tt.binary && i == len(tt.frames)-1 {
					typ = websocket.MessageBinary
				}
				_ = ws.Write(ctx, typ, []byte(f))
			}
			readUntilClosed(t, ws)
			select {
			case r := <-reasons:
				if r != ReasonParseError {
					t.Errorf("reason %q", r)
				}
			case <-time.After(5 * time.Second):
				t.Error("no disconnect")
			}
		})
	}
	t.Run("handler panic is contained", func(t *testing.T) {
		ws := rawClient(t, ts.URL())
		_ = ws.Write(ctx, websocket.MessageText, []byte("40"))
		_ = ws.Write(ctx, websocket.MessageText, []byte(`42["boom"]`))
		_ = ws.Write(ctx, websocket.MessageText, []byte(`421["ping"]`))
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		for {
			_, b, err := ws.Read(rctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) == `431["pong"]` {
				return
			}
		}
	})
}

// TestSlowClientIsDisconnected fills the bounded queue of a client that reads nothing.
func TestSlowClientIsDisconnected(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	cfg := Config{}
	cfg.Engine.MaxQueuedMessages = 8
	reasons := make(chan DisconnectReason, 1)
	ts := startTestServer(t, cfg, func(_ *testServer, srv *Server) {
		srv.Of("/").OnConnection(func(ctx context.Context, s *Socket) {
			s.OnDisconnect(func(r DisconnectReason) { reasons <- r })
		})
	})
	// A long-polling client that never polls: nothing is written, everything queues.
	res, body := httpGet(t, ts.URL()+"/socket.io/?EIO=4&transport=polling")
	if res != 200 {
		t.Fatal(res)
	}
	sid := body[strings.Index(body, `"sid":"`)+7:]
	sid = sid[:strings.IndexByte(sid, '"')]
	if code, _ := httpPost(t, ts.URL()+"/socket.io/?EIO=4&transport=polling&sid="+sid, "40"); code != 200 {
		t.Fatal(code)
	}
	testenv.WaitFor(t, func() bool { return len(ts.Server().Of("/").Sockets()) == 1 })
	s := ts.Server().Of("/").Sockets()[0]
	for range 100 {
		_ = s.Volatile().Emit("v") // dropped: the client is not ready, no error
	}
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = s.Emit("e", i)
	}
	if err == nil {
		t.Fatal("emits never failed")
	}
	select {
	case r := <-reasons:
		if r != ReasonSlowClient {
			t.Errorf("reason %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not disconnected")
	}
}
