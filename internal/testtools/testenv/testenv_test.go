package testenv

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	code := CheckLeaks(m.Run())
	RemoveBinaries() // TestStartSioredis's
	os.Exit(code)
}

// Byte vectors from docs/socketio-redis-protocol.md (shared docs), produced by notepack.io.
const (
	// §2.1 (b): @socket.io/redis-emitter@5.1.0 io.to("room_777").emit("my_event_name", {foo: "bar"}).
	hexRoomEmit = "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 ad 6d 79 5f 65 76 65 6e 74 5f 6e 61 6d 65 " +
		"81 a3 66 6f 6f a3 62 61 72 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a8 72 6f 6f 6d 5f 37 37 37 " +
		"a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90"
	// §2.1 (c): io.emit("hello", "world"), channel socket.io#/#.
	hexHelloWorld = "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f a5 77 6f 72 6c 64 " +
		"a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90"
	// §2.1 (d): io.of("/admin").except("r1").volatile.compress(false).emit("x", 1), channel socket.io#/admin#.
	hexAdminX = "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a1 78 01 a3 6e 73 70 a6 2f 61 64 6d 69 6e " +
		"83 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 82 a8 76 6f 6c 61 74 69 6c 65 c3 a8 63 6f 6d 70 72 65 73 73 c2 " +
		"a6 65 78 63 65 70 74 91 a2 72 31"
	// (d) without volatile, compress and except: io.of("/admin").emit("y", 1). Used as the /admin sentinel, because a
	// volatile packet is dropped when the client's transport is busy (on socket.io 2, a client of "/admin" also has
	// an implicit "/" socket on the same connection, which receives every root broadcast).
	hexAdminY = "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a1 79 01 a3 6e 73 70 a6 2f 61 64 6d 69 6e " +
		"83 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90"
	// Appendix A: socket.io-emitter@3.1.2 style binary event (type 5) for socket.io 2.1+, emit("bin", <01 02 03>).
	hexV2Binary = "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 05 a4 64 61 74 61 92 a3 62 69 6e c4 03 01 02 03 " +
		"a3 6e 73 70 a1 2f 82 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 80"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func publish(tb testing.TB, ctx context.Context, rdb *redis.Client, channel string, payload []byte) {
	tb.Helper()
	if err := rdb.Publish(ctx, channel, payload).Err(); err != nil {
		tb.Fatalf("PUBLISH %s: %v", channel, err)
	}
}

func wantEvent(tb testing.TB, ctx context.Context, c *Clients, client, event, argsJSON string) {
	tb.Helper()
	e, err := c.WaitEvent(ctx, client, EventNamed(event))
	if err != nil {
		tb.Fatalf("waiting for %s on %s: %v", event, client, err)
	}
	if got := e.ArgsJSON(); got != argsJSON {
		tb.Errorf("client %s event %s: args %s, want %s", client, event, got, argsJSON)
	}
}

func TestV4ClassicEndToEnd(t *testing.T) {
	ctx := testContext(t)
	r := StartRedis(t)
	srv := StartNodeServer(t, NodeServerConfig{Flavor: FlavorV4Classic, RedisAddrs: []string{r.Addr()}, Namespaces: []string{"/admin"}})
	clients := StartClients(t, 4, []ClientSpec{
		srv.Client("root", "/", "room_777"),
		srv.Client("admin", "/admin", "room_777"),
	})
	rdb := r.Client(t)

	rooms, err := srv.Rooms(ctx, "/admin", clients.IDs["admin"])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{clients.IDs["admin"], "room_777"}; !slices.Equal(rooms, sortedCopy(want)) {
		t.Errorf("rooms of admin = %v, want %v", rooms, sortedCopy(want))
	}
	if _, err := srv.Rooms(ctx, "/", "no-such-socket"); err == nil {
		t.Error("Rooms of an unknown socket: no error")
	}
	if n, err := srv.ServerCount(ctx, "/"); err != nil || n != 1 {
		t.Errorf("ServerCount = %d, %v; want 1", n, err)
	}

	publish(t, ctx, rdb, "socket.io#/#room_777#", unhex(t, hexRoomEmit))
	publish(t, ctx, rdb, "socket.io#/#", unhex(t, hexHelloWorld))
	// (d) is volatile: it reaches "admin" because nothing else is being written to that connection.
	publish(t, ctx, rdb, "socket.io#/admin#", unhex(t, hexAdminX))
	publish(t, ctx, rdb, "socket.io#/admin#", unhex(t, hexAdminY))

	wantEvent(t, ctx, clients, "root", "my_event_name", `[{"foo":"bar"}]`)
	if err := clients.WaitAll(ctx, "hello", "root"); err != nil {
		t.Fatal(err)
	}
	if err := clients.WaitAll(ctx, "y", "admin"); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, ctx, clients, "admin", "x", `[1]`)
	clients.AssertNoEvent(t, "admin", "my_event_name", "hello")
	clients.AssertNoEvent(t, "root", "x")

	// serverSideEmit through the request channel, as the official emitter sends it (§2.2.3).
	publish(t, ctx, rdb, "socket.io-request#/#", []byte(`{"uid":"emitter","type":6,"data":["hello","world",1,"2"]}`))
	l, err := srv.Wait(ctx, ServerSideEmit("/", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(mustJSON(t, l.Fields["args"])); got != `["world",1,"2"]` {
		t.Errorf("serverSideEmit args = %s", got)
	}

	if err := clients.Disconnect(ctx, "root"); err != nil {
		t.Fatal(err)
	}
	if reason, err := clients.WaitDisconnect(ctx, "root"); err != nil || reason != "io client disconnect" {
		t.Errorf("WaitDisconnect = %q, %v", reason, err)
	}
	if _, err := srv.Wait(ctx, func(l Line) bool { return l.Type == "disconnect" && l.Get("id") == clients.IDs["root"] }); err != nil {
		t.Error(err)
	}
}

func TestV2ClassicSmoke(t *testing.T) {
	ctx := testContext(t)
	r := StartRedis(t)
	srv := StartNodeServer(t, NodeServerConfig{Flavor: FlavorV2Classic, RedisAddrs: []string{r.Addr()}, Namespaces: []string{"/admin"}})
	clients := StartClients(t, 2, []ClientSpec{
		srv.Client("root", "/", "room_777"),
		srv.Client("admin", "/admin", "room_777"),
	})
	if id := clients.IDs["admin"]; !strings.HasPrefix(id, "/admin#") {
		t.Errorf("v2 socket id in /admin = %q, want a /admin# prefix", id)
	}
	rdb := r.Client(t)

	publish(t, ctx, rdb, "socket.io#/#room_777#", unhex(t, hexRoomEmit))
	publish(t, ctx, rdb, "socket.io#/#", unhex(t, hexV2Binary))
	publish(t, ctx, rdb, "socket.io#/#", unhex(t, hexHelloWorld))
	publish(t, ctx, rdb, "socket.io#/admin#", unhex(t, hexAdminY))

	wantEvent(t, ctx, clients, "root", "my_event_name", `[{"foo":"bar"}]`)
	wantEvent(t, ctx, clients, "root", "bin", `[{"$binary":"AQID"}]`)
	wantEvent(t, ctx, clients, "root", "hello", `["world"]`)
	wantEvent(t, ctx, clients, "admin", "y", `[1]`)
	clients.AssertNoEvent(t, "admin", "my_event_name", "bin", "hello")
}

func TestRedisClusterSharded(t *testing.T) {
	ctx := testContext(t)
	cluster := StartRedisCluster(t, 3)
	start := func(f Flavor) *NodeServer {
		return StartNodeServer(t, NodeServerConfig{Flavor: f, RedisAddrs: cluster.Addrs(), Namespaces: []string{"/admin"}})
	}
	static, dynamic, private := start(FlavorV4ShardedStatic), start(FlavorV4ShardedDynamic), start(FlavorV4ShardedDynamicPrivate)
	clients := StartClients(t, 4, []ClientSpec{
		static.Client("static", "/", "room_777"),
		dynamic.Client("dynamic", "/", "room_777"),
		dynamic.Client("other", "/"),
		dynamic.Client("admin", "/admin", "room_777"),
		private.Client("private", "/", "room_777"),
	})
	rdb := cluster.Client(t)
	spublish := func(channel, payload string) {
		t.Helper()
		if err := rdb.SPublish(ctx, channel, payload).Err(); err != nil {
			t.Fatalf("SPUBLISH %s: %v", channel, err)
		}
	}
	broadcast := func(nsp, event string, rooms ...string) string {
		b, _ := json.Marshal(append([]string{}, rooms...))
		return fmt.Sprintf(`{"uid":"emitter","nsp":%q,"type":3,"data":{"packet":{"type":2,"data":[%q,{"foo":"bar"}],"nsp":%q},`+
			`"opts":{"rooms":%s,"flags":{},"except":[]}}}`, nsp, event, nsp, b)
	}
	if n, err := dynamic.ServerCount(ctx, "/"); err != nil || n != 3 {
		t.Errorf("ServerCount = %d, %v; want 3", n, err)
	}

	// Dynamic room channels (SSUBSCRIBEd when the clients joined): the static server is not subscribed to them, and
	// only dynamic-private subscribes to socket-id rooms.
	spublish("socket.io#/#room_777#", broadcast("/", "room_event", "room_777"))
	id := clients.IDs["private"]
	spublish("socket.io#/#"+id+"#", broadcast("/", "private_event", id))
	wantEvent(t, ctx, clients, "dynamic", "room_event", `[{"foo":"bar"}]`)
	wantEvent(t, ctx, clients, "private", "room_event", `[{"foo":"bar"}]`)
	wantEvent(t, ctx, clients, "private", "private_event", `[{"foo":"bar"}]`)

	// §2.3 BROADCAST and SERVER_SIDE_EMIT on the namespace channel, then sentinels.
	spublish("socket.io#/#", `{"uid":"emitter","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["my_event_name",{"foo":"bar"}],"nsp":"/"},"opts":{"rooms":["room_777"],"flags":{},"except":[]}}}`)
	spublish("socket.io#/#", `{"uid":"emitter","nsp":"/","type":9,"data":{"packet":["hello","world"]}}`)
	spublish("socket.io#/#", broadcast("/", "sentinel"))
	spublish("socket.io#/admin#", broadcast("/admin", "sentinel"))
	if err := clients.WaitAll(ctx, "sentinel"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"static", "dynamic", "private"} {
		wantEvent(t, ctx, clients, c, "my_event_name", `[{"foo":"bar"}]`)
	}
	clients.AssertNoEvent(t, "static", "room_event")
	clients.AssertNoEvent(t, "other", "my_event_name", "room_event")
	clients.AssertNoEvent(t, "admin", "my_event_name", "room_event")
	for _, srv := range []*NodeServer{static, dynamic, private} {
		l, err := srv.Wait(ctx, ServerSideEmit("/", "hello"))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(mustJSON(t, l.Fields["args"])); got != `["world"]` {
			t.Errorf("%s: serverSideEmit args = %s", srv.Config.Flavor, got)
		}
	}
}

func xadd(tb testing.TB, ctx context.Context, rdb *redis.Client, stream, nsp, typ, data string) {
	tb.Helper()
	err := rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: stream, MaxLen: 10000, Approx: true,
		Values: []string{"uid", "emitter", "nsp", nsp, "type", typ, "data", data},
	}).Err()
	if err != nil {
		tb.Fatalf("XADD %s: %v", stream, err)
	}
}

