package client

import (
	"context"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/socketio"
)

// stallProxy is a reverse proxy (net/http/httputil) to a server. It passes WebSocket handshakes on once armed,
// and from then on holds the responses to long-polling GETs until release: the server has answered the GET, the
// client does not see it.
type stallProxy struct {
	hs       *httptest.Server
	arm      chan struct{}
	armOnce  sync.Once
	probed   atomic.Bool
	held     chan struct{} // closed when a GET response is first held
	heldOnce sync.Once
	release  chan struct{}
	relOnce  sync.Once
	wsDone   chan struct{} // closed when the WebSocket through the proxy has ended
	wsOnce   sync.Once
}

func startStallProxy(tb testing.TB, backend string) *stallProxy {
	tb.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		tb.Fatal(err)
	}
	p := &stallProxy{arm: make(chan struct{}), held: make(chan struct{}), release: make(chan struct{}), wsDone: make(chan struct{})}
	tr := &http.Transport{}
	rp := &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:      tr,
		ModifyResponse: p.modify,
		ErrorLog:       stdlog.New(io.Discard, "", 0),
	}
	p.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("transport") == "websocket" {
			select {
			case <-p.arm:
			case <-r.Context().Done():
				return
			}
			p.probed.Store(true)
			rp.ServeHTTP(w, r) // returns when the WebSocket ends
			p.wsOnce.Do(func() { close(p.wsDone) })
			return
		}
		rp.ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		p.armOnce.Do(func() { close(p.arm) })
		p.unblock()
		p.hs.Close()
		tr.CloseIdleConnections()
	})
	return p
}

func (p *stallProxy) modify(resp *http.Response) error {
	req := resp.Request
	if req.Method != http.MethodGet || req.URL.Query().Get("transport") != "polling" || !p.probed.Load() {
		return nil
	}
	p.heldOnce.Do(func() { close(p.held) })
	select {
	case <-p.release:
		return nil
	case <-req.Context().Done():
		return req.Context().Err()
	}
}

func (p *stallProxy) unblock() { p.relOnce.Do(func() { close(p.release) }) }

// TestUpgradeStall upgrades through a proxy that holds the long-polling GET outstanding when the WebSocket probes,
// so the polling transport cannot pause: the client must give the upgrade up (closing the probe WebSocket) soon
// enough that the emits it held meanwhile reach the server, the pongs too (the Go server, pingInterval 500 ms and
// pingTimeout 1 s, would close a session whose pong is late), and stay connected on polling once the GET comes
// back.
func TestUpgradeStall(t *testing.T) {
	t.Parallel()
	notes := make(chan time.Time, 10)
	g := startGoServer(t, socketio.Config{Engine: engineio.Config{PingInterval: 500 * time.Millisecond, PingTimeout: time.Second}},
		func(srv *socketio.Server) {
			echoServer(srv)
			srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
				s.On("note", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
					notes <- time.Now()
				})
			})
		})
	p := startStallProxy(t, g.URL())
	s := dial(t, p.hs.URL, fastOpts(Polling, WebSocket), nil)
	reasons := make(chan string, 10)
	s.OnDisconnect(func(reason string) { reasons <- reason })
	id := s.ID()
	p.armOnce.Do(func() { close(p.arm) }) // connected: let the probe's WebSocket through

	select {
	case <-p.held:
	case <-time.After(10 * time.Second):
		t.Fatal("no long-polling GET held: the client did not probe the upgrade")
	}
	// Wait for the probe to pause polling (it cannot finish: the reader is stuck in the held GET), then emit.
	s.m.mu.Lock()
	e := s.m.eng
	s.m.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.mu.Lock()
		pausing := e.pausing
		e.mu.Unlock()
		if pausing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the upgrade never paused polling")
		}
		time.Sleep(time.Millisecond)
	}
	paused := time.Now()
	if err := s.Emit("note"); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-notes:
		// Held by the pause until the client gave the upgrade up, pingTimeout/2 after the pause began.
		if d := at.Sub(paused); d > 900*time.Millisecond {
			t.Fatalf("the emit reached the server %v after the pause began, want within pingTimeout (1 s)", d)
		}
		t.Logf("emit delivered %v after the pause began", at.Sub(paused))
	case r := <-reasons:
		t.Fatalf("disconnected (%s) while the GET was held", r)
	case <-time.After(5 * time.Second):
		t.Fatal("the emit was held: the upgrade was not given up")
	}
	select {
	case <-p.wsDone:
	case <-time.After(2 * time.Second):
		t.Fatal("the probe WebSocket is still open: the upgrade was not given up")
	}
	if tr := s.Manager().Transport(); tr != "polling" {
		t.Fatalf("transport %q while the GET is held, want polling", tr)
	}

	// The GET comes back: the session goes on over polling, through several heartbeats.
	p.unblock()
	if _, err := s.EmitWithAck(tctx(t), "echo", msg{Text: "after"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	select {
	case r := <-reasons:
		t.Fatalf("disconnected (%s) after the stalled upgrade", r)
	default:
	}
	if tr := s.Manager().Transport(); tr != "polling" || s.ID() != id || !s.Connected() {
		t.Fatalf("transport %q, id %q (was %q), connected %v", tr, s.ID(), id, s.Connected())
	}
	if _, err := s.EmitWithAck(tctx(t), "echo", msg{Text: "later"}); err != nil {
		t.Fatal(err)
	}
}
