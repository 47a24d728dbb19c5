package redisadapter_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/jsvalue"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/pubsub"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// shardNumSub is PUBSUB SHARDNUMSUB of channel summed over the masters.
func shardNumSub(ctx context.Context, rc *redis.ClusterClient, channel string) int {
	var mu sync.Mutex
	n := 0
	_ = rc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		res, err := c.PubSubShardNumSub(ctx, channel).Result()
		mu.Lock()
		n += int(res[channel])
		mu.Unlock()
		return err
	})
	return n
}

// ackFrom returns the sorted "from" of acknowledgements decoded by decode.
func sortedJoin(l []string) string {
	slices.Sort(l)
	return strings.Join(l, ",")
}

// TestMixedShardedCluster puts a Go server with the sharded transport and a Node server with createShardedAdapter
// (@socket.io/redis-adapter 8.3) in the same subscription mode on a real 3-master Redis Cluster, with real
// socket.io clients on both, and checks every operation in both directions, in each mode.
func TestMixedShardedCluster(t *testing.T) {
	rc := testenv.StartRedisCluster(t, 3)
	for _, tc := range []struct {
		mode   redisadapter.SubscriptionMode
		flavor testenv.Flavor
	}{
		{redisadapter.ModeStatic, testenv.FlavorV4ShardedStatic},
		{redisadapter.ModeDynamic, testenv.FlavorV4ShardedDynamic},
		{redisadapter.ModeDynamicPrivate, testenv.FlavorV4ShardedDynamicPrivate},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			testMixedSharded(t, rc, tc.mode, tc.flavor)
		})
	}
}