func TestV4StreamsSmoke(t *testing.T) {
	ctx := testContext(t)
	r := StartRedis(t)
	srv := StartNodeServer(t, NodeServerConfig{Flavor: FlavorV4Streams, RedisAddrs: []string{r.Addr()}})
	clients := StartClients(t, 4, []ClientSpec{
		srv.Client("member", "/", "room_777"),
		srv.Client("other", "/"),
	})
	rdb := r.Client(t)

	// §2.5 example entry, then a serverSideEmit entry and a sentinel broadcast.
	xadd(t, ctx, rdb, "socket.io", "/", "3", `{"packet":{"type":2,"data":["my_event_name",{"foo":"bar"}],"nsp":"/"},"opts":{"rooms":["room_777"],"flags":{},"except":[]}}`)
	xadd(t, ctx, rdb, "socket.io", "/", "9", `{"packet":["hello","world"]}`)
	xadd(t, ctx, rdb, "socket.io", "/", "3", `{"packet":{"type":2,"data":["sentinel"],"nsp":"/"},"opts":{"rooms":[],"flags":{},"except":[]}}`)
	if err := clients.WaitAll(ctx, "sentinel"); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, ctx, clients, "member", "my_event_name", `[{"foo":"bar"}]`)
	clients.AssertNoEvent(t, "other", "my_event_name")
	if _, err := srv.Wait(ctx, ServerSideEmit("/", "hello")); err != nil {
		t.Fatal(err)
	}
}

