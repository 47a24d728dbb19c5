package redisadapter_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
	"github.com/sioredis/sioredis/socketio/msgpackparser"
)

// TestMixedClusterMsgpack: a Go server and a Node server both using socket.io-msgpack-parser with their clients,
// on one Redis with the classic adapter (whose format does not depend on the parser): broadcasts, binary
// included, and broadcasts with acknowledgements cross both ways.
func TestMixedClusterMsgpack(t *testing.T) {
	rs := testenv.StartRedis(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()}, SocketParser: "msgpack"})
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	adapter := redisadapter.New(rdb, redisadapter.Config{})
	g := startGoServerOn(t, "g", socketio.Config{Cluster: adapter, Parser: msgpackparser.Parser{}}, adapter.WaitReady)
	msgpack := func(s testenv.ClientSpec) testenv.ClientSpec { s.Parser = "msgpack"; return s }
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{
		msgpack(testenv.ClientSpec{Name: "g1", URL: g.url, Rooms: []string{"r1"}}),
		msgpack(testenv.ClientSpec{Name: "g2", URL: g.url, Rooms: []string{"r2"}}),
		msgpack(node.Client("n1", "/", "r1")),
		msgpack(node.Client("n2", "/", "r2")),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root := g.srv.Of("/")

	// From the Go server to room r1 on both servers, and only it.
	if err := root.To("r1").Emit(ctx, "from-go", map[string]any{"n": 1}, []byte{0xca, 0xfe}); err != nil {
		t.Fatal(err)
	}
	// From the Node server to room r2 on both servers.
	if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Nsp: "/", Event: "from-node", Args: []any{"hi", []byte{1, 2}}, Rooms: []string{"r2"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ client, event, want string }{
		{"g1", "from-go", `[{"n":1},{"$binary":"yv4="}]`},
		{"n1", "from-go", `[{"n":1},{"$binary":"yv4="}]`},
		{"g2", "from-node", `["hi",{"$binary":"AQI="}]`},
		{"n2", "from-node", `["hi",{"$binary":"AQI="}]`},
	} {
		ev, err := clients.WaitEvent(ctx, c.client, testenv.EventNamed(c.event))
		if err != nil {
			t.Fatalf("%s: %v", c.client, err)
		}
		if ev.ArgsJSON() != c.want {
			t.Errorf("%s got %s %s, want %s", c.client, c.event, ev.ArgsJSON(), c.want)
		}
	}
	// Everything sent before the sentinels has arrived once they have.
	if err := root.Emit(ctx, "sentinel-go"); err != nil {
		t.Fatal(err)
	}
	if err := node.Op(ctx, testenv.NodeOp{Op: "emit", Nsp: "/", Event: "sentinel-node"}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"sentinel-go", "sentinel-node"} {
		if err := clients.WaitAll(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	clients.AssertNoEvent(t, "g2", "from-go")
	clients.AssertNoEvent(t, "n2", "from-go")
	clients.AssertNoEvent(t, "g1", "from-node")
	clients.AssertNoEvent(t, "n1", "from-node")
	// Broadcasts with acknowledgements, from each side, answered by the clients of both.
	checkEmitWithAck(ctx, t, root, node, "r1", "g1,n1")
}