func testMixedSharded(t *testing.T, rc *testenv.Cluster, mode redisadapter.SubscriptionMode, flavor testenv.Flavor) {
	prefix := "sio-" + string(mode)
	rdb := rc.Client(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: flavor, RedisAddrs: rc.Addrs(), Prefix: prefix})
	adapter := redisadapter.NewSharded(rdb, redisadapter.ShardedConfig{Prefix: prefix, SubscriptionMode: mode})
	g := startGoServerOn(t, "g", socketio.Config{Cluster: adapter}, adapter.WaitReady)
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{
		{Name: "g1", URL: g.url, Rooms: []string{"r1"}},
		{Name: "g2", URL: g.url, Rooms: []string{"r2"}},
		node.Client("n1", "/", "r1"),
		node.Client("n2", "/", "r2"),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := adapter.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	root := g.srv.Of("/")
	main := prefix + "#/#"
	// settle waits until both servers have subscribed to the channel of room (in the dynamic modes).
	settle := func(room string, servers int) {
		t.Helper()
		if mode == redisadapter.ModeStatic {
			return
		}
		if err := adapter.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, func() bool { return shardNumSub(ctx, rdb, main+room+"#") == servers })
	}
	wait := func(event string, names ...string) []testenv.Event {
		t.Helper()
		var out []testenv.Event
		for _, c := range names {
			ev, err := clients.WaitEvent(ctx, c, testenv.EventNamed(event))
			if err != nil {
				t.Fatalf("%s: %s: %v", c, event, err)
			}
			out = append(out, ev)
		}
		return out
	}

	// The server count, seen from both sides.
	if n, err := root.ServerCount(ctx); err != nil || n != 2 {
		t.Fatalf("Go server counts %d servers (%v), want 2", n, err)
	}
	if n, err := node.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("Node server counts %d servers (%v), want 2", n, err)
	}
	// The room channels each mode subscribes to.
	if mode != redisadapter.ModeStatic {
		settle("r1", 2)
		settle("r2", 2)
	} else if n := shardNumSub(ctx, rdb, main+"r1#"); n != 0 {
		t.Errorf("static mode: %d subscribers of r1's channel", n)
	}

	// Go → both: a room, except, a socket id of the Node server, volatile and binary.
	socks, err := node.Sockets(ctx, "/")
	if err != nil || len(socks) != 2 {
		t.Fatalf("Node sockets %v %v", socks, err)
	}
	var n1 string
	for _, s := range socks {
		if slices.Contains(s.Rooms, "r1") {
			n1 = s.ID
		}
	}
	if err := root.To("r1").Emit(ctx, "go-r1", map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range wait("go-r1", "g1", "n1") {
		if ev.ArgsJSON() != `[{"n":1}]` {
			t.Errorf("go-r1: %s", ev.ArgsJSON())
		}
	}
	if err := root.Except("r1").Emit(ctx, "go-except"); err != nil {
		t.Fatal(err)
	}
	wait("go-except", "g2", "n2")
	if err := root.To(n1).Emit(ctx, "go-sid"); err != nil {
		t.Fatal(err)
	}
	wait("go-sid", "n1")
	if err := root.To("r2").Volatile().Emit(ctx, "go-bin", jsvalue.Object{{Key: "z", Value: 1}, {Key: "a", Value: []byte{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range wait("go-bin", "g2", "n2") {
		if ev.ArgsJSON() != `[{"z":1,"a":{"$binary":"AQI="}}]` {
			t.Errorf("go-bin: %s", ev.ArgsJSON())
		}
	}

	// Node → both.
	if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Rooms: []string{"r2"}, Event: "node-bin",
		Args: []any{map[string]any{"b": []byte{3}}}}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range wait("node-bin", "g2", "n2") {
		if ev.ArgsJSON() != `[{"b":{"$binary":"Aw=="}}]` {
			t.Errorf("node-bin: %s", ev.ArgsJSON())
		}
	}
	if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Except: []string{"r2"}, Event: "node-except", Volatile: true}); err != nil {
		t.Fatal(err)
	}
	wait("node-except", "g1", "n1")
	if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Rooms: []string{"r1"}, Event: "node-r1", Args: []any{"x"}}); err != nil {
		t.Fatal(err)
	}
	wait("node-r1", "g1", "n1")
	clients.AssertNoEvent(t, "g2", "go-r1", "node-r1", "go-sid")
	clients.AssertNoEvent(t, "n2", "go-r1", "node-r1", "node-except")
	clients.AssertNoEvent(t, "g1", "go-except", "go-bin", "node-bin")

	// Malformed messages on every channel the Go server listens to are logged and skipped.
	// (Node's adapter skips what it cannot parse but throws on well-formed messages of the wrong shape: those go
	// to the Go server's own response channel only.)
	junk := map[string][]string{
		main:         {"{not json", "\xc1"},
		main + "r1#": {"{not json", "\xc1"},
		main + adapter.UID() + "#": {"{not json", "\xc1", "", `[1]`, `{"uid":"x","nsp":"/","type":3,"data":5}`,
			`{"uid":"x","nsp":"/","type":8,"data":{}}`, `{"uid":"x","nsp":"/","type":10,"data":{"requestId":7}}`},
	}
	for ch, list := range junk {
		for _, j := range list {
			if err := rdb.SPublish(ctx, ch, j).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}

	// socketsJoin from Go acts on both; a broadcast from Node to the new room reaches both.
	if err := root.In("r1").SocketsJoin(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	settle("r3", 2)
	testenv.WaitFor(t, func() bool {
		socks, _ := node.Sockets(ctx, "/")
		for _, s := range socks {
			if s.ID == n1 {
				return slices.Contains(s.Rooms, "r3")
			}
		}
		return false
	})
	if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Rooms: []string{"r3"}, Event: "to-r3"}); err != nil {
		t.Fatal(err)
	}
	wait("to-r3", "g1", "n1")
	// socketsLeave from Node acts on the Go server.
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
	if mode != redisadapter.ModeStatic {
		settle("r1", 0) // both servers left r1's channel
	}

	// socketsJoin from Node acts on the Go server, socketsLeave from Go on the Node server.
	if err := node.Op(ctx, testenv.NodeOp{Op: "socketsJoin", Rooms: []string{"r2"}, TargetRooms: []string{"r4"}}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool {
		n := 0
		for _, s := range root.Sockets() {
			if slices.Contains(s.Rooms(), "r4") {
				n++
			}
		}
		return n == 1
	})
	n2InR4 := func() bool {
		socks, _ := node.Sockets(ctx, "/")
		for _, s := range socks {
			if s.ID != n1 && slices.Contains(s.Rooms, "r4") {
				return true
			}
		}
		return false
	}
	testenv.WaitFor(t, n2InR4)
	if err := root.In("r4").SocketsLeave(ctx, "r4"); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool { return !n2InR4() })

	// serverSideEmit, both ways.
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

	// serverSideEmit with acknowledgements, both ways, binary included.
	responses, err := node.ServerSideEmitWithAck(ctx, "/", "ack-me", "x", 1)
	if err != nil || len(responses) != 1 || string(responses[0]) != `{"from":"g","args":["x",1]}` {
		t.Errorf("Node serverSideEmitWithAck: %q %v", responses, err)
	}
	responses, err = node.ServerSideEmitWithAck(ctx, "/", "ack-bin")
	if err != nil || len(responses) != 1 || string(responses[0]) != `{"from":"g","bin":{"$binary":"Zw=="}}` {
		t.Errorf("Node serverSideEmitWithAck ack-bin: %q %v", responses, err)
	}
	answers, err := g.srv.ServerSideEmitWithAck(ctx, "ack-me", "y", []byte{7})
	if err != nil || len(answers) != 1 || string(answers[0].Raw(0)) != `{"from":"node","args":["y",{"$binary":"Bw=="}]}` {
		raw := ""
		if len(answers) == 1 {
			raw = string(answers[0].Raw(0))
		}
		t.Errorf("Go ServerSideEmitWithAck: %s %v", raw, err)
	}

	// fetchSockets, both ways.
	fetched, err := root.FetchSockets(ctx)
	if err != nil || len(fetched) != 4 {
		t.Fatalf("Go fetchSockets: %d sockets, %v", len(fetched), err)
	}
	for _, s := range fetched {
		if !strings.HasPrefix(s.Handshake.URL, "/socket.io/") {
			t.Errorf("Go fetchSockets: socket %s handshake %+v", s.ID, s.Handshake)
		}
	}
	nodeView, err := node.FetchSockets(ctx, "/")
	if err != nil || len(nodeView) != 4 {
		t.Errorf("Node fetchSockets: %+v %v", nodeView, err)
	}

	// Broadcasts with acknowledgements, both ways: r3 holds g1 and n1.
	checkEmitWithAck(ctx, t, root, node, "r3", "g1,n1")

	// disconnectSockets, both ways.
	if err := root.In("r2").DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"g2", "n2"} {
		if _, err := clients.WaitDisconnect(ctx, c); err != nil {
			t.Fatalf("%s not disconnected: %v", c, err)
		}
	}
	if err := node.Op(ctx, testenv.NodeOp{Op: "disconnectSockets", Rooms: []string{"r3"}, Close: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"g1", "n1"} {
		if _, err := clients.WaitDisconnect(ctx, c); err != nil {
			t.Fatalf("%s not disconnected: %v", c, err)
		}
	}
}

