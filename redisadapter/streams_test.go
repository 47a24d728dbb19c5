package redisadapter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/jsvalue"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// startGoStreamsServer starts a goServer with the streams transport (and cfg's other fields) on redisAddr.
func startGoStreamsServer(t *testing.T, redisAddr, name string, scfg redisadapter.StreamsConfig, cfg socketio.Config) (*goServer, *redisadapter.StreamsAdapter) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	sa := redisadapter.NewStreams(rdb, scfg)
	cfg.Cluster = sa
	return startGoServerOn(t, name, cfg, sa.WaitReady), sa
}

// TestMixedClusterStreams puts a Go server with the streams transport and a Node server with
// @socket.io/redis-streams-adapter on one Redis (0.3.1 with streamCount 1 and 3, and 0.2.3), with real socket.io
// clients on both, and checks every operation in both directions.
func TestMixedClusterStreams(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flavor  testenv.Flavor
		version redisadapter.StreamsVersion
		streams int
	}{
		{"0.3 streamCount=1", testenv.FlavorV4Streams, redisadapter.StreamsV03, 1},
		{"0.3 streamCount=3", testenv.FlavorV4Streams, redisadapter.StreamsV03, 3},
		{"0.2", testenv.FlavorV4Streams02, redisadapter.StreamsV02, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := testenv.StartRedis(t)
			node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: tc.flavor, RedisAddrs: []string{rs.Addr()}, StreamCount: tc.streams})
			g, _ := startGoStreamsServer(t, rs.Addr(), "g", redisadapter.StreamsConfig{StreamCount: tc.streams, Version: tc.version}, socketio.Config{})
			clients := testenv.StartClients(t, 4, []testenv.ClientSpec{
				{Name: "g1", URL: g.url, Rooms: []string{"r1"}},
				{Name: "g2", URL: g.url, Rooms: []string{"r2"}},
				node.Client("n1", "/", "r1"),
				node.Client("n2", "/", "r2"),
			})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			root := g.srv.Of("/")
			// 0.2 counts servers from their heartbeats: each side has heard of the other once its first entry was read.
			testenv.WaitFor(t, func() bool {
				n, err := node.ServerCount(ctx, "/")
				m, _ := root.ServerCount(ctx)
				return err == nil && n == 2 && m == 2
			})
			checkMixedCluster(ctx, t, g, root, node, clients)
		})
	}
}

