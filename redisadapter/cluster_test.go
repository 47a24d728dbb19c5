package redisadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/jsvalue"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// goServer is a Go Socket.IO server with the Redis adapter, behaving as testpeers/server.js does for
// testpeers/clients.js: it joins the rooms of the handshake query and answers "__joined". It acknowledges the
// server-side events "ack-me" with {"from": name, "args": [...]}, "ack-bin" with {"from": name, "bin": <name as
// binary>}, "ack-empty" without an argument, "only-<name>" with its name, and "ack-twice" twice (recording the
// second call's error); others get no acknowledgement.
type goServer struct {
	srv  *socketio.Server
	url  string
	name string

	mu        sync.Mutex
	sse       []string // server-side events received: "event args"
	twiceErrs []error  // the second ack's errors of "ack-twice"
}

func startGoServer(t *testing.T, redisAddr, name string) *goServer {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	adapter := redisadapter.New(rdb, redisadapter.Config{})
	return startGoServerOn(t, name, socketio.Config{Cluster: adapter}, adapter.WaitReady)
}

// startGoServerOn starts a goServer with cfg (its Cluster set), and waits for ready (the cluster's WaitReady).
func startGoServerOn(t *testing.T, name string, cfg socketio.Config, ready func(context.Context) error) *goServer {
	t.Helper()
	srv, err := socketio.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := &goServer{srv: srv, name: name}
	root := srv.Of("/")
	root.OnConnection(func(ctx context.Context, s *socketio.Socket) {
		var rooms []string
		if q := s.Handshake().Query.Get("rooms"); q != "" {
			rooms = strings.Split(q, ",")
		}
		if !s.Recovered() {
			s.Join(rooms...)
		}
		_ = s.Emit("__joined", map[string]any{"id": s.ID(), "nsp": "/", "rooms": s.Rooms()})
	})
	root.OnServerSideEmit(func(ctx context.Context, event string, args socketio.Args) {
		vals, _ := args.Values()
		g.mu.Lock()
		g.sse = append(g.sse, event+" "+fmt.Sprint(vals...))
		g.mu.Unlock()
	})
	root.OnServerSideEmitWithAck(func(ctx context.Context, event string, args socketio.Args, ack socketio.AckFunc) {
		if ack == nil {
			return
		}
		vals, err := args.Values()
		if err != nil {
			t.Errorf("%s: %s arguments: %v", name, event, err)
			return
		}
		if vals == nil {
			vals = []any{}
		}
		switch event {
		case "ack-me":
			err = ack(jsvalue.Object{{Key: "from", Value: name}, {Key: "args", Value: vals}})
		case "ack-bin":
			err = ack(jsvalue.Object{{Key: "from", Value: name}, {Key: "bin", Value: []byte(name)}})
		case "ack-empty":
			err = ack()
		case "only-" + name:
			err = ack(name, "ignored: one value per server")
		case "ack-twice":
			err = ack(name)
			second := ack("again")
			g.mu.Lock()
			g.twiceErrs = append(g.twiceErrs, second)
			g.mu.Unlock()
		}
		if err != nil {
			t.Errorf("%s: ack %s: %v", name, event, err)
		}
	})
	hs := httptest.NewServer(srv)
	g.url = hs.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ready(ctx); err != nil {
		t.Fatal(err)
	}
	return g
}

// checkEmitWithAck broadcasts "ask" with acknowledgements to room, from the Go server (root) and from the Node
// server, and checks that each was answered by the clients want names (sorted, comma-separated), which answer with
// their names (testpeers/clients.js).
func checkEmitWithAck(ctx context.Context, t *testing.T, root *socketio.Namespace, node *testenv.NodeServer, room, want string) {
	t.Helper()
	acks, err := root.To(room).EmitWithAck(ctx, "ask")
	if err != nil {
		t.Fatalf("Go emitWithAck: %v", err)
	}
	var from []string
	for _, a := range acks {
		var v struct{ From string }
		if err := a.Decode(0, &v); err != nil {
			t.Fatal(err)
		}
		from = append(from, v.From)
	}
	slices.Sort(from)
	if got := strings.Join(from, ","); got != want {
		t.Errorf("Go emitWithAck answered by %q, want %s", got, want)
	}
	nodeAcks, err := node.EmitWithAck(ctx, "/", "ask", room)
	if err != nil {
		t.Fatalf("Node emitWithAck: %v", err)
	}
	from = from[:0]
	for _, a := range nodeAcks {
		var v struct{ From string }
		if err := json.Unmarshal(a, &v); err != nil {
			t.Fatal(err)
		}
		from = append(from, v.From)
	}
	slices.Sort(from)
	if got := strings.Join(from, ","); got != want {
		t.Errorf("Node emitWithAck answered by %q, want %s", got, want)
	}
}