// subscriberConnections returns, over the masters, the connections with sharded subscriptions and the number of
// sharded subscriptions they hold (CLIENT LIST's ssub).
func subscriberConnections(t *testing.T, ctx context.Context, rc *redis.ClusterClient) (conns, ssubs int) {
	t.Helper()
	var mu sync.Mutex
	err := rc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		list, err := c.ClientList(ctx).Result()
		if err != nil {
			return err
		}
		for _, line := range strings.Split(list, "\n") {
			for _, f := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(f, "ssub="); ok && v != "0" {
					n, _ := strconv.Atoi(v)
					mu.Lock()
					conns++
					ssubs += n
					mu.Unlock()
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return conns, ssubs
}

// TestShardedManyRooms: a sharded Go server in dynamic mode whose socket is in 1000 rooms subscribes to the 1000
// room channels (spread over every slot owner of a 3-master Redis Cluster) over one connection per master, not one
// per room, and unsubscribes them when the rooms empty.
func TestShardedManyRooms(t *testing.T) {
	rc := testenv.StartRedisCluster(t, 3)
	rdb := rc.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adapter := redisadapter.NewSharded(rdb, redisadapter.ShardedConfig{})
	g := startGoServerOn(t, "g", socketio.Config{Cluster: adapter}, adapter.WaitReady)
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: g.url}})
	if err := adapter.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	socks := g.srv.Of("/").Sockets()
	if len(socks) != 1 {
		t.Fatalf("%d sockets", len(socks))
	}
	rooms := make([]string, 1000)
	for i := range rooms {
		rooms[i] = "room-" + strconv.Itoa(i)
	}
	socks[0].Join(rooms...)
	if err := adapter.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	conns, ssubs := subscriberConnections(t, ctx, rdb)
	t.Logf("1000 rooms: %d subscriber connections holding %d sharded subscriptions; adapter counts %d", conns, ssubs, adapter.Connections())
	if conns > 3 || adapter.Connections() > 3 {
		t.Errorf("%d subscriber connections (adapter: %d) for 1000 rooms on 3 masters, want at most 3", conns, adapter.Connections())
	}
	if ssubs != 1002 { // the rooms, "socket.io#/#" and the response channel; the socket's own room is private
		t.Errorf("%d sharded subscriptions, want 1002", ssubs)
	}
	// Every room channel reaches the socket.
	for _, r := range []string{"room-0", "room-517", "room-999"} {
		body, err := protocol.AppendClusterMessage(nil, "emitter", &protocol.Op{Kind: protocol.OpBroadcast, Nsp: "/", Rooms: []string{r}, Event: "to-" + r})
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.SPublish(ctx, "socket.io#/#"+r+"#", body).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := clients.WaitEvent(ctx, "c", testenv.EventNamed("to-"+r)); err != nil {
			t.Fatal(err)
		}
	}
	socks[0].Leave(rooms...)
	if err := adapter.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool {
		_, ssubs := subscriberConnections(t, ctx, rdb)
		return ssubs == 2
	})
	if n := adapter.Connections(); n > 2 {
		t.Errorf("%d connections left for 2 channels", n)
	}
}

