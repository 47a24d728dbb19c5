package socketio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// apiSuite is the server testpeers/sio-api-suite.js expects, and what it records.
type apiSuite struct {
	handshakes atomic.Int64

	mu      sync.Mutex
	cookies map[string][][2]string // by Engine.IO session: [transport, Cookie] of each request after the handshake
	refused []*engineio.ConnectionError
}

func (a *apiSuite) config() Config {
	cfg := fastHeartbeat()
	cfg.Engine.InitialHeaders = func(h http.Header, r *http.Request) {
		h.Set("Set-Cookie", fmt.Sprintf("hapi=handshake-%d; Path=/", a.handshakes.Add(1)))
	}
	cfg.Engine.Headers = func(h http.Header, r *http.Request) {
		h.Set("X-Engine", "every")
		q := r.URL.Query()
		if sid := q.Get("sid"); sid != "" {
			a.mu.Lock()
			a.cookies[sid] = append(a.cookies[sid], [2]string{q.Get("transport"), r.Header.Get("Cookie")})
			a.mu.Unlock()
		}
	}
	cfg.Engine.OnConnectionError = func(e *engineio.ConnectionError) {
		a.mu.Lock()
		a.refused = append(a.refused, e)
		a.mu.Unlock()
	}
	return cfg
}

func (a *apiSuite) setup(_ *testServer, srv *Server) {
	ns := srv.Of("/")
	ns.OnConnection(func(ctx context.Context, s *Socket) {
		s.Use(func(ctx context.Context, s *Socket, event string, args Args) error {
			if event == "forbidden" {
				return errors.New("unauthorized event " + event)
			}
			return nil
		})
		s.OnError(func(err error) { _ = s.Emit("refused", err.Error()) })
		s.On("forbidden", func(ctx context.Context, s *Socket, args Args, ack AckFunc) { _ = ack("handled!") })
		s.On("allowed", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
			var n int
			_ = args.Decode(0, &n)
			_ = ack(fmt.Sprintf("allowed %d", n))
		})
		s.Once("one-shot", func(ctx context.Context, s *Socket, args Args, ack AckFunc) { _ = ack("first") })
		s.On("removable", func(ctx context.Context, s *Socket, args Args, ack AckFunc) { _ = ack("here") })
		s.On("remove", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
			var ev string
			_ = args.Decode(0, &ev)
			s.Off(ev)
			_ = ack()
		})
		s.On("outgoing-run", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
			var mu sync.Mutex
			sent := []string{}
			remove := s.OnAnyOutgoing(func(s *Socket, event string, args []any) {
				mu.Lock()
				sent = append(sent, event)
				mu.Unlock()
			})
			s.Join("r")
			_ = s.Emit("direct")
			_ = ns.To("r").Emit(ctx, "to-room")
			_ = ns.Except(s.ID()).Emit(ctx, "excluded")
			_ = ns.Emit(ctx, "to-all")
			remove()
			_ = s.Emit("after-remove")
			mu.Lock()
			defer mu.Unlock()
			_ = ack(sent)
		})
		s.On("cookies-seen", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
			a.mu.Lock()
			seen := a.cookies[s.Conn().ID()]
			a.mu.Unlock()
			if seen == nil {
				seen = [][2]string{}
			}
			_ = ack(seen)
		})
	})
}

// TestNodeClientServerAPI runs testpeers/sio-api-suite.js (real socket.io-client 4.8.4 and ws) against the
// server: socket.use, once/off, onAnyOutgoing, the headers hooks and connection_error, on each transport setup.
func TestNodeClientServerAPI(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			a := &apiSuite{cookies: make(map[string][][2]string)}
			ts := startTestServer(t, a.config(), a.setup)
			out := testenv.RunNode(t, "sio-api-suite.js", "--url", ts.URL(), "--mode", mode)
			n := suiteResults(t, out)
			if n != 5 {
				t.Fatalf("%d scenarios ran, want 5:\n%s", n, out)
			}
			ts.close()
			a.mu.Lock()
			defer a.mu.Unlock()
			if len(a.refused) != 1 || a.refused[0].Code != engineio.CodeForbidden ||
				a.refused[0].Context["origin"] != "https://evil.example" {
				t.Fatalf("connection errors %+v, want one Forbidden for https://evil.example", a.refused)
			}
		})
	}
}