// checkMixedCluster checks every cluster operation both ways between the Go server g and the Node server, with
// clients g1 (r1), g2 (r2) on g and n1 (r1), n2 (r2) on the Node server.
func checkMixedCluster(ctx context.Context, t *testing.T, g *goServer, root *socketio.Namespace, node *testenv.NodeServer, clients *testenv.Clients) {
	t.Helper()
	if n, err := root.ServerCount(ctx); err != nil || n != 2 {
		t.Fatalf("Go server counts %d servers (%v), want 2", n, err)
	}
	if n, err := node.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("Node server counts %d servers (%v), want 2", n, err)
	}
	want := func(event, args string, got ...string) {
		t.Helper()
		for _, c := range got {
			ev, err := clients.WaitEvent(ctx, c, testenv.EventNamed(event))
			if err != nil {
				t.Fatalf("%s: %s: %v", c, event, err)
			}
			if ev.ArgsJSON() != args {
				t.Errorf("%s: %s got %s, want %s", c, event, ev.ArgsJSON(), args)
			}
		}
	}
	// Broadcasts, both ways: rooms, binary and key order, except, volatile.
	if err := root.To("r1").Emit(ctx, "from-go", jsvalue.Object{{Key: "z", Value: 1}, {Key: "a", Value: []byte{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	want("from-go", `[{"z":1,"a":{"$binary":"AQI="}}]`, "g1", "n1")
	if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Event: "from-node", Args: []any{map[string]any{"n": 2}, []byte{3}}, Rooms: []string{"r2"}}); err != nil {
		t.Fatal(err)
	}
	want("from-node", `[{"n":2},{"$binary":"Aw=="}]`, "g2", "n2")
	if err := root.To("r1", "r2").Except("r1").Emit(ctx, "except-go"); err != nil {
		t.Fatal(err)
	}
	if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Event: "except-node", Rooms: []string{"r1", "r2"}, Except: []string{"r2"}}); err != nil {
		t.Fatal(err)
	}
	want("except-go", `[]`, "g2", "n2")
	want("except-node", `[]`, "g1", "n1")
	if err := root.Volatile().Emit(ctx, "volatile-go", 1); err != nil {
		t.Fatal(err)
	}
	want("volatile-go", `[1]`, "g1", "g2", "n1", "n2")
	clients.AssertNoEvent(t, "g2", "from-go", "except-node")
	clients.AssertNoEvent(t, "n2", "from-go", "except-node")
	clients.AssertNoEvent(t, "g1", "from-node", "except-go")
	clients.AssertNoEvent(t, "n1", "from-node", "except-go")

	// socketsJoin from Go acts on Node's sockets; socketsLeave from Node acts on Go's.
	if err := root.In("r1").SocketsJoin(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool {
		rooms, err := node.Rooms(ctx, "/", clients.IDs["n1"])
		return err == nil && slices.Contains(rooms, "r3")
	})
	if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Event: "to-r3", Rooms: []string{"r3"}}); err != nil {
		t.Fatal(err)
	}
	want("to-r3", `[]`, "g1", "n1")
	if err := node.Op(ctx, testenv.NodeOp{Op: "socketsLeave", Rooms: []string{"r3"}, TargetRooms: []string{"r1"}}); err != nil {
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

	// serverSideEmit, both ways, and with acknowledgements both ways.
	if err := root.ServerSideEmit(ctx, "hello", "from go"); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Wait(ctx, testenv.ServerSideEmit("/", "hello")); err != nil {
		t.Fatalf("Node server did not get the server-side event: %v", err)
	}
	if err := node.Op(ctx, testenv.NodeOp{Op: "serverSideEmit", Event: "ping-all", Args: []any{"from node"}}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return slices.Contains(g.sse, "ping-all from node")
	})
	answers, err := root.ServerSideEmitWithAck(ctx, "ack-me", 1)
	if err != nil || len(answers) != 1 || string(answers[0].Raw(0)) != `{"from":"node","args":[1]}` {
		t.Errorf("Go serverSideEmitWithAck: %v, %v", answers, err)
	}
	nodeAnswers, err := node.ServerSideEmitWithAck(ctx, "/", "ack-me", "x")
	if err != nil || len(nodeAnswers) != 1 || string(nodeAnswers[0]) != `{"from":"g","args":["x"]}` {
		t.Errorf("Node serverSideEmitWithAck: %s, %v", nodeAnswers, err)
	}

	// fetchSockets, both ways.
	socks, err := root.FetchSockets(ctx)
	if err != nil || len(socks) != 4 {
		t.Errorf("Go fetchSockets: %d sockets, %v", len(socks), err)
	}
	for _, s := range socks {
		if !strings.HasPrefix(s.Handshake.URL, "/socket.io/") {
			t.Errorf("Go fetchSockets: socket %s handshake %+v", s.ID, s.Handshake)
		}
	}
	nodeView, err := node.FetchSockets(ctx, "/")
	if err != nil || len(nodeView) != 4 {
		t.Errorf("Node fetchSockets: %d sockets, %v", len(nodeView), err)
	}

	// Broadcasts with acknowledgements, both ways: the clients of r3 answer with their names.
	checkEmitWithAck(ctx, t, root, node, "r3", "g1,n1")

	// disconnectSockets from Go disconnects r2 on both servers.
	if err := root.In("r2").DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"g2", "n2"} {
		if _, err := clients.WaitDisconnect(ctx, c); err != nil {
			t.Fatalf("%s not disconnected: %v", c, err)
		}
	}
}

// switchProxy forwards TCP connections to its current backend; switching closes the connections it carries, as
// when a server dies behind a load balancer.
type switchProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	backend string
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

func startSwitchProxy(t *testing.T, backend string) *switchProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, backend: backend, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.switchTo("")
		p.wg.Wait()
	})
	return p
}

func (p *switchProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *switchProxy) forward(c net.Conn) {
	p.mu.Lock()
	backend := p.backend
	p.mu.Unlock()
	b, err := net.Dial("tcp", backend)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[b] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(b, c); _ = b.Close() }()
	go func() { defer wg.Done(); _, _ = io.Copy(c, b); _ = c.Close() }()
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, b)
	p.mu.Unlock()
}

// switchTo sends the next connections to backend and closes the current ones.
func (p *switchProxy) switchTo(backend string) {
	p.mu.Lock()
	p.backend = backend
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
}

