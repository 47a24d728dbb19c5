package engineio

import (
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio/internal/netpoll"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/internal/wsproto"
)

// TestWebSocketIdleGoroutines checks the claim of the poller: an idle WebSocket connection has no goroutine.
func TestWebSocketIdleGoroutines(t *testing.T) {
	e := newEnv(t, Config{})
	base := runtime.NumGoroutine()
	const n = 100
	for range n {
		r := dialRaw(t, e, "&transport=websocket")
		r.open()
	}
	if e.srv.Len() != n {
		t.Fatalf("%d connections", e.srv.Len())
	}
	testenv.WaitFor(t, func() bool { return runtime.NumGoroutine() < base+n/4 })
}

// TestWebSocketNothingLeft ends WebSocket sessions in every way and checks that nothing is left behind: no
// session, no poller registration, no open descriptor, no goroutine (newEnv's leak check).
func TestWebSocketNothingLeft(t *testing.T) {
	e := newEnv(t, Config{PingInterval: 40 * time.Millisecond, PingTimeout: 40 * time.Millisecond, UpgradeTimeout: 100 * time.Millisecond})
	fds := openFDs(t) + 1 // the poller's epoll instance, started with the first WebSocket, stays
	var wg sync.WaitGroup
	ends := []func(r *rawWS, sid string){
		func(r *rawWS, sid string) { _ = r.trySend(wsproto.OpClose, true, nil) }, // close frame
		func(r *rawWS, sid string) { _ = r.nc.Close() },                          // TCP close
		func(r *rawWS, sid string) { _ = r.nc.(*net.TCPConn).CloseWrite() },      // half close
		func(r *rawWS, sid string) { // graceful close by the server (unless the heartbeat ended it already)
			if conn := e.srv.Conn(sid); conn != nil {
				conn.Close()
			}
		},
		func(r *rawWS, sid string) {}, // ping timeout
		func(r *rawWS, sid string) { _, _ = r.nc.Write([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}) }, // protocol error
	}
	const rounds = 10
	for i := range rounds * len(ends) {
		r := dialRaw(t, e, "&transport=websocket")
		sid := r.open()
		end := ends[i%len(ends)]
		wg.Go(func() {
			end(r, sid)
			// Read until the server closes, as a client would.
			for {
				if _, err := r.next(5 * time.Second); err != nil {
					_ = r.nc.Close()
					return
				}
			}
		})
	}
	// Upgrades that never complete: the probe times out.
	for range rounds {
		sid := e.handshake()
		r := dialRaw(t, e, "&transport=websocket&sid="+sid)
		r.send(wsproto.OpText, true, []byte("2probe"))
		if f := r.mustNext(); f.payload != "3probe" {
			t.Fatalf("probe answer %q", f.payload)
		}
		wg.Go(func() {
			for {
				if _, err := r.next(5 * time.Second); err != nil {
					_ = r.nc.Close()
					return
				}
			}
		})
	}
	wg.Wait()
	defer func() {
		e.srv.mu.Lock()
		p := e.srv.pollr
		e.srv.mu.Unlock()
		t.Logf("sessions %d, registrations %d, descriptors %d (before: %d)", e.srv.Len(), p.Len(), openFDs(t), fds)
	}()
	testenv.WaitFor(t, func() bool {
		e.srv.mu.Lock()
		p := e.srv.pollr
		e.srv.mu.Unlock()
		e.cl.CloseIdleConnections() // the long-polling requests' keep-alive connections
		return e.srv.Len() == 0 && p != nil && p.Len() == 0 && openFDs(t) <= fds
	})
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestWebSocketLeavesNet checks that a WebSocket read by the poller keeps no net.Conn (whose descriptor,
// addresses and runtime poll state would cost each idle connection a few hundred bytes), and one read by a
// goroutine keeps its own.
func TestWebSocketLeavesNet(t *testing.T) {
	forEachReader(t, func(t *testing.T, cfg Config) {
		e := newEnv(t, cfg)
		r := dialRaw(t, e, "&transport=websocket")
		c := e.srv.Conn(r.open())
		c.mu.Lock()
		nc := c.ws.nc
		c.mu.Unlock()
		_, detached := nc.(*netpoll.FD)
		if want := !cfg.noPoller; detached != want {
			t.Errorf("connection %T: detached %v, want %v", nc, detached, want)
		}
		// It still works both ways: the handler echoes.
		r.send(wsproto.OpText, true, []byte("4hi"))
		if f := r.mustNext(); f.payload != "4hi" {
			t.Errorf("echo %q", f.payload)
		}
	})
}