// TestMixedCluster puts a Go server and a Node server (socket.io 4.8 with @socket.io/redis-adapter) on one Redis,
// with real socket.io clients on both, and checks that broadcasts and commands cross in both directions.
func TestMixedCluster(t *testing.T) {
	rs := testenv.StartRedis(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()}})
	g := startGoServer(t, rs.Addr(), "g")
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
	if n, err := root.ServerCount(ctx); err != nil || n != 2 {
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
	if _, err := em.To("r2").Emit(ctx, "from-emitter", jsvalue.Object{{Key: "z", Value: 1}, {Key: "a", Value: []byte{1, 2}}}); err != nil {
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

	// A broadcast published on a room's channel is delivered only by the servers that have that room (Node's
	// adapter drops it otherwise), whatever its opts.rooms say: on the channel of "nobody", nothing arrives; on
	// the channel of r1, which both servers have, room r2 gets it on both.
	for _, channelRoom := range []string{"nobody", "r1"} {
		body, err := protocol.AppendClassicBroadcast(nil, "emitter",
			&protocol.Op{Kind: protocol.OpBroadcast, Nsp: "/", Rooms: []string{"r2"}, Event: "via-" + channelRoom}, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.Publish(ctx, "socket.io#/#"+channelRoom+"#", body).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"g2", "n2"} {
		if _, err := clients.WaitEvent(ctx, c, testenv.EventNamed("via-r1")); err != nil {
			t.Fatalf("%s: broadcast on r1's channel: %v", c, err)
		}
		clients.AssertNoEvent(t, c, "via-nobody")
	}

	// socketsJoin from the Go server acts on the Node server's sockets too.
	if err := root.In("r1").SocketsJoin(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	if _, err := em.To("r3").Emit(ctx, "to-r3"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"g1", "n1"} {
		if _, err := clients.WaitEvent(ctx, c, testenv.EventNamed("to-r3")); err != nil {
			t.Fatalf("%s after socketsJoin: %v", c, err)
		}
	}

	// socketsLeave from an emitter acts on the Go server's sockets.
	if _, err := em.In("r3").SocketsLeave(ctx, "r1"); err != nil {
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
	if _, err := em.ServerSideEmit(ctx, "ping-all", "from emitter"); err != nil {
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
	checkEmitWithAck(ctx, t, root, node, "r3", "g1,n1")

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

// TestMixedClusterServerSideEmitWithAck puts a Node server (socket.io 4.8 with @socket.io/redis-adapter 8.3
// createAdapter, requestsTimeout 1.5 s) and two Go servers on one Redis, and checks serverSideEmit with
// acknowledgements both ways: what Node publishes is what package protocol writes for the same values, each side
// gets one answer per other server, and a server that does not answer ends the wait with the timeout error.
func TestMixedClusterServerSideEmitWithAck(t *testing.T) {
	rs := testenv.StartRedis(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()},
		RequestsTimeout: 1500 * time.Millisecond})
	g1 := startGoServer(t, rs.Addr(), "g1")
	g2 := startGoServer(t, rs.Addr(), "g2")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if n, err := node.ServerCount(ctx, "/"); err != nil || n != 3 {
		t.Fatalf("Node server counts %d servers (%v), want 3", n, err)
	}

	// The traffic as Redis carries it, with pattern subscriptions, which PUBSUB NUMSUB does not count.
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rdb.Close()
	wire := rdb.PSubscribe(ctx, "socket.io-request#/#", "socket.io-response#/#")
	defer wire.Close()
	if _, err := wire.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := wire.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	// nextWire returns the next message on channel of kind that satisfies match.
	nextWire := func(channel string, kind protocol.Kind, match func(*protocol.Message) bool) (*protocol.Message, []byte) {
		t.Helper()
		for {
			m, err := wire.ReceiveMessage(ctx)
			if err != nil {
				t.Fatalf("waiting for a %v message on %s: %v", kind, channel, err)
			}
			if m.Channel != channel {
				continue
			}
			payload := []byte(m.Payload)
			decode := protocol.DecodeClassicResponse
			if strings.HasPrefix(channel, "socket.io-request") {
				decode = protocol.DecodeClassicRequest
			}
			msg, err := decode(payload)
			if err == nil && msg.Kind == kind && match(msg) {
				return msg, payload
			}
		}
	}
	withID := func(id string) func(*protocol.Message) bool {
		return func(m *protocol.Message) bool { return m.RequestID == id }
	}

	// Node → Go: the Node server's serverSideEmitWithAck gets one answer from each Go server.
	responses, err := node.ServerSideEmitWithAck(ctx, "/", "ack-me", "x", 1, map[string]any{"k": true})
	if err != nil {
		t.Fatalf("Node serverSideEmitWithAck: %v", err)
	}
	var got []string
	for _, r := range responses {
		got = append(got, string(r))
	}
	slices.Sort(got)
	if want := []string{`{"from":"g1","args":["x",1,{"k":true}]}`, `{"from":"g2","args":["x",1,{"k":true}]}`}; !slices.Equal(got, want) {
		t.Errorf("Node got the answers %q, want %q", got, want)
	}
	// Node's request is byte for byte what protocol writes with its uid, request id, event and arguments.
	req, payload := nextWire("socket.io-request#/#", protocol.KindServerSideEmit, func(m *protocol.Message) bool { return m.Event == "ack-me" })
	args := req.Args
	if req.RequestID == "" || req.Event != "ack-me" || len(args) == 0 {
		t.Fatalf("Node's request %+v (%s)", req, payload)
	}
	mine, err := protocol.AppendServerSideEmitWithAckRequest(nil, req.UID, req.RequestID,
		&protocol.Op{Kind: protocol.OpServerSideEmit, Nsp: "/", Event: req.Event, Args: args})
	if err != nil || string(mine) != string(payload) {
		t.Errorf("Node's request\n%s\nprotocol writes\n%s (%v)", payload, mine, err)
	}
	// The Go servers answered on the shared response channel, as Node servers do.
	for range 2 {
		if resp, payload := nextWire("socket.io-response#/#", protocol.KindServerSideEmitResponse, withID(req.RequestID)); resp.Encoding != protocol.EncodingJSON {
			t.Errorf("a Go server answered %q", payload)
		}
	}

	// Node → Go, binary acknowledgements (msgpack, which Node decodes with its parser) and acknowledgements without
	// an argument (null for Node, which sees undefined).
	responses, err = node.ServerSideEmitWithAck(ctx, "/", "ack-bin")
	if err != nil {
		t.Fatalf("Node serverSideEmitWithAck ack-bin: %v", err)
	}
	got = got[:0]
	for _, r := range responses {
		got = append(got, string(r))
	}
	slices.Sort(got)
	if want := []string{`{"from":"g1","bin":{"$binary":"ZzE="}}`, `{"from":"g2","bin":{"$binary":"ZzI="}}`}; !slices.Equal(got, want) {
		t.Errorf("Node got the binary answers %q, want %q", got, want)
	}
	responses, err = node.ServerSideEmitWithAck(ctx, "/", "ack-empty")
	if err != nil || len(responses) != 2 || string(responses[0]) != "null" || string(responses[1]) != "null" {
		t.Errorf("Node got the answers without argument %q (%v), want [null null]", responses, err)
	}

	// A Go handler that acknowledges twice: one answer per server reaches Node, and the second call fails.
	responses, err = node.ServerSideEmitWithAck(ctx, "/", "ack-twice")
	if err != nil || len(responses) != 2 {
		t.Errorf("Node got %q (%v) for ack-twice, want 2 answers", responses, err)
	}
	for _, g := range []*goServer{g1, g2} {
		// The first ack reaches Node before the handler makes its second call: wait for it.
		testenv.WaitFor(t, func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return len(g.twiceErrs) > 0
		})
		g.mu.Lock()
		errs := slices.Clone(g.twiceErrs)
		g.mu.Unlock()
		if len(errs) != 1 || !errors.Is(errs[0], socketio.ErrAckTwice) {
			t.Errorf("%s: second ack returned %v, want ErrAckTwice", g.name, errs)
		}
	}

	// Go → Node and Go: one answer from each other server, binary arguments included (msgpack to Node).
	bounded, cancelBounded := context.WithTimeout(ctx, 10*time.Second)
	defer cancelBounded()
	answers, err := g1.srv.ServerSideEmitWithAck(bounded, "ack-me", "y", []byte{7})
	if err != nil {
		t.Fatalf("Go ServerSideEmitWithAck: %v", err)
	}
	got = got[:0]
	for _, a := range answers {
		if a.Len() != 1 {
			t.Errorf("an answer with %d values, want 1", a.Len())
		}
		var v any
		if err := a.Decode(0, &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		got = append(got, string(b))
	}
	slices.Sort(got)
	// json.Marshal writes []byte as base64 and sorts keys.
	if want := []string{`{"args":["y","Bw=="],"from":"g2"}`, `{"args":["y",{"$binary":"Bw=="}],"from":"node"}`}; !slices.Equal(got, want) {
		t.Errorf("Go got the answers %q, want %q", got, want)
	}
	// Node's answer is byte for byte what protocol writes for the same value, on the shared response channel.
	goReq, _ := nextWire("socket.io-request#/#", protocol.KindServerSideEmit, func(m *protocol.Message) bool {
		return m.Event == "ack-me" && len(m.Args) == 2 && m.Args[0] == "y"
	})
	for {
		resp, payload := nextWire("socket.io-response#/#", protocol.KindServerSideEmitResponse, withID(goReq.RequestID))
		ack := resp.Args
		if len(ack) != 1 {
			t.Fatalf("answer %s: %v", payload, ack)
		}
		if o, ok := ack[0].(jsvalue.Object); !ok || len(o) == 0 || o[0].Value != "node" {
			continue // g2's
		}
		mine, err := protocol.AppendServerSideEmitResponse(nil, resp.RequestID, ack)
		if err != nil || string(mine) != string(payload) {
			t.Errorf("Node's answer\n%s\nprotocol writes\n%s (%v)", payload, mine, err)
		}
		break
	}
	// Values keep their keys' order from Node to Go.
	for _, a := range answers {
		if raw := string(a.Raw(0)); strings.Contains(raw, `"node"`) && !strings.HasPrefix(raw, `{"from":"node","args":`) {
			t.Errorf("Node's answer reached Go as %s", raw)
		}
	}

	// Timeouts. Go → others: g2 answers "only-g2" (its first value only), the Node server does not, so the wait
	// ends with ctx and the answers so far.
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	defer cancelShort()
	start := time.Now()
	answers, err = g1.srv.ServerSideEmitWithAck(short, "only-g2")
	if !errors.Is(err, socketio.ErrAckTimeout) || !errors.Is(err, socketio.ErrRequestTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Go ServerSideEmitWithAck without Node's answer: %v, want ErrAckTimeout, ErrRequestTimeout, DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("gave up after %v, before ctx ended", d)
	}
	if len(answers) != 1 || answers[0].Len() != 1 || string(answers[0].Raw(0)) != `"g2"` {
		t.Errorf("answers before the timeout: %v", answers)
	}
	// Node → Go: g1 answers "only-g1", g2 does not: Node's requestsTimeout ends the wait with g1's answer.
	start = time.Now()
	responses, err = node.ServerSideEmitWithAck(ctx, "/", "only-g1")
	if err == nil || !strings.Contains(err.Error(), "timeout reached: only 1 responses received out of 2") {
		t.Errorf("Node serverSideEmitWithAck without g2's answer: %v", err)
	}
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Errorf("Node gave up after %v, before its requestsTimeout", d)
	}
	if len(responses) != 1 || string(responses[0]) != `"g1"` {
		t.Errorf("Node's answers before the timeout: %q", responses)
	}

	// The plain handlers get the events with acknowledgement too.
	g1.mu.Lock()
	defer g1.mu.Unlock()
	if !slices.Contains(g1.sse, "only-g1 ") || !slices.Contains(g1.sse, "ack-me x1 map[k:true]") {
		t.Errorf("g1's plain handler got %q", g1.sse)
	}
}

// TestServerSideEmitWithAckAlone: a Go server alone on its Redis gets no answers, at once.
func TestServerSideEmitWithAckAlone(t *testing.T) {
	rs := testenv.StartRedis(t)
	g := startGoServer(t, rs.Addr(), "g")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	answers, err := g.srv.ServerSideEmitWithAck(ctx, "ack-me")
	if err != nil || len(answers) != 0 {
		t.Errorf("alone: %v, %v", answers, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("alone: took %v", d)
	}
	if _, err := g.srv.ServerSideEmitWithAck(ctx, "new_namespace"); !errors.Is(err, socketio.ErrReservedEvent) {
		t.Errorf("reserved event: %v", err)
	}
}