// TestStreamsRecoveryAcrossServers: a real socket.io-client whose server goes away (a proxy switches to the other
// server, closing its connection) recovers on the other one, Node → Go and then Go → Node, with the streams format
// and connection state recovery on both: same socket id, socket.recovered true, and the broadcasts to its rooms
// from either server while it was away, once and in order; not those to other rooms.
func TestStreamsRecoveryAcrossServers(t *testing.T) {
	rs := testenv.StartRedis(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Streams, RedisAddrs: []string{rs.Addr()}, Recovery: 2 * time.Minute})
	g, _ := startGoStreamsServer(t, rs.Addr(), "g", redisadapter.StreamsConfig{}, socketio.Config{ConnectionStateRecovery: &socketio.RecoveryConfig{}})
	proxy := startSwitchProxy(t, strings.TrimPrefix(node.URL(), "http://"))
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: proxy.url(), Rooms: []string{"r1"}, Recovery: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	root := g.srv.Of("/")
	id := clients.IDs["c"]

	var wantArgs []string
	emitBoth := func(tag string) {
		t.Helper()
		if err := root.To("r1").Emit(ctx, "ev", "go-"+tag); err != nil {
			t.Fatal(err)
		}
		if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Event: "ev", Args: []any{"node-" + tag}, Rooms: []string{"r1"}}); err != nil {
			t.Fatal(err)
		}
		if err := root.To("elsewhere").Emit(ctx, "ev", "not-for-c-"+tag); err != nil {
			t.Fatal(err)
		}
		wantArgs = append(wantArgs, `"go-`+tag+`"`, `"node-`+tag+`"`)
	}
	waitArgs := func() {
		t.Helper()
		testenv.WaitFor(t, func() bool { return len(clients.FirstArgs("c", "ev")) >= len(wantArgs) })
		time.Sleep(200 * time.Millisecond) // anything delivered twice would come now
		if got := clients.FirstArgs("c", "ev"); strings.Join(got, " ") != strings.Join(wantArgs, " ") {
			t.Fatalf("c got %v, want %v", got, wantArgs)
		}
	}
	emitBoth("live-on-node")
	waitArgs()

	for i, to := range []string{strings.TrimPrefix(g.url, "http://"), strings.TrimPrefix(node.URL(), "http://")} {
		proxy.switchTo(to) // the server c was on goes away for it
		testenv.WaitFor(t, func() bool {
			lost := 0
			for _, l := range clients.Lines() {
				if l.Type == "transport_lost" {
					lost++
				}
			}
			return lost == i+1
		})
		if i == 0 {
			// The Node server keeps c's session when it sees the connection close.
			testenv.WaitFor(t, func() bool {
				keys, _ := rs.Client(t).Keys(ctx, "sio:session:*").Result()
				return len(keys) == 1
			})
		}
		emitBoth(fmt.Sprintf("missed-%d", i))
		conns, err := clients.WaitConnects(ctx, "c", i+2)
		if err != nil {
			t.Fatal(err)
		}
		if c := conns[i+1]; !c.Recovered || c.ID != id {
			t.Fatalf("reconnection %d: %+v, want recovered as %s", i+1, c, id)
		}
		waitArgs()
		emitBoth(fmt.Sprintf("live-%d", i))
		waitArgs()
	}
	if s := root.Socket(id); s != nil {
		t.Errorf("c is still on the Go server after moving to the Node server")
	}
}