func TestV4StreamsStreamCount(t *testing.T) {
	ctx := testContext(t)
	r := StartRedis(t)
	srv := StartNodeServer(t, NodeServerConfig{
		Flavor: FlavorV4Streams, RedisAddrs: []string{r.Addr()}, Namespaces: []string{"/admin"}, Prefix: "s4", StreamCount: 4,
	})
	clients := StartClients(t, 4, []ClientSpec{srv.Client("root", "/"), srv.Client("admin", "/admin")})
	rdb := r.Client(t)
	// §6.16: "/" hashes to stream 3 and "/admin" to stream 0 of 4.
	xadd(t, ctx, rdb, "s4-3", "/", "3", `{"packet":{"type":2,"data":["e3"],"nsp":"/"},"opts":{"rooms":[],"flags":{},"except":[]}}`)
	xadd(t, ctx, rdb, "s4-0", "/admin", "3", `{"packet":{"type":2,"data":["e0"],"nsp":"/admin"},"opts":{"rooms":[],"flags":{},"except":[]}}`)
	wantEvent(t, ctx, clients, "root", "e3", `[]`)
	wantEvent(t, ctx, clients, "admin", "e0", `[]`)
}

func TestRedisRestart(t *testing.T) {
	r := StartRedis(t)
	ctx := testContext(t)
	rdb := r.Client(t)
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	port := r.Port()
	r.Restart()
	if r.Port() != port {
		t.Errorf("port changed across Restart: %d -> %d", port, r.Port())
	}
	// Data is gone (no persistence) and the go-redis client reconnects by itself.
	if err := rdb.Get(ctx, "k").Err(); err != redis.Nil {
		t.Errorf("GET after restart: %v, want redis.Nil", err)
	}
	r.Stop()
	r.Stop()
	if _, err := respDo(r.Addr(), time.Second, "PING"); err == nil {
		t.Error("PING succeeded on a stopped server")
	}
}

func TestRunNodeGolden(t *testing.T) {
	r := StartRedis(t)
	dir := t.TempDir()
	cases := `{"cases":[{"name":"root-emit","prefix":"socket.io","nsp":"/","to":["room_777"],"except":[],"volatile":false,` +
		`"compress":null,"op":"emit","event":"my_event_name","args":[{"foo":"bar"}]}]}`
	in, out := filepath.Join(dir, "cases.json"), filepath.Join(dir, "out.json")
	if err := os.WriteFile(in, []byte(cases), 0o644); err != nil {
		t.Fatal(err)
	}
	RunNode(t, "golden.js", "--redis", r.Addr(), "--cases", in, "--out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Generator string              `json:"generator"`
		Cases     []map[string]string `json:"cases"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Generator != "@socket.io/redis-emitter@5.1.0 notepack.io@3.0.1" {
		t.Errorf("generator = %q", got.Generator)
	}
	if len(got.Cases) != 1 || got.Cases[0]["channel"] != "socket.io#/#room_777#" ||
		got.Cases[0]["payload_hex"] != strings.ReplaceAll(hexRoomEmit, " ", "") {
		t.Errorf("golden output = %s", b)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