// TestShardedSlotMigration moves the slot of the namespace's channel "socket.io#/#" to another master while a Go
// server broadcasts a numbered event every millisecond to a Go server and a Node server (both sharded, dynamic):
// the Go server's subscription follows the slot to its new owner, its client gets no event twice, the events lost
// around the move are counted (and must be few), and requests still get their answers afterwards.
func TestShardedSlotMigration(t *testing.T) {
	rc := testenv.StartRedisCluster(t, 3)
	rdb := rc.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4ShardedDynamic, RedisAddrs: rc.Addrs()})
	receiver := redisadapter.NewSharded(rdb, redisadapter.ShardedConfig{})
	a := startGoServerOn(t, "a", socketio.Config{Cluster: receiver}, receiver.WaitReady)
	sender := redisadapter.NewSharded(rdb, redisadapter.ShardedConfig{})
	b := startGoServerOn(t, "b", socketio.Config{Cluster: sender}, sender.WaitReady)
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "ga", URL: a.url}, node.Client("na", "/")})
	if err := receiver.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := b.srv.Of("/").ServerCount(ctx); err != nil || n != 3 {
		t.Fatalf("server count %d %v, want 3", n, err)
	}
	moved := receiver.Reconnected()

	const channel = "socket.io#/#"
	slot := int(pubsub.Slot(channel))
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		i := 0
		defer func() { sent <- i }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := b.srv.Of("/").Emit(ctx, "tick", i); err != nil {
				t.Errorf("emit %d: %v", i, err)
			}
			i++
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(500 * time.Millisecond)
	from := rc.SlotOwner(t, slot)
	rc.MoveSlot(t, slot, (from+1)%3)
	select {
	case <-moved:
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver reported no loss: did its subscription follow the slot?")
	}
	time.Sleep(time.Second)
	close(stop)
	total := <-sent
	// The last events are there once the flow has drained.
	if _, err := clients.WaitEvent(ctx, "ga", func(e testenv.Event) bool { return e.Name == "tick" && e.ArgsJSON() == "["+strconv.Itoa(total-1)+"]" }); err != nil {
		t.Fatalf("the last event did not reach the Go server's client: %v", err)
	}
	count := func(name string) (lost, dup int) {
		seen := make(map[int]int)
		for _, e := range clients.Events(name) {
			if e.Name != "tick" {
				continue
			}
			var n int
			if err := e.DecodeArg(0, &n); err != nil {
				t.Fatal(err)
			}
			seen[n]++
		}
		for i := range total {
			switch seen[i] {
			case 0:
				lost++
			case 1:
			default:
				dup++
			}
		}
		return lost, dup
	}
	lost, dup := count("ga")
	nodeLost, nodeDup := count("na")
	t.Logf("slot %d moved from node %d: %d events sent; Go server: %d lost, %d twice; Node server: %d lost, %d twice", slot, from, total, lost, dup, nodeLost, nodeDup)
	if dup != 0 {
		t.Errorf("%d events delivered twice", dup)
	}
	if lost > min(total/10, 50) {
		t.Errorf("%d of %d events lost", lost, total)
	}
	// Requests and their answers still flow on the moved channel. (The Node server's adapter does not follow the
	// slot: node-redis takes Redis's sunsubscribe as final, so it stops hearing the namespace and leaves the count.)
	want := 2
	if nodeLost < total/10 {
		want = 3
	}
	n, err := a.srv.Of("/").ServerCount(ctx)
	if err != nil || n != want {
		t.Errorf("server count after the move %d %v, want %d", n, err, want)
	}
	socks, err := b.srv.Of("/").FetchSockets(ctx)
	if err != nil || len(socks) != want-1 {
		t.Errorf("fetchSockets after the move: %d sockets, %v, want %d", len(socks), err, want-1)
	}
	if !slices.ContainsFunc(socks, func(s socketio.RemoteSocket) bool { return s.ID == clients.IDs["ga"] }) {
		t.Errorf("fetchSockets after the move misses the Go server's socket")
	}
}

