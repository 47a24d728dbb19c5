package socketio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
)

// testServer runs a Socket.IO server on a loopback port, and can restart it on the same port.
type testServer struct {
	tb    testing.TB
	setup func(*testServer, *Server)
	cfg   Config

	mu     sync.Mutex
	addr   string
	srv    *Server
	http   *http.Server
	closed bool
	wg     sync.WaitGroup // serve loops and restarts
}

func startTestServer(tb testing.TB, cfg Config, setup func(*testServer, *Server)) *testServer {
	tb.Helper()
	ts := &testServer{tb: tb, setup: setup, cfg: cfg}
	if err := ts.start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(ts.close)
	return ts
}

func (ts *testServer) URL() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return "http://" + ts.addr
}

func (ts *testServer) Server() *Server {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.srv
}

func (ts *testServer) start(addr string) error {
	srv, err := NewServer(ts.cfg)
	if err != nil {
		return err
	}
	ts.setup(ts, srv)
	var ln net.Listener
	for i := 0; ; i++ {
		ln, err = net.Listen("tcp", addr)
		if err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ts.mu.Lock()
	if ts.closed {
		ts.mu.Unlock()
		_ = ln.Close()
		return srv.Shutdown(context.Background())
	}
	ts.addr, ts.srv, ts.http = ln.Addr().String(), srv, hs
	ts.wg.Add(1)
	ts.mu.Unlock()
	go func() {
		defer ts.wg.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			ts.tb.Errorf("serve: %v", err)
		}
	}()
	return nil
}

// stop closes the Socket.IO server (clients see "transport close") and the HTTP server.
func (ts *testServer) stop() {
	ts.mu.Lock()
	srv, hs := ts.srv, ts.http
	ts.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		ts.tb.Errorf("close: %v", err)
	}
	_ = hs.Shutdown(ctx)
	_ = hs.Close()
}

// restart stops the server and starts a new one on the same port, from a goroutine of its own (a handler
// cannot wait for its own server to close).
func (ts *testServer) restart(pause time.Duration) {
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		addr := ts.addr
		ts.stop()
		time.Sleep(pause)
		if err := ts.start(addr); err != nil {
			ts.tb.Errorf("restart: %v", err)
		}
	}()
}

func (ts *testServer) close() {
	ts.mu.Lock()
	ts.closed = true
	ts.mu.Unlock()
	ts.stop()
	ts.wg.Wait()
}

// fastHeartbeat makes ping timeouts quick to observe.
func fastHeartbeat() Config {
	return Config{Engine: engineio.Config{PingInterval: 200 * time.Millisecond, PingTimeout: 2 * time.Second}}
}

var errEOF = io.EOF

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func httpPost(t *testing.T, url, body string) (int, string) {
	t.Helper()
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := cl.Post(url, "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
