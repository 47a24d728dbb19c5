package redisadapter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testenv"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// goServer is a Go Socket.IO server with the Redis adapter, behaving as testpeers/server.js does for
// testpeers/clients.js: it joins the rooms of the handshake query and answers "__joined".
type goServer struct {
	srv *socketio.Server
	url string

	mu  sync.Mutex
	sse []string // server-side events received: "event args"
}

func startGoServer(t *testing.T, redisAddr string) *goServer {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	srv, err := socketio.NewServer(socketio.Config{Adapter: redisadapter.New(rdb, redisadapter.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	g := &goServer{srv: srv}
	root := srv.Of("/")
	root.OnConnection(func(ctx context.Context, s *socketio.Socket) {
		var rooms []string
		if q := s.Handshake().Query.Get("rooms"); q != "" {
			rooms = strings.Split(q, ",")
		}
		s.Join(rooms...)
		_ = s.Emit("__joined", map[string]any{"id": s.ID(), "nsp": "/", "rooms": s.Rooms()})
	})
	root.OnServerSideEmit(func(ctx context.Context, event string, args socketio.Args) {
		vals, _ := args.Values()
		g.mu.Lock()
		g.sse = append(g.sse, event+" "+fmt.Sprint(vals...))
		g.mu.Unlock()
	})
	hs := httptest.NewServer(srv)
	g.url = hs.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		hs.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := redisadapter.WaitReady(ctx, root); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestMixedCluster puts a Go server and a Node server (socket.io 4.8 with @socket.io/redis-adapter) on one Redis,
// with real socket.io clients on both, and checks that broadcasts and commands cross in both directions.
func TestMixedCluster(t *testing.T) {
	rs := testenv.StartRedis(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()}})
	g := startGoServer(t, rs.Addr())
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{
		{Name: "g1", URL: g.url, Rooms: []string{"r1"}},
		{Name: "g2", URL: g.url, Rooms: []string{"r2"}},
		node.Client("n1", "/", "r1"),
		node.Client("n2", "/", "r2"),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root := g.srv.Of("/")

	// The server count, seen from both sides.
	if n, err := root.Adapter().ServerCount(ctx); err != nil || n != 2 {
		t.Fatalf("Go server counts %d servers (%v), want 2", n, err)
	}
	if n, err := node.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("Node server counts %d servers (%v), want 2", n, err)
	}

	// A broadcast from the Go server reaches room r1 on both servers, and only it.
	if err := root.To("r1").Emit(ctx, "from-go", map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"g1", "n1"} {
		ev, err := clients.WaitEvent(ctx, c, testenv.EventNamed("from-go"))
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if ev.ArgsJSON() != `[{"n":1}]` {
			t.Errorf("%s got %s", c, ev.ArgsJSON())
		}
	}

	// An emitter's broadcast (the format Node servers publish too) reaches room r2 on both servers, binary
	// included; keys keep their order.
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rdb.Close()
	em, err := emitter.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	if err := em.To("r2").Emit(ctx, "from-emitter", protocol.Object{{Key: "z", Value: 1}, {Key: "a", Value: []byte{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"g2", "n2"} {
		ev, err := clients.WaitEvent(ctx, c, testenv.EventNamed("from-emitter"))
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if ev.ArgsJSON() != `[{"z":1,"a":{"$binary":"AQI="}}]` {
			t.Errorf("%s got %s", c, ev.ArgsJSON())
		}
	}
	clients.AssertNoEvent(t, "g1", "from-emitter")
	clients.AssertNoEvent(t, "n2", "from-go")

	// socketsJoin from the Go server acts on the Node server's sockets too.
	if err := root.In("r1").SocketsJoin(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	if err := em.To("r3").Emit(ctx, "to-r3"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"g1", "n1"} {
		if _, err := clients.WaitEvent(ctx, c, testenv.EventNamed("to-r3")); err != nil {
			t.Fatalf("%s after socketsJoin: %v", c, err)
		}
	}

	// socketsLeave from an emitter acts on the Go server's sockets.
	if err := em.In("r3").SocketsLeave(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool {
		for _, s := range root.Sockets() {
			if slices.Contains(s.Rooms(), "r1") {
				return false
			}
		}
		return true
	})

	// serverSideEmit, both ways.
	if err := root.ServerSideEmit(ctx, "hello", "from go"); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Wait(ctx, testenv.ServerSideEmit("/", "hello")); err != nil {
		t.Fatalf("Node server did not get the server-side event: %v", err)
	}
	if err := em.ServerSideEmit(ctx, "ping-all", "from emitter"); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return slices.Contains(g.sse, "ping-all from emitter")
	})

	// fetchSockets, both ways: each server sees the 4 sockets of the cluster, with their rooms.
	socks, err := root.FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rooms []string
	for _, s := range socks {
		rooms = append(rooms, strings.Join(slices.DeleteFunc(slices.Clone(s.Rooms), func(r string) bool { return r == s.ID }), "+"))
	}
	for _, s := range socks {
		if h := s.Handshake; !strings.HasPrefix(h.URL, "/socket.io/") || h.Query.Get("rooms") == "" || h.Time.IsZero() {
			t.Errorf("Go fetchSockets: socket %s handshake %+v", s.ID, h)
		}
	}
	slices.Sort(rooms)
	if got := strings.Join(rooms, " "); got != "r2 r2 r3 r3" {
		t.Errorf("Go fetchSockets: rooms %q (want two sockets in r2 and two in r3)", got)
	}
	nodeView, err := node.FetchSockets(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	if len(nodeView) != 4 {
		t.Errorf("Node fetchSockets: %d sockets, want 4: %+v", len(nodeView), nodeView)
	}
	for _, s := range nodeView {
		if s.URL == "" {
			t.Errorf("Node fetchSockets: socket %s without handshake url", s.ID)
		}
	}

	// Broadcasts with acknowledgements, both ways: the clients of r3 (g1 on the Go server, n1 on the Node server)
	// acknowledge with their names.
	acks, err := root.To("r3").EmitWithAck(ctx, "ask")
	if err != nil {
		t.Fatalf("Go emitWithAck: %v", err)
	}
	var from []string
	for _, a := range acks {
		var v struct {
			From string `json:"from"`
		}
		if err := a.Decode(0, &v); err != nil {
			t.Fatal(err)
		}
		from = append(from, v.From)
	}
	slices.Sort(from)
	if got := strings.Join(from, ","); got != "g1,n1" {
		t.Errorf("Go emitWithAck answered by %q, want g1,n1", got)
	}
	nodeAcks, err := node.EmitWithAck(ctx, "/", "ask", "r3")
	if err != nil {
		t.Fatalf("Node emitWithAck: %v", err)
	}
	from = from[:0]
	for _, a := range nodeAcks {
		var v struct {
			From string `json:"from"`
		}
		if err := json.Unmarshal(a, &v); err != nil {
			t.Fatal(err)
		}
		from = append(from, v.From)
	}
	slices.Sort(from)
	if got := strings.Join(from, ","); got != "g1,n1" {
		t.Errorf("Node emitWithAck answered by %q, want g1,n1", got)
	}

	// disconnectSockets from the Go server disconnects room r2 on both servers.
	if err := root.In("r2").DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"g2", "n2"} {
		if _, err := clients.WaitDisconnect(ctx, c); err != nil {
			t.Fatalf("%s not disconnected: %v", c, err)
		}
	}
}