// TestMixedShardedStandalone: the sharded transport over a standalone Redis 7, with a Node server
// (createShardedAdapter, dynamic) and real clients: the count, room broadcasts both ways, fetchSockets and
// serverSideEmit with acknowledgements.
func TestMixedShardedStandalone(t *testing.T) {
	rs := testenv.StartRedis(t)
	rdb := rs.Client(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4ShardedDynamic, RedisAddrs: []string{rs.Addr()}})
	adapter := redisadapter.NewSharded(rdb, redisadapter.ShardedConfig{})
	g := startGoServerOn(t, "g", socketio.Config{Cluster: adapter}, adapter.WaitReady)
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "g1", URL: g.url, Rooms: []string{"r1"}}, node.Client("n1", "/", "r1")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := adapter.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool {
		n, _ := rdb.PubSubShardNumSub(ctx, "socket.io#/#r1#").Result()
		return n["socket.io#/#r1#"] == 2
	})
	root := g.srv.Of("/")
	if n, err := root.ServerCount(ctx); err != nil || n != 2 {
		t.Fatalf("Go counts %d (%v)", n, err)
	}
	if n, err := node.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("Node counts %d (%v)", n, err)
	}
	if err := root.To("r1").Emit(ctx, "from-go"); err != nil {
		t.Fatal(err)
	}
	if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Rooms: []string{"r1"}, Event: "from-node"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"g1", "n1"} {
		for _, ev := range []string{"from-go", "from-node"} {
			if _, err := clients.WaitEvent(ctx, c, testenv.EventNamed(ev)); err != nil {
				t.Fatalf("%s: %s: %v", c, ev, err)
			}
		}
	}
	if socks, err := root.FetchSockets(ctx); err != nil || len(socks) != 2 {
		t.Errorf("Go fetchSockets: %d %v", len(socks), err)
	}
	if r, err := node.ServerSideEmitWithAck(ctx, "/", "ack-empty"); err != nil || len(r) != 1 {
		t.Errorf("Node serverSideEmitWithAck: %q %v", r, err)
	}
	if a, err := g.srv.ServerSideEmitWithAck(ctx, "ack-me"); err != nil || len(a) != 1 {
		t.Errorf("Go ServerSideEmitWithAck: %v %v", a, err)
	}
	if n := adapter.Connections(); n != 1 {
		t.Errorf("%d subscriber connections on a standalone Redis, want 1", n)
	}
}
