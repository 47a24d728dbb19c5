package emitter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// cluster is a Socket.IO cluster of two real Node servers sharing a real
// Redis, with clients in several namespaces and rooms:
//
//	c1  server A  /       room_777
//	c2  server B  /       room_777, room_888
//	c3  server A  /       room_888
//	c4  server B  /       (no room)
//	a1  server A  /admin  room_777
//	a2  server B  /admin  (no room)
type cluster struct {
	t       *testing.T
	servers []*testenv.NodeServer
	clients *testenv.Clients
	e       *emitter.Emitter
	seq     int
	gone    map[string]bool // disconnected clients
}

var (
	rootClients  = []string{"c1", "c2", "c3", "c4"}
	adminClients = []string{"a1", "a2"}
)

type clusterSetup struct {
	flavor    testenv.Flavor
	redis     []string
	client    redis.UniversalClient
	clientVer int
	opts      []emitter.Option
}

func startCluster(t *testing.T, s clusterSetup) *cluster {
	t.Helper()
	var servers []*testenv.NodeServer
	for range 2 {
		servers = append(servers, testenv.StartNodeServer(t, testenv.NodeServerConfig{
			Flavor: s.flavor, RedisAddrs: s.redis, Namespaces: []string{"/admin"},
		}))
	}
	a, b := servers[0], servers[1]
	clients := testenv.StartClients(t, s.clientVer, []testenv.ClientSpec{
		a.Client("c1", "/", "room_777"),
		b.Client("c2", "/", "room_777", "room_888"),
		a.Client("c3", "/", "room_888"),
		b.Client("c4", "/"),
		a.Client("a1", "/admin", "room_777"),
		b.Client("a2", "/admin"),
	})
	e, err := emitter.New(s.client, s.opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{t: t, servers: servers, clients: clients, e: e, gone: map[string]bool{}}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// event returns a fresh event name, so that scenarios never see each
// other's events.
func (c *cluster) event(what string) string {
	c.seq++
	return fmt.Sprintf("%s-%d", what, c.seq)
}

// expect checks that exactly the clients in want received event exactly
// once, with argument JSON args (when not empty), and that no other client
// of the cluster received it. It first waits for a sentinel broadcast sent
// after the emit under test to every namespace: servers handle one
// connection's messages in order, so once every client has the sentinel,
// the earlier message has been delivered or dropped everywhere.
func (c *cluster) expect(ctx context.Context, event, args string, want ...string) {
	c.t.Helper()
	for _, name := range want {
		ev, err := c.clients.WaitEvent(ctx, name, testenv.EventNamed(event))
		if err != nil {
			c.t.Fatalf("%s: waiting for %s: %v", name, event, err)
		}
		if args != "" && !sameJSON(c.t, ev.ArgsJSON(), args) {
			c.t.Errorf("%s got %s %s\nwant %s", name, event, ev.ArgsJSON(), args)
		}
	}
	c.sentinel(ctx)
	for _, name := range append(slices.Clone(rootClients), adminClients...) {
		n := 0
		for _, ev := range c.clients.Events(name) {
			if ev.Name == event {
				n++
			}
		}
		switch {
		case slices.Contains(want, name) && n != 1:
			c.t.Errorf("%s got %s %d times, want once", name, event, n)
		case !slices.Contains(want, name) && n != 0:
			c.t.Errorf("%s got %s, which was not for it", name, event)
		}
	}
}

// sentinel broadcasts a fresh event to every namespace and waits until all
// connected clients have it.
func (c *cluster) sentinel(ctx context.Context) {
	c.t.Helper()
	ev := c.event("sentinel")
	if _, err := c.e.Emit(ctx, ev); err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.e.Of("/admin").Emit(ctx, ev); err != nil {
		c.t.Fatal(err)
	}
	var names []string
	for _, n := range append(slices.Clone(rootClients), adminClients...) {
		if !c.gone[n] {
			names = append(names, n)
		}
	}
	if err := c.clients.WaitAll(ctx, ev, names...); err != nil {
		c.t.Fatalf("sentinel: %v", err)
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// A payload with every JSON type, numbers near 2^53, unicode and escapes.
type chatMessage struct {
	ID        string         `json:"id"`
	CreatedAt time.Time      `json:"created_at"`
	Body      string         `json:"body"`
	Edited    *time.Time     `json:"edited,omitempty"`
	Secret    string         `json:"-"`
	Numbers   []float64      `json:"numbers"`
	Ints      []int64        `json:"ints"`
	Flags     map[string]any `json:"flags"`
	Nothing   any            `json:"nothing"`
}

var (
	richArg = chatMessage{
		ID:        "message_id",
		CreatedAt: time.Date(2017, 12, 19, 14, 0, 0, 0, time.UTC),
		Body:      "héllo wörld ✓ 😀 中文 \"quoted\" \\ \n\t </script> \u2028",
		Secret:    "never sent",
		Numbers:   []float64{0, -0.5, 0.1, 1e-7, 1.5e300, 123456.789, 4294967296},
		Ints:      []int64{9007199254740991, -9007199254740991, 2147483648, -129, 0},
		Flags:     map[string]any{"b": true, "a": false, "nested": []any{nil, "x", 1.25}},
	}
	richJSON = `{"id":"message_id","created_at":"2017-12-19T14:00:00.000Z","body":"héllo wörld ✓ 😀 中文 \"quoted\" \\ \n\t </script> \u2028",` +
		`"numbers":[0,-0.5,0.1,1e-7,1.5e300,123456.789,4294967296],"ints":[9007199254740991,-9007199254740991,2147483648,-129,0],` +
		`"flags":{"a":false,"b":true,"nested":[null,"x",1.25]},"nothing":null}`
)

// broadcasts runs the broadcast scenarios that every format supports.
func (c *cluster) broadcasts(ctx context.Context, legacy bool) {
	t := c.t
	e := c.e
	t.Run("one room", func(t *testing.T) {
		ev := c.event("one-room")
		if _, err := e.To("room_777").Emit(ctx, ev, map[string]string{"id": "message_id", "created_at": "2017-12-19 14:00:00", "body": "message_body"}); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `[{"id":"message_id","created_at":"2017-12-19 14:00:00","body":"message_body"}]`, "c1", "c2")
	})
	t.Run("several rooms, each socket once", func(t *testing.T) {
		ev := c.event("rooms")
		if _, err := e.To("room_777", "room_888").Emit(ctx, ev, 1); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `[1]`, "c1", "c2", "c3")
	})
	t.Run("except", func(t *testing.T) {
		ev := c.event("except")
		target := e.To("room_777", "room_888").Except("room_888")
		want := []string{"c1"}
		if legacy {
			// socket.io 2 excludes socket ids, not rooms.
			target = e.To("room_777", "room_888").Except(c.clients.IDs["c2"])
			want = []string{"c1", "c3"}
		}
		if _, err := target.Emit(ctx, ev, "x"); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `["x"]`, want...)
	})
	t.Run("namespace isolation", func(t *testing.T) {
		ev := c.event("admin")
		if _, err := e.Of("admin").To("room_777").Emit(ctx, ev, true); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `[true]`, "a1")
		ev = c.event("root")
		if _, err := e.To("room_777").Emit(ctx, ev); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `[]`, "c1", "c2")
	})
	t.Run("whole namespace", func(t *testing.T) {
		ev := c.event("all")
		if _, err := e.Emit(ctx, ev, "a", 2, nil); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `["a",2,null]`, rootClients...)
	})
	t.Run("every JSON type", func(t *testing.T) {
		ev := c.event("types")
		if _, err := e.To("room_888").Emit(ctx, ev, richArg, "😀", -9007199254740991, 0.1, false); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `[`+richJSON+`,"😀",-9007199254740991,0.1,false]`, "c2", "c3")
	})
	t.Run("binary", func(t *testing.T) {
		ev := c.event("binary")
		file := map[string]any{"name": "a.bin", "data": []byte{0, 1, 2, 254, 255}}
		if _, err := e.To("room_777").Emit(ctx, ev, []byte("hello"), file); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `[{"$binary":"aGVsbG8="},{"data":{"$binary":"AAEC/v8="},"name":"a.bin"}]`, "c1", "c2")
	})
	t.Run("volatile and compress", func(t *testing.T) {
		// A volatile packet is only dropped when the client's transport is
		// busy; these clients are idle.
		ev := c.event("flags")
		if _, err := e.Of("/admin").To("room_777").Volatile().Compress(false).Emit(ctx, ev, "v"); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `["v"]`, "a1")
		ev = c.event("compress")
		if _, err := e.To("room_888").Compress(true).Emit(ctx, ev, "c"); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `["c"]`, "c2", "c3")
	})
}