// TestStreamsRedisRestart: a backend publishes numbered broadcasts (the emitter, Streams mode) while Redis
// (appendonly) is stopped for half a second and started again; clients that stay connected to a Go server and to
// a Node server, both on the streams format, get every broadcast Redis accepted, once and in order: none lost (the
// pub/sub format loses what is published while servers resubscribe). A publish that failed as Redis went down
// may still have been written (its answer was lost): it may arrive, once, in its place.
func TestStreamsRedisRestart(t *testing.T) {
	rs := testenv.StartRedis(t, testenv.RedisArgs("--appendonly", "yes"))
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Streams, RedisAddrs: []string{rs.Addr()}})
	g, sa := startGoStreamsServer(t, rs.Addr(), "g", redisadapter.StreamsConfig{}, socketio.Config{})
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{
		{Name: "go", URL: g.url, Rooms: []string{"r"}},
		node.Client("node", "/", "r"),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1})
	defer rdb.Close()
	em, err := emitter.New(rdb, emitter.WithMode(emitter.Streams))
	if err != nil {
		t.Fatal(err)
	}
	const total = 300
	accepted := make([]bool, total)
	refused := 0
	restarted := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		rs.Stop()
		time.Sleep(500 * time.Millisecond)
		rs.Restart()
		close(restarted)
	}()
	for i := range total {
		ectx, ecancel := context.WithTimeout(ctx, 2*time.Second)
		if _, err := em.To("r").Emit(ectx, "n", i); err == nil {
			accepted[i] = true
		} else {
			refused++
		}
		ecancel()
		time.Sleep(5 * time.Millisecond)
	}
	<-restarted
	n := 0
	for _, ok := range accepted {
		if ok {
			n++
		}
	}
	t.Logf("%d broadcasts accepted by Redis, %d refused while it was down", n, refused)
	if refused == 0 {
		t.Fatal("no publish was refused: Redis was not down while the backend published")
	}
	for _, c := range []string{"go", "node"} {
		if _, err := clients.WaitEvents(ctx, c, n, testenv.EventNamed("n")); err != nil {
			t.Fatalf("%s: %v (got %d of %d accepted)", c, err, len(clients.FirstArgs(c, "n")), n)
		}
		time.Sleep(300 * time.Millisecond) // anything delivered twice would come now
		got := clients.FirstArgs(c, "n")
		// Every accepted broadcast, in order, once; a failed one at most once, in its place.
		last, lost, unknown := -1, 0, 0
		seen := map[int]bool{}
		for _, a := range got {
			var i int
			if err := json.Unmarshal([]byte(a), &i); err != nil || i <= last || seen[i] {
				t.Fatalf("%s: broadcast %s out of order or twice, after %d: %v", c, a, last, got)
			}
			seen[i], last = true, i
			if !accepted[i] {
				unknown++
			}
		}
		for i, ok := range accepted {
			if ok && !seen[i] {
				lost++
			}
		}
		t.Logf("%s: %d broadcasts received, %d accepted ones lost, %d whose publish had failed", c, len(got), lost, unknown)
		if lost != 0 {
			t.Errorf("%s lost %d accepted broadcasts", c, lost)
		}
	}
	for r := redisadapter.LossTrimmed; r <= redisadapter.LossOversized; r++ {
		if n := sa.Losses(r); n != 0 {
			t.Errorf("the Go server reports %d losses (%v) across a restart with persistence", n, r)
		}
	}
}

// TestStreamsRecoveryExpired: a client whose session expired in Redis (the Node server keeps it 300 ms) before it
// came back, on a Go server, gets a new socket: socket.recovered false, a new id, nothing replayed.
func TestStreamsRecoveryExpired(t *testing.T) {
	rs := testenv.StartRedis(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Streams, RedisAddrs: []string{rs.Addr()}, Recovery: 300 * time.Millisecond})
	g, _ := startGoStreamsServer(t, rs.Addr(), "g", redisadapter.StreamsConfig{}, socketio.Config{ConnectionStateRecovery: &socketio.RecoveryConfig{}})
	proxy := startSwitchProxy(t, strings.TrimPrefix(node.URL(), "http://"))
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: proxy.url(), Rooms: []string{"r1"}, Recovery: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := clients.IDs["c"]
	if err := g.srv.Of("/").To("r1").Emit(ctx, "ev", "before"); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.WaitEvent(ctx, "c", testenv.EventNamed("ev")); err != nil {
		t.Fatal(err)
	}
	proxy.switchTo(strings.TrimPrefix(g.url, "http://"))
	rdb := rs.Client(t)
	sessions := func() int {
		keys, _ := rdb.Keys(ctx, "sio:session:*").Result()
		return len(keys)
	}
	testenv.WaitFor(t, func() bool { return sessions() == 1 }) // kept by the Node server,
	testenv.WaitFor(t, func() bool { return sessions() == 0 }) // then expired
	if err := g.srv.Of("/").To("r1").Emit(ctx, "ev", "missed"); err != nil {
		t.Fatal(err)
	}
	conns, err := clients.WaitConnects(ctx, "c", 2) // the client comes back 1 s after it lost its transport
	if err != nil {
		t.Fatal(err)
	}
	if c := conns[1]; c.Recovered || c.ID == id {
		t.Fatalf("reconnected as %+v after the session expired, want a new socket (old id %s)", c, id)
	}
	if got := clients.FirstArgs("c", "ev"); strings.Join(got, " ") != `"before"` {
		t.Errorf("got %v, want only what came before the disconnection", got)
	}
}
