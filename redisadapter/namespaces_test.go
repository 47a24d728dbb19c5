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

// TestManyDynamicNamespaces: one client joining 2000 dynamic namespaces of a server on Redis costs one subscriber
// connection (as Node's shared subscriber), not one per namespace; once it leaves, the empty namespaces are
// removed and unsubscribed, and the goroutines they cost are gone. (On the per-namespace adapter this replaced,
// the same client made the server open 2000 Redis connections and keep 6000 goroutines.)
func TestManyDynamicNamespaces(t *testing.T) {
	const namespaces = 2000
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	adapter := redisadapter.New(rdb, redisadapter.Config{})
	srv, err := socketio.NewServer(socketio.Config{Cluster: adapter, ChildNamespaceCleanupDelay: 200 * time.Millisecond})
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