// waitRooms polls until the socket of client name has (or, with !member,
// has not) room; socketsJoin and socketsLeave are fire-and-forget.
func (c *cluster) waitRooms(ctx context.Context, name, nsp, room string, member bool) {
	c.t.Helper()
	srv := c.servers[0]
	if name == "c2" || name == "c4" || name == "a2" {
		srv = c.servers[1]
	}
	for {
		rooms, err := srv.Rooms(ctx, nsp, c.clients.IDs[name])
		if err != nil {
			c.t.Fatal(err)
		}
		if slices.Contains(rooms, room) == member {
			return
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("%s: rooms %v, want member(%s)=%v", name, rooms, room, member)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// commands runs socketsJoin, socketsLeave, serverSideEmit and
// disconnectSockets (not for socket.io 2).
func (c *cluster) commands(ctx context.Context) {
	t := c.t
	e := c.e
	t.Run("socketsJoin", func(t *testing.T) {
		if _, err := e.To("room_888").Except("room_777").SocketsJoin(ctx, "joined", "joined2"); err != nil {
			t.Fatal(err)
		}
		c.waitRooms(ctx, "c3", "/", "joined", true)
		c.waitRooms(ctx, "c3", "/", "joined2", true)
		ev := c.event("to-joined")
		if _, err := e.To("joined").Emit(ctx, ev); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `[]`, "c3") // c2 is in room_777, excluded
	})
	t.Run("socketsJoin in a namespace", func(t *testing.T) {
		if _, err := e.Of("/admin").SocketsJoin(ctx, "staff"); err != nil {
			t.Fatal(err)
		}
		c.waitRooms(ctx, "a1", "/admin", "staff", true)
		c.waitRooms(ctx, "a2", "/admin", "staff", true)
		ev := c.event("staff")
		if _, err := e.Of("/admin").To("staff").Emit(ctx, ev); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, `[]`, "a1", "a2")
	})
	t.Run("socketsLeave", func(t *testing.T) {
		if _, err := e.In("joined").SocketsLeave(ctx, "joined"); err != nil {
			t.Fatal(err)
		}
		c.waitRooms(ctx, "c3", "/", "joined", false)
		c.waitRooms(ctx, "c3", "/", "joined2", true)
		ev := c.event("left")
		if _, err := e.To("joined").Emit(ctx, ev); err != nil {
			t.Fatal(err)
		}
		c.expect(ctx, ev, "")
	})
	t.Run("serverSideEmit", func(t *testing.T) {
		if _, err := e.ServerSideEmit(ctx, "hello", "world", 1, map[string]any{"bin": []byte{1, 2}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Of("/admin").ServerSideEmit(ctx, "ping-all", richArg); err != nil {
			t.Fatal(err)
		}
		for i, srv := range c.servers {
			l, err := srv.Wait(ctx, testenv.ServerSideEmit("/", "hello"))
			if err != nil {
				t.Fatalf("server %d: %v", i, err)
			}
			args, _ := json.Marshal(l.Fields["args"])
			if !sameJSON(t, string(args), `["world",1,{"bin":{"$binary":"AQI="}}]`) {
				t.Errorf("server %d got %s", i, args)
			}
			l, err = srv.Wait(ctx, testenv.ServerSideEmit("/admin", "ping-all"))
			if err != nil {
				t.Fatalf("server %d: %v", i, err)
			}
			args, _ = json.Marshal(l.Fields["args"])
			if !sameJSON(t, string(args), `[`+richJSON+`]`) {
				t.Errorf("server %d got %s", i, args)
			}
		}
		for _, name := range append(slices.Clone(rootClients), adminClients...) {
			c.clients.AssertNoEvent(t, name, "hello", "ping-all")
		}
	})
	t.Run("disconnectSockets", func(t *testing.T) {
		if _, err := e.Of("/admin").In("room_777").DisconnectSockets(ctx, false); err != nil {
			t.Fatal(err)
		}
		if reason, err := c.clients.WaitDisconnect(ctx, "a1"); err != nil || reason != "io server disconnect" {
			t.Fatalf("a1: %q %v", reason, err)
		}
		c.gone["a1"] = true
		if _, err := e.In("room_888").Except("room_777").DisconnectSockets(ctx, true); err != nil {
			t.Fatal(err)
		}
		reason, err := c.clients.WaitDisconnect(ctx, "c3")
		if err != nil || (reason != "io server disconnect" && reason != "transport close") {
			t.Fatalf("c3: %q %v", reason, err)
		}
		c.gone["c3"] = true
		c.sentinel(ctx) // everybody else is still connected
		for _, name := range []string{"c1", "c2", "c4", "a2"} {
			if d := c.clients.Disconnects(name); len(d) > 0 {
				t.Errorf("%s was disconnected: %v", name, d)
			}
		}
	})
}

func TestInteropClassic(t *testing.T) {
	ctx := testCtx(t)
	r := testenv.StartRedis(t)
	c := startCluster(t, clusterSetup{flavor: testenv.FlavorV4Classic, redis: []string{r.Addr()}, client: r.Client(t), clientVer: 4})
	c.broadcasts(ctx, false)
	c.commands(ctx)
}

func TestInteropStreams(t *testing.T) {
	ctx := testCtx(t)
	r := testenv.StartRedis(t)
	c := startCluster(t, clusterSetup{flavor: testenv.FlavorV4Streams, redis: []string{r.Addr()}, client: r.Client(t), clientVer: 4,
		opts: []emitter.Option{emitter.WithMode(emitter.Streams)}})
	c.broadcasts(ctx, false)
	c.commands(ctx)
}

func TestInteropStreamCount(t *testing.T) {
	ctx := testCtx(t)
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	var servers []*testenv.NodeServer
	for range 2 {
		servers = append(servers, testenv.StartNodeServer(t, testenv.NodeServerConfig{
			Flavor: testenv.FlavorV4Streams, RedisAddrs: []string{r.Addr()}, Namespaces: []string{"/admin"}, StreamCount: 4,
		}))
	}
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{
		servers[0].Client("root", "/", "r"), servers[1].Client("admin", "/admin", "r"),
	})
	e, err := emitter.New(rdb, emitter.WithMode(emitter.Streams), emitter.WithStreamCount(4))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.To("r").Emit(ctx, "to-root", 1); err != nil { // stream socket.io-3
		t.Fatal(err)
	}
	if _, err := e.Of("/admin").To("r").Emit(ctx, "to-admin", 2); err != nil { // stream socket.io-0
		t.Fatal(err)
	}
	if _, err := clients.WaitEvent(ctx, "root", testenv.EventNamed("to-root")); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.WaitEvent(ctx, "admin", testenv.EventNamed("to-admin")); err != nil {
		t.Fatal(err)
	}
	for key, n := range map[string]int64{"socket.io-3": 1, "socket.io-0": 1} {
		entries, err := rdb.XRange(ctx, key, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		got := int64(0)
		for _, en := range entries {
			if en.Values["uid"] == "emitter" {
				got++
			}
		}
		if got != n {
			t.Errorf("%s holds %d emitter entries, want %d", key, got, n)
		}
	}
}

func TestInteropLegacy(t *testing.T) {
	ctx := testCtx(t)
	r := testenv.StartRedis(t)
	c := startCluster(t, clusterSetup{flavor: testenv.FlavorV2Classic, redis: []string{r.Addr()}, client: r.Client(t), clientVer: 2,
		opts: []emitter.Option{emitter.WithMode(emitter.Legacy)}})
	c.broadcasts(ctx, true)
	if _, err := c.e.SocketsJoin(ctx, "x"); !errors.Is(err, emitter.ErrUnsupported) {
		t.Fatalf("socketsJoin on socket.io 2: %v", err)
	}
}

// TestInteropClassicEmitterOnLegacyBinary shows why Legacy exists: the
// classic format (packet type 2) makes socket.io 2 send binary as JSON.
func TestInteropClassicEmitterOnLegacyBinary(t *testing.T) {
	ctx := testCtx(t)
	r := testenv.StartRedis(t)
	srv := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV2Classic, RedisAddrs: []string{r.Addr()}})
	clients := testenv.StartClients(t, 2, []testenv.ClientSpec{srv.Client("c", "/")})
	classic, _ := emitter.New(r.Client(t))
	if _, err := classic.Emit(ctx, "bin", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	ev, err := clients.WaitEvent(ctx, "c", testenv.EventNamed("bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.ArgsJSON(); got != `[{"type":"Buffer","data":[1,2,3]}]` {
		t.Fatalf("classic emitter on socket.io 2: %s", got)
	}
}

func TestInteropSharded(t *testing.T) {
	cl := testenv.StartRedisCluster(t, 3)
	rdb := cl.Client(t)
	modes := []struct {
		flavor testenv.Flavor
		sub    emitter.SubscriptionMode
	}{
		{testenv.FlavorV4ShardedStatic, emitter.SubscriptionStatic},
		{testenv.FlavorV4ShardedDynamic, emitter.SubscriptionDynamic},
		{testenv.FlavorV4ShardedDynamicPrivate, emitter.SubscriptionDynamicPrivate},
	}
	for _, m := range modes {
		t.Run(string(m.flavor), func(t *testing.T) {
			ctx := testCtx(t)
			// The default emitter publishes on the namespace channel, which
			// servers of every subscription mode read: the whole suite.
			c := startCluster(t, clusterSetup{flavor: m.flavor, redis: cl.Addrs(), client: rdb, clientVer: 4,
				opts: []emitter.Option{emitter.WithMode(emitter.Sharded)}})
			c.broadcasts(ctx, false)
			c.commands(ctx)
			if m.sub == emitter.SubscriptionStatic {
				return
			}
			// An emitter told the servers' mode uses room channels for
			// single-room broadcasts. Room and namespace channels live in
			// different slots, without order between them: a quiet period
			// backs the sentinel.
			roomy, err := emitter.New(rdb, emitter.WithMode(emitter.Sharded), emitter.WithSubscriptionMode(m.sub))
			if err != nil {
				t.Fatal(err)
			}
			ev := c.event("room-channel")
			if _, err := roomy.To("room_777").Emit(ctx, ev, "r"); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"c1", "c2"} {
				if _, err := c.clients.WaitEvent(ctx, name, testenv.EventNamed(ev)); err != nil {
					t.Fatal(err)
				}
			}
			// A socket id as the room: dynamic mode must fall back to the
			// namespace channel (no server subscribes to socket-id channels).
			ev2 := c.event("socket-id")
			if _, err := roomy.To(c.clients.IDs["c4"]).Emit(ctx, ev2, "s"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.clients.WaitEvent(ctx, "c4", testenv.EventNamed(ev2)); err != nil {
				t.Fatal(err)
			}
			c.clients.AssertQuiet(t, 300*time.Millisecond)
			for _, name := range []string{"c3", "a2"} {
				c.clients.AssertNoEvent(t, name, ev, ev2)
			}
		})
	}
}

// jsonParser is the Go side of a JSON codec that a deployment gave its
// classic adapters (parser: {encode: JSON.stringify, decode: JSON.parse}).
type jsonParser struct{}

func (jsonParser) Encode(msg any) ([]byte, error) { return json.Marshal(msg) }

func TestInteropClassicCustomParser(t *testing.T) {
	ctx := testCtx(t)
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	var servers []*testenv.NodeServer
	for range 2 {
		servers = append(servers, testenv.StartNodeServer(t, testenv.NodeServerConfig{
			Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{r.Addr()}, Namespaces: []string{"/admin"}, Parser: "json",
		}))
	}
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{
		servers[0].Client("c1", "/", "room_777"), servers[1].Client("c2", "/", "room_888"), servers[1].Client("a1", "/admin", "room_777"),
	})
	e, err := emitter.New(rdb, emitter.WithParser(jsonParser{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.To("room_777").Volatile().Emit(ctx, "my_event_name", map[string]string{"id": "message_id"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Of("/admin").To("room_777").Emit(ctx, "admin", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.To("room_888").SocketsJoin(ctx, "joined"); err != nil { // a JSON request, whatever the parser
		t.Fatal(err)
	}
	if _, err := e.Emit(ctx, "done"); err != nil {
		t.Fatal(err)
	}
	ev, err := clients.WaitEvent(ctx, "c1", testenv.EventNamed("my_event_name"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.ArgsJSON(); got != `[{"id":"message_id"}]` {
		t.Errorf("c1 got %s", got)
	}
	if _, err := clients.WaitEvent(ctx, "a1", testenv.EventNamed("admin")); err != nil {
		t.Fatal(err)
	}
	if err := clients.WaitAll(ctx, "done", "c1", "c2"); err != nil {
		t.Fatal(err)
	}
	clients.AssertNoEvent(t, "c2", "my_event_name", "admin")
	for {
		rooms, err := servers[1].Rooms(ctx, "/", clients.IDs["c2"])
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(rooms, "joined") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("c2 never joined: %v", rooms)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// A parser is for the classic mode only.
	if _, err := emitter.New(rdb, emitter.WithMode(emitter.Sharded), emitter.WithParser(jsonParser{})); err == nil {
		t.Error("a parser was accepted for the sharded mode")
	}
}
