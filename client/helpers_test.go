package client

import (
	"context"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/socketio"
)

func TestMain(m *testing.M) { os.Exit(testenv.CheckLeaks(m.Run())) }

// goServer is a Go Socket.IO server on a loopback port that can be stopped and started again on the same port.
type goServer struct {
	tb    testing.TB
	cfg   socketio.Config
	setup func(*socketio.Server)
	addr  string

	mu  sync.Mutex
	srv *socketio.Server
	hs  *http.Server
}

func startGoServer(tb testing.TB, cfg socketio.Config, setup func(*socketio.Server)) *goServer {
	tb.Helper()
	if cfg.Engine.PingInterval == 0 {
		cfg.Engine = engineio.Config{PingInterval: 300 * time.Millisecond, PingTimeout: 300 * time.Millisecond}
	}
	g := &goServer{tb: tb, cfg: cfg, setup: setup, addr: "127.0.0.1:0"}
	g.start()
	tb.Cleanup(g.stop)
	return g
}

func (g *goServer) start() {
	g.tb.Helper()
	srv, err := socketio.NewServer(g.cfg)
	if err != nil {
		g.tb.Fatal(err)
	}
	if g.setup != nil {
		g.setup(srv)
	}
	var ln net.Listener
	for i := 0; ; i++ {
		ln, err = net.Listen("tcp", g.addr)
		if err == nil || i == 100 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		g.tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	g.mu.Lock()
	g.addr, g.srv, g.hs = ln.Addr().String(), srv, hs
	g.mu.Unlock()
	go func() { _ = hs.Serve(ln) }()
}

func (g *goServer) stop() {
	g.mu.Lock()
	srv, hs := g.srv, g.hs
	g.srv, g.hs = nil, nil
	g.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Close()
	_ = srv.Shutdown(ctx)
}

func (g *goServer) server() *socketio.Server {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.srv
}

func (g *goServer) URL() string { return "http://" + g.addr }

// fastOpts are options with short reconnection delays.
func fastOpts(tr ...Transport) Options {
	return Options{Transports: tr, ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 200 * time.Millisecond}
}

func tctx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func dial(tb testing.TB, url string, opts Options, auth any) *Socket {
	tb.Helper()
	s, err := Dial(tctx(tb), url, opts, auth)
	if err != nil {
		tb.Fatalf("Dial %s: %v", url, err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// recv collects values of one event.
func recv[T any](s *Socket, event string) chan T {
	ch := make(chan T, 100)
	Handle(s, event, func(ctx context.Context, s *Socket, v T) { ch <- v })
	return ch
}

func want[T any](tb testing.TB, ch chan T) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		tb.Fatal("timeout waiting for a value")
	}
	var z T
	return z
}

// cutTransport ends the socket's connection as a network failure would (the manager reconnects).
func cutTransport(s *Socket) {
	s.m.mu.Lock()
	e := s.m.eng
	s.m.mu.Unlock()
	if e != nil {
		e.fail("transport close", ErrTransportClosed)
	}
}

// peer is a server the interop tests run against.
type peer interface {
	URL() string
	start()
	stop()
}

// forPeers runs fn against the Go server (echoServer) and a Node socket.io 4.8 server (testdata/node-server.js),
// in parallel, with connection state recovery when recovery > 0.
func forPeers(t *testing.T, recovery time.Duration, fn func(t *testing.T, g peer)) {
	t.Run("go", func(t *testing.T) {
		t.Parallel()
		cfg := socketio.Config{}
		if recovery > 0 {
			cfg.ConnectionStateRecovery = &socketio.RecoveryConfig{MaxDisconnectionDuration: recovery}
		}
		fn(t, startGoServer(t, cfg, echoServer))
	})
	t.Run("node", func(t *testing.T) {
		t.Parallel()
		fn(t, startNodeServer(t, recovery))
	})
}

// transportCases are the three ways a client can run: polling only, WebSocket only, and polling upgraded to
// WebSocket (want is the transport it ends on).
var transportCases = []struct {
	name string
	tr   []Transport
	want string
}{
	{"polling", []Transport{Polling}, "polling"},
	{"websocket", []Transport{WebSocket}, "websocket"},
	{"upgrade", []Transport{Polling, WebSocket}, "websocket"},
}
