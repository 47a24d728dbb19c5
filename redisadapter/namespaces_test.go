package redisadapter_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// redisClients returns the number of connections Redis has.
func redisClients(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	list, err := rdb.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(list, "\n")
}

// TestManyDynamicNamespaces: one client joining 2000 dynamic namespaces of a server on Redis (its MaxNamespaces
// raised to that) costs one subscriber connection (as Node's shared subscriber), not one per namespace, and 17
// pattern subscriptions, not one per namespace; once it leaves, the empty namespaces are
// removed and unsubscribed, and the goroutines they cost are gone. (On the per-namespace adapter this replaced,
// the same client made the server open 2000 Redis connections and keep 6000 goroutines.)
func TestManyDynamicNamespaces(t *testing.T) {
	const namespaces = 2000
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	adapter := redisadapter.New(rdb, redisadapter.Config{})
	srv, err := socketio.NewServer(socketio.Config{Cluster: adapter, ChildNamespaceCleanupDelay: 200 * time.Millisecond, MaxNamespaces: namespaces})
	if err != nil {
		t.Fatal(err)
	}
	srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer func() {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(cctx)
	}()
	if err := adapter.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	clientsBefore, goroutinesBefore := redisClients(t, rdb), runtime.NumGoroutine()

	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	if _, open, err := ws.Read(dctx); err != nil || open[0] != '0' {
		t.Fatalf("open: %q %v", open, err)
	}
	for joined := 0; joined < namespaces; {
		if err := ws.Write(dctx, websocket.MessageText, fmt.Appendf(nil, "40/dyn-%d,", joined)); err != nil {
			t.Fatal(err)
		}
		_, b, err := ws.Read(dctx)
		if err != nil {
			t.Fatalf("after %d CONNECT replies: %v", joined, err)
		}
		switch {
		case string(b) == "2":
			_ = ws.Write(dctx, websocket.MessageText, []byte("3"))
		case strings.HasPrefix(string(b), fmt.Sprintf("40/dyn-%d,", joined)):
			joined++
		default:
			t.Fatalf("unexpected %q", b)
		}
	}
	if err := adapter.WaitReady(dctx); err != nil {
		t.Fatal(err)
	}
	clients, goroutines := redisClients(t, rdb), runtime.NumGoroutine()
	t.Logf("with %d namespaces joined: %d Redis connections (%d before), %d goroutines (%d before)",
		namespaces, clients, clientsBefore, goroutines, goroutinesBefore)
	if clients > clientsBefore+1 {
		t.Errorf("%d Redis connections with %d namespaces, %d before: want the one subscriber connection", clients, namespaces, clientsBefore)
	}
	if goroutines > goroutinesBefore+20 {
		t.Errorf("%d goroutines with %d namespaces, %d before", goroutines, namespaces, goroutinesBefore)
	}
	// A bounded number of patterns for all their broadcasts: Redis matches every PUBLISH against every pattern,
	// and 20 000 patterns (one per namespace) took the PUBLISH rate of everyone using that Redis from 11 300/s to
	// a few hundred. The first 16 namespaces have their own, the others share one.
	if n, err := rdb.PubSubNumPat(dctx).Result(); err != nil || n != 17 {
		t.Errorf("%d patterns subscribed with %d namespaces (%v), want 17", n, namespaces, err)
	}
	// Another publisher's broadcast reaches a namespace of each kind (its own pattern, the shared one) once.
	em, err := emitter.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	for _, nsp := range []string{"/dyn-3", "/dyn-1500"} {
		if _, err := em.Of(nsp).Emit(dctx, "from-emitter"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := em.Of("/dyn-3").Emit(dctx, "last"); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for got[`42/dyn-3,["last"]`] == 0 {
		_, b, err := ws.Read(dctx)
		if err != nil {
			t.Fatalf("reading the broadcasts (%v): %v", got, err)
		}
		if string(b) == "2" {
			_ = ws.Write(dctx, websocket.MessageText, []byte("3"))
			continue
		}
		got[string(b)]++
	}
	if got[`42/dyn-3,["from-emitter"]`] != 1 || got[`42/dyn-1500,["from-emitter"]`] != 1 {
		t.Errorf("broadcasts received: %v; want each once", got)
	}
	// Every namespace is counted by Node's servers: SUBSCRIBE of its request channel.
	if n, err := srv.Of("/dyn-1999").ServerCount(dctx); err != nil || n != 1 {
		t.Errorf("server count of /dyn-1999: %d, %v", n, err)
	}

	_ = ws.Close(websocket.StatusNormalClosure, "")
	testenv.WaitFor(t, func() bool {
		n, err := rdb.PubSubNumSub(ctx, "socket.io-request#/dyn-0#", "socket.io-request#/dyn-1999#").Result()
		return err == nil && n["socket.io-request#/dyn-0#"] == 0 && n["socket.io-request#/dyn-1999#"] == 0
	})
	testenv.WaitFor(t, func() bool {
		chans, err := rdb.PubSubChannels(ctx, "socket.io-*").Result()
		return err == nil && len(chans) == 3 // the main namespace's request, response and own response channels
	})
	testenv.WaitFor(t, func() bool { return runtime.NumGoroutine() <= goroutinesBefore+2 })
	// A client asking again gets a new namespace, subscribed again.
	ws2, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.CloseNow()
	if _, _, err := ws2.Read(dctx); err != nil {
		t.Fatal(err)
	}
	if err := ws2.Write(dctx, websocket.MessageText, []byte("40/dyn-7,")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := ws2.Read(dctx); err != nil || !strings.HasPrefix(string(b), "40/dyn-7,") {
		t.Fatalf("rejoining: %q %v", b, err)
	}
	if err := adapter.WaitReady(dctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.PubSubNumSub(ctx, "socket.io-request#/dyn-7#").Result(); n["socket.io-request#/dyn-7#"] != 1 {
		t.Errorf("a namespace created again is not subscribed: %v", n)
	}
}

// TestNamespacesPerConnectionBounded: a client asking for more dynamic namespaces than MaxNamespaces (default
// 100) gets CONNECT_ERROR "Too many namespaces" for the ones past it, keeps its connection and the namespaces it
// has, and the server creates none of the refused ones.
func TestNamespacesPerConnectionBounded(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adapter := redisadapter.New(rdb, redisadapter.Config{})
	srv, err := socketio.NewServer(socketio.Config{Cluster: adapter})
	if err != nil {
		t.Fatal(err)
	}
	srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(cctx)
	}()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatal(err)
	}
	// The main namespace counts too: 99 dynamic ones fit, the next ones do not.
	if err := ws.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
		t.Fatal(err)
	}
	connected, refused := 0, 0
	for i := range socketio.DefaultMaxNamespaces + 5 {
		if i > 0 {
			if err := ws.Write(ctx, websocket.MessageText, fmt.Appendf(nil, "40/dyn-%d,", i)); err != nil {
				t.Fatal(err)
			}
		}
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("after %d connected, %d refused: %v", connected, refused, err)
			}
			switch msg := string(b); {
			case msg == "2":
				_ = ws.Write(ctx, websocket.MessageText, []byte("3"))
				continue
			case strings.HasPrefix(msg, "40"):
				connected++
			case strings.HasPrefix(msg, "44") && strings.Contains(msg, "Too many namespaces"):
				refused++
			default:
				t.Fatalf("unexpected %q", msg)
			}
			break
		}
	}
	if connected != socketio.DefaultMaxNamespaces || refused != 5 {
		t.Errorf("%d namespaces connected, %d refused; want %d and 5", connected, refused, socketio.DefaultMaxNamespaces)
	}
	if n, err := rdb.PubSubNumSub(ctx, "socket.io-request#/dyn-100#").Result(); err != nil || n["socket.io-request#/dyn-100#"] != 0 {
		t.Errorf("a refused namespace was created and subscribed: %v %v", n, err)
	}
}
