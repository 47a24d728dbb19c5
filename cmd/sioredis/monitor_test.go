package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// monitorRun is "sioredis monitor" running in-process.
type monitorRun struct {
	t        *testing.T
	cancel   context.CancelFunc
	out, err *testenv.Buffer
	done     chan int
	once     sync.Once
}

// startMonitor runs the monitor with args and waits until it is watching.
func startMonitor(t *testing.T, args ...string) *monitorRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := &monitorRun{t: t, cancel: cancel, out: &testenv.Buffer{}, err: &testenv.Buffer{}, done: make(chan int, 1)}
	go func() { m.done <- run(ctx, append([]string{"monitor"}, args...), strings.NewReader(""), m.out, m.err) }()
	t.Cleanup(func() { m.stop() })
	deadline := time.After(10 * time.Second)
	for !strings.Contains(m.err.String(), "sioredis monitor: watching") {
		select {
		case code := <-m.done:
			t.Fatalf("monitor exited with %d:\n%s", code, m.err.String())
		case <-deadline:
			t.Fatalf("monitor not watching after 10 s:\n%s", m.err.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return m
}

// stop interrupts the monitor and checks that it exits promptly with 0.
func (m *monitorRun) stop() {
	m.once.Do(func() {
		m.t.Helper()
		start := time.Now()
		m.cancel()
		select {
		case code := <-m.done:
			if code != 0 {
				m.t.Errorf("monitor exited with %d:\n%s", code, m.err.String())
			}
			if d := time.Since(start); d > 2*time.Second {
				m.t.Errorf("monitor took %v to stop", d)
			}
		case <-time.After(5 * time.Second):
			m.t.Errorf("monitor did not stop")
		}
	})
}

// lines returns the JSON objects printed so far.
func (m *monitorRun) lines() []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(m.out.String()), "\n") {
		if l == "" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			m.t.Fatalf("monitor printed a line that is not a JSON object: %q: %v", l, err)
		}
		out = append(out, obj)
	}
	return out
}

// anyString in an expected line matches any non-empty string.
type anyString struct{}

// find waits for n lines that have every field of key, and returns them.
func (m *monitorRun) find(n int, key map[string]any) []map[string]any {
	m.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []map[string]any
		for _, l := range m.lines() {
			if matches(l, key) {
				found = append(found, l)
			}
		}
		if len(found) >= n {
			return found
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%d of %d lines with %v; output:\n%s\nstderr:\n%s", len(found), n, key, m.out.String(), m.err.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func matches(line, key map[string]any) bool {
	for k, v := range key {
		if _, ok := v.(anyString); ok {
			if s, _ := line[k].(string); s == "" {
				return false
			}
			continue
		}
		if !sameJSON(line[k], v) {
			return false
		}
	}
	return true
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// expectLine waits for the line with the fields of key and checks it field by
// field against want (every field but time, which must be a recent RFC 3339
// time).
func (m *monitorRun) expectLine(key, want map[string]any) map[string]any {
	m.t.Helper()
	got := m.find(1, key)[0]
	checkLine(m.t, got, want)
	return got
}

func checkLine(t *testing.T, got, want map[string]any) {
	t.Helper()
	ts, _ := got["time"].(string)
	if at, err := time.Parse(time.RFC3339Nano, ts); err != nil || time.Since(at) > time.Minute || !strings.HasSuffix(ts, "Z") {
		t.Errorf("bad time %q", ts)
	}
	for k := range got {
		if _, ok := want[k]; !ok && k != "time" {
			t.Errorf("unexpected field %s=%v in %v", k, got[k], got)
		}
	}
	for k, v := range want {
		if _, ok := v.(anyString); ok {
			if s, _ := got[k].(string); s == "" {
				t.Errorf("field %s: got %v, want a non-empty string", k, got[k])
			}
			continue
		}
		if !sameJSON(got[k], v) {
			g, _ := json.Marshal(got[k])
			w, _ := json.Marshal(v)
			t.Errorf("field %s: got %s, want %s (line %v)", k, g, w, got)
		}
	}
}

// merge returns a copy of base with the fields of extra.
func merge(base map[string]any, extra map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// serverTraffic runs testpeers/server-traffic.js: a transient Socket.IO
// server that joins the cluster and performs ops. It returns its uid and its
// result lines.
func serverTraffic(t *testing.T, flavor, addr string, servers int, ops ...map[string]any) (string, []map[string]any) {
	t.Helper()
	js, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	out := testenv.RunNode(t, "server-traffic.js", "--flavor", flavor, "--redis", addr, "--servers", fmt.Sprint(servers), "--ops", string(js))
	var uid string
	var results []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("server-traffic.js printed %q", l)
		}
		if obj["type"] == "ready" {
			uid, _ = obj["uid"].(string)
		} else {
			results = append(results, obj)
		}
	}
	if uid == "" || len(results) != len(ops) {
		t.Fatalf("server-traffic.js output:\n%s", out)
	}
	return uid, results
}

// officialEmitter runs the calls with @socket.io/redis-emitter 5.1 (through
// testpeers/golden.js, which takes calls in its cases format).
func officialEmitter(t *testing.T, addr string, calls ...map[string]any) {
	t.Helper()
	for i, c := range calls {
		c["name"] = fmt.Sprint("call-", i)
	}
	js, err := json.Marshal(map[string]any{"cases": calls})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "calls.json")
	if err := os.WriteFile(file, js, 0o600); err != nil {
		t.Fatal(err)
	}
	testenv.RunNode(t, "golden.js", "--redis", addr, "--cases", file)
}

func newEmitter(t *testing.T, client redis.UniversalClient, mode emitter.Mode) *emitter.Emitter {
	t.Helper()
	e, err := emitter.New(client, emitter.WithMode(mode))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sent fails t when the emitter call it is given failed: sent(t)(e.Emit(...)).
func sent(t *testing.T) func(emitter.Receipt, error) {
	return func(_ emitter.Receipt, err error) {
		t.Helper()
		must(t, err)
	}
}

func TestMonitorClassic(t *testing.T) {
	ctx := context.Background()
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	cfg := testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{r.Addr()}, Namespaces: []string{"/admin"}}
	s1 := testenv.StartNodeServer(t, cfg)
	s2 := testenv.StartNodeServer(t, cfg)
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{s1.Client("c1", "/", "room1"), s2.Client("c2", "/", "room1")})
	numsub := func() int64 {
		t.Helper()
		n, err := rdb.PubSubNumSub(ctx, "socket.io-request#/#").Result()
		must(t, err)
		return n["socket.io-request#/#"]
	}
	if n := numsub(); n != 2 {
		t.Fatalf("NUMSUB before the monitor: %d", n)
	}

	mon := startMonitor(t, "--json", "--mode", "classic", "--redis", r.URL())
	admin := startMonitor(t, "--mode", "classic", "--redis", r.URL(), "--nsp", "admin", "--event", "go-admin") // text output, filtered
	// Pattern subscriptions are invisible to the servers' count.
	if n := numsub(); n != 2 {
		t.Fatalf("NUMSUB with the monitors running: %d, want 2", n)
	}
	if n, err := s1.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("serverCount with the monitors running: %d, %v", n, err)
	}

	broadcast := map[string]any{"source": "pubsub", "pattern": "socket.io#*", "kind": "broadcast", "format": "classic", "encoding": "msgpack",
		"uid": "emitter", "nsp": "/", "except": []string{}, "flags": map[string]any{}, "packetType": 2}
	request := map[string]any{"source": "pubsub", "channel": "socket.io-request#/#", "pattern": "socket.io-request#*", "format": "classic", "encoding": "json", "nsp": "/"}

	t.Run("Go emitter", func(t *testing.T) {
		e := newEmitter(t, rdb, emitter.Classic)
		sent(t)(e.To("room1").Except("room9").Volatile().Emit(ctx, "go-hello", "world", []byte{1, 2, 3}, map[string]any{"n": 1}))
		sent(t)(e.Of("/admin").Compress(false).Emit(ctx, "go-admin", 1.5))
		sent(t)(e.To("room1").SocketsJoin(ctx, "room2"))
		sent(t)(e.In("room2").SocketsLeave(ctx, "room2"))
		sent(t)(e.To("nobody").DisconnectSockets(ctx, true))
		sent(t)(e.ServerSideEmit(ctx, "hello", "from-go"))

		mon.expectLine(map[string]any{"event": "go-hello"}, merge(broadcast, map[string]any{
			"channel": "socket.io#/#room1#", "rooms": []string{"room1"}, "except": []string{"room9"}, "flags": map[string]any{"volatile": true},
			"event": "go-hello", "args": []any{"world", map[string]any{"$binary": "AQID"}, map[string]any{"n": 1}}}))
		mon.expectLine(map[string]any{"event": "go-admin"}, merge(broadcast, map[string]any{
			"channel": "socket.io#/admin#", "nsp": "/admin", "rooms": []string{}, "flags": map[string]any{"compress": false},
			"event": "go-admin", "args": []any{1.5}}))
		mon.expectLine(map[string]any{"kind": "socketsJoin", "targetRooms": []string{"room2"}}, merge(request, map[string]any{
			"kind": "socketsJoin", "type": 2, "rooms": []string{"room1"}, "except": []string{}, "targetRooms": []string{"room2"}}))
		mon.expectLine(map[string]any{"kind": "socketsLeave", "targetRooms": []string{"room2"}}, merge(request, map[string]any{
			"kind": "socketsLeave", "type": 3, "rooms": []string{"room2"}, "except": []string{}, "targetRooms": []string{"room2"}}))
		mon.expectLine(map[string]any{"kind": "disconnectSockets", "rooms": []string{"nobody"}}, merge(request, map[string]any{
			"kind": "disconnectSockets", "type": 4, "rooms": []string{"nobody"}, "except": []string{}, "close": true}))
		mon.expectLine(map[string]any{"kind": "serverSideEmit", "args": []string{"from-go"}}, merge(request, map[string]any{
			"kind": "serverSideEmit", "type": 6, "uid": "emitter", "event": "hello", "args": []string{"from-go"}}))
	})

	t.Run("official emitter", func(t *testing.T) {
		officialEmitter(t, r.Addr(),
			map[string]any{"op": "emit", "to": []string{"room1"}, "event": "official-hello", "args": []any{map[string]any{"$binary": "AQI="}, "x"}},
			map[string]any{"op": "socketsJoin", "to": []string{"room1"}, "rooms": []string{"room3"}},
			map[string]any{"op": "disconnectSockets", "to": []string{"nobody2"}, "close": false},
			map[string]any{"op": "serverSideEmit", "event": "hello", "args": []any{"official", 2}},
		)
		mon.expectLine(map[string]any{"event": "official-hello"}, merge(broadcast, map[string]any{
			"channel": "socket.io#/#room1#", "rooms": []string{"room1"}, "event": "official-hello",
			"args": []any{map[string]any{"$binary": "AQI="}, "x"}}))
		mon.expectLine(map[string]any{"kind": "socketsJoin", "targetRooms": []string{"room3"}}, merge(request, map[string]any{
			"kind": "socketsJoin", "type": 2, "rooms": []string{"room1"}, "except": []string{}, "targetRooms": []string{"room3"}}))
		mon.expectLine(map[string]any{"kind": "disconnectSockets", "rooms": []string{"nobody2"}}, merge(request, map[string]any{
			"kind": "disconnectSockets", "type": 4, "rooms": []string{"nobody2"}, "except": []string{}, "close": false}))
		mon.expectLine(map[string]any{"kind": "serverSideEmit", "args": []any{"official", 2}}, merge(request, map[string]any{
			"kind": "serverSideEmit", "type": 6, "uid": "emitter", "event": "hello", "args": []any{"official", 2}}))
	})

	t.Run("Node server", func(t *testing.T) {
		// A third server joins, broadcasts, asks every server for its sockets
		// (which completes only because the monitors are not counted), emits
		// to the servers and broadcasts with acknowledgements.
		uid, results := serverTraffic(t, "v4-classic", r.Addr(), 3,
			map[string]any{"op": "emit", "to": []string{"room1"}, "event": "server-hello", "args": []any{"s", map[string]any{"$binary": "/w=="}}},
			map[string]any{"op": "fetchSockets", "to": []string{"room1"}},
			map[string]any{"op": "serverSideEmit", "event": "hello", "args": []any{"from-server"}},
			map[string]any{"op": "emitWithAck", "to": []string{"room1"}, "event": "ack-me", "timeout": 300},
		)
		wantIDs := []any{clients.IDs["c1"], clients.IDs["c2"]}
		if ids := results[1]["ids"]; !sameSet(ids, wantIDs) {
			t.Fatalf("fetchSockets: %v, want %v", ids, wantIDs)
		}
		mon.expectLine(map[string]any{"event": "server-hello"}, merge(broadcast, map[string]any{
			"channel": "socket.io#/#room1#", "uid": uid, "rooms": []string{"room1"}, "event": "server-hello",
			"args": []any{"s", map[string]any{"$binary": "/w=="}}}))
		fetch := mon.expectLine(map[string]any{"kind": "fetchSockets", "uid": uid}, merge(request, map[string]any{
			"kind": "fetchSockets", "type": 5, "uid": uid, "requestId": anyString{}, "rooms": []string{"room1"}, "except": []string{}}))
		responses := mon.find(2, map[string]any{"kind": "fetchSocketsResponse", "requestId": fetch["requestId"]})
		var ids []any
		for _, l := range responses {
			data, _ := l["data"].([]any)
			if len(data) != 1 {
				t.Fatalf("response data %v", l["data"])
			}
			sock, _ := data[0].(map[string]any)
			ids = append(ids, sock["id"])
			// room3 was joined by the official emitter's socketsJoin.
			if rooms, _ := sock["rooms"].([]any); !sameSet(rooms, []any{sock["id"], "room1", "room3"}) {
				t.Errorf("socket rooms %v", sock["rooms"])
			}
			checkLine(t, l, map[string]any{"source": "pubsub", "channel": "socket.io-response#/#", "pattern": "socket.io-response#*",
				"kind": "fetchSocketsResponse", "format": "classic", "encoding": "json", "nsp": "/", "requestId": fetch["requestId"], "data": data})
		}
		if !sameSet(ids, wantIDs) {
			t.Errorf("sockets in the responses: %v, want %v", ids, wantIDs)
		}
		mon.expectLine(map[string]any{"kind": "serverSideEmit", "uid": uid}, merge(request, map[string]any{
			"kind": "serverSideEmit", "type": 6, "uid": uid, "event": "hello", "args": []string{"from-server"}}))
		ack := mon.expectLine(map[string]any{"event": "ack-me"}, merge(request, map[string]any{
			"kind": "broadcastWithAck", "type": 7, "encoding": "msgpack", "uid": uid, "requestId": anyString{},
			"rooms": []string{"room1"}, "except": []string{}, "flags": map[string]any{"timeout": 300}, "packetType": 2, "event": "ack-me", "args": []any{}}))
		for _, l := range mon.find(2, map[string]any{"kind": "broadcastClientCount", "requestId": ack["requestId"]}) {
			checkLine(t, l, map[string]any{"source": "pubsub", "channel": "socket.io-response#/#", "pattern": "socket.io-response#*",
				"kind": "broadcastClientCount", "format": "classic", "encoding": "json", "type": 8, "nsp": "/", "requestId": ack["requestId"], "data": 1})
		}
	})

	t.Run("undecodable payload", func(t *testing.T) {
		// On a namespace the servers do not serve: a broken payload on
		// theirs would crash them (their onmessage does not catch).
		must(t, rdb.Publish(ctx, "socket.io#/nowhere#", "\xc1").Err())
		mon.expectLine(map[string]any{"kind": "undecodable"}, map[string]any{
			"source": "pubsub", "channel": "socket.io#/nowhere#", "pattern": "socket.io#*", "kind": "undecodable",
			"error": "malformed message: msgpack at offset 0: invalid byte 0xc1", "payload": "c1"})
		// The monitor keeps going.
		sent(t)(newEmitter(t, rdb, emitter.Classic).Emit(ctx, "after-garbage"))
		mon.find(1, map[string]any{"event": "after-garbage"})
	})

	t.Run("filters and text output", func(t *testing.T) {
		sent(t)(newEmitter(t, rdb, emitter.Classic).Of("/admin").Emit(ctx, "go-admin", "last"))
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(admin.out.String(), "\n") < 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		lines := strings.Split(strings.TrimSpace(admin.out.String()), "\n")
		want := []string{
			` socket.io#/admin# broadcast uid=emitter nsp=/admin rooms=[] except=[] flags={"compress":false} event=go-admin args=[1.5]`,
			` socket.io#/admin# broadcast uid=emitter nsp=/admin rooms=[] except=[] flags={} event=go-admin args=["last"]`,
		}
		if len(lines) != len(want) {
			t.Fatalf("filtered output:\n%s", admin.out.String())
		}
		for i, l := range lines {
			at, rest, _ := strings.Cut(l, " ")
			if _, err := time.Parse(time.RFC3339Nano, at); err != nil || " "+rest != want[i] {
				t.Errorf("line %d:\ngot  %q\nwant %q", i, l, "<time>"+want[i])
			}
		}
	})

	if n := numsub(); n != 2 {
		t.Errorf("NUMSUB after the traffic: %d", n)
	}
	mon.stop()
	admin.stop()
}

func sameSet(a any, b []any) bool {
	list, ok := a.([]any)
	if !ok || len(list) != len(b) {
		return false
	}
	for _, x := range b {
		found := false
		for _, y := range list {
			if reflect.DeepEqual(x, y) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestMonitorSharded(t *testing.T) {
	ctx := context.Background()
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	// The disturbance must be asked for explicitly.
	var stderr testenv.Buffer
	if code := run(ctx, []string{"monitor", "--mode", "sharded", "--redis", r.URL()}, strings.NewReader(""), &testenv.Buffer{}, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "--i-know-sharded-disturbs") {
		t.Fatalf("without the flag: exit %d, %s", code, stderr.String())
	}

	testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4ShardedStatic, RedisAddrs: []string{r.Addr()}})
	shardNumSub := func() int64 {
		t.Helper()
		res, err := rdb.Do(ctx, "PUBSUB", "SHARDNUMSUB", "socket.io#/#").Slice()
		must(t, err)
		return res[1].(int64)
	}
	if n := shardNumSub(); n != 1 {
		t.Fatalf("SHARDNUMSUB before the monitor: %d", n)
	}
	mon := startMonitor(t, "--json", "--mode", "sharded", "--i-know-sharded-disturbs", "--redis", r.URL())
	if !strings.Contains(mon.err.String(), "warning: SSUBSCRIBE socket.io#/#") {
		t.Errorf("no warning on stderr:\n%s", mon.err.String())
	}
	if n := shardNumSub(); n != 2 {
		t.Errorf("SHARDNUMSUB with the monitor: %d, want 2 (the documented disturbance)", n)
	}

	base := map[string]any{"source": "sharded", "channel": "socket.io#/#", "format": "cluster", "nsp": "/"}
	e := newEmitter(t, rdb, emitter.Sharded)
	sent(t)(e.To("room1").Emit(ctx, "sh-hello", []byte{9}, "x"))
	sent(t)(e.To("room1").SocketsJoin(ctx, "room5"))
	sent(t)(e.ServerSideEmit(ctx, "hello", 1))
	mon.expectLine(map[string]any{"event": "sh-hello"}, merge(base, map[string]any{
		"kind": "broadcast", "encoding": "msgpack", "type": 3, "uid": "emitter", "rooms": []string{"room1"}, "except": []string{},
		"flags": map[string]any{}, "packetType": 2, "event": "sh-hello", "args": []any{map[string]any{"$binary": "CQ=="}, "x"}}))
	mon.expectLine(map[string]any{"kind": "socketsJoin"}, merge(base, map[string]any{
		"kind": "socketsJoin", "encoding": "json", "type": 4, "uid": "emitter", "rooms": []string{"room1"}, "except": []string{}, "targetRooms": []string{"room5"}}))
	mon.expectLine(map[string]any{"kind": "serverSideEmit"}, merge(base, map[string]any{
		"kind": "serverSideEmit", "encoding": "json", "type": 9, "uid": "emitter", "event": "hello", "args": []any{1}}))

	// A Node server counts the monitor as a server: itself, the first
	// server and the monitor make 3.
	uid, _ := serverTraffic(t, "v4-sharded", r.Addr(), 3,
		map[string]any{"op": "emit", "to": []string{"room1"}, "event": "sh-server", "args": []any{true}})
	mon.expectLine(map[string]any{"event": "sh-server"}, merge(base, map[string]any{
		"kind": "broadcast", "encoding": "json", "type": 3, "uid": uid, "rooms": []string{"room1"}, "except": []string{},
		"flags": map[string]any{}, "packetType": 2, "event": "sh-server", "args": []any{true}}))
	mon.stop()
}

func TestMonitorStreams(t *testing.T) {
	ctx := context.Background()
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	s := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Streams, RedisAddrs: []string{r.Addr()}})
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{s.Client("c1", "/", "room1")})
	mon := startMonitor(t, "--json", "--mode", "streams", "--redis", r.URL())

	entry := map[string]any{"source": "stream", "channel": "socket.io", "id": anyString{}, "format": "stream", "nsp": "/"}
	e := newEmitter(t, rdb, emitter.Streams)
	sent(t)(e.To("room1").Emit(ctx, "st-json", map[string]any{"a": []any{1, nil}}))
	sent(t)(e.Emit(ctx, "st-bin", []byte("hi")))
	sent(t)(e.To("nobody").DisconnectSockets(ctx, false))
	mon.expectLine(map[string]any{"event": "st-json"}, merge(entry, map[string]any{
		"kind": "broadcast", "encoding": "json", "type": 3, "uid": "emitter", "rooms": []string{"room1"}, "except": []string{},
		"flags": map[string]any{}, "packetType": 2, "event": "st-json", "args": []any{map[string]any{"a": []any{1, nil}}}}))
	mon.expectLine(map[string]any{"event": "st-bin"}, merge(entry, map[string]any{
		"kind": "broadcast", "encoding": "msgpack", "type": 3, "uid": "emitter", "rooms": []string{}, "except": []string{},
		"flags": map[string]any{}, "packetType": 2, "event": "st-bin", "args": []any{map[string]any{"$binary": "aGk="}}}))
	mon.expectLine(map[string]any{"kind": "disconnectSockets"}, merge(entry, map[string]any{
		"kind": "disconnectSockets", "encoding": "json", "type": 6, "uid": "emitter", "rooms": []string{"nobody"}, "except": []string{}, "close": false}))

	// A second server writes its broadcasts to the stream, and sends
	// fetchSockets through pub/sub (adapter 0.3), msgpack-encoded.
	uid, results := serverTraffic(t, "v4-streams", r.Addr(), 2,
		map[string]any{"op": "emit", "to": []string{"room1"}, "event": "st-server"},
		map[string]any{"op": "fetchSockets"},
	)
	if ids := results[1]["ids"]; !sameSet(ids, []any{clients.IDs["c1"]}) {
		t.Fatalf("fetchSockets: %v", ids)
	}
	mon.expectLine(map[string]any{"event": "st-server"}, merge(entry, map[string]any{
		"kind": "broadcast", "encoding": "json", "type": 3, "uid": uid, "rooms": []string{"room1"}, "except": []string{},
		"flags": map[string]any{}, "packetType": 2, "event": "st-server", "args": []any{}}))
	fetch := mon.expectLine(map[string]any{"kind": "fetchSockets"}, map[string]any{
		"source": "pubsub", "channel": "socket.io#/#", "pattern": "socket.io#*", "kind": "fetchSockets", "format": "cluster",
		"encoding": "msgpack", "type": 7, "uid": uid, "nsp": "/", "requestId": anyString{}, "rooms": []string{}, "except": []string{}})
	resp := mon.find(1, map[string]any{"kind": "fetchSocketsResponse"})[0]
	data, _ := resp["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["id"] != clients.IDs["c1"] {
		t.Fatalf("response data %v", resp["data"])
	}
	checkLine(t, resp, map[string]any{"source": "pubsub", "channel": "socket.io#/#" + uid + "#", "pattern": "socket.io#*",
		"kind": "fetchSocketsResponse", "format": "cluster", "encoding": "msgpack", "type": 8, "uid": anyString{}, "nsp": "/",
		"requestId": fetch["requestId"], "data": data})
	mon.stop()
}

func TestMonitorLegacy(t *testing.T) {
	ctx := context.Background()
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV2Classic, RedisAddrs: []string{r.Addr()}})
	mon := startMonitor(t, "--json", "--mode", "classic", "--redis", r.URL(), "--room", "room1")
	e := newEmitter(t, rdb, emitter.Legacy)
	sent(t)(e.To("room1").Emit(ctx, "v2-bin", []byte{7}))
	sent(t)(e.To("room2").Emit(ctx, "filtered-out"))
	uid, _ := serverTraffic(t, "v2-classic", r.Addr(), 1,
		map[string]any{"op": "emit", "to": []string{"room1"}, "event": "v2-server", "args": []any{map[string]any{"$binary": "AQ=="}}})
	base := map[string]any{"source": "pubsub", "channel": "socket.io#/#room1#", "pattern": "socket.io#*", "kind": "broadcast",
		"format": "legacy", "encoding": "msgpack", "nsp": "/", "rooms": []string{"room1"}, "except": []string{}, "flags": map[string]any{}, "packetType": 5}
	mon.expectLine(map[string]any{"event": "v2-bin"}, merge(base, map[string]any{"uid": "emitter", "event": "v2-bin",
		"args": []any{map[string]any{"$binary": "Bw=="}}}))
	mon.expectLine(map[string]any{"event": "v2-server"}, merge(base, map[string]any{"uid": uid, "event": "v2-server",
		"args": []any{map[string]any{"$binary": "AQ=="}}}))
	for _, l := range mon.lines() {
		if l["event"] == "filtered-out" {
			t.Errorf("--room room1 let through %v", l)
		}
	}
	mon.stop()
}

func TestMonitorUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"monitor", "-h"}, 0, "Output fields of --json"},
		{[]string{"monitor", "--mode", "everything"}, 2, "unknown mode"},
		{[]string{"monitor", "--prefix", "a*"}, 2, "invalid prefix"},
		{[]string{"monitor", "--nsp", "/a?"}, 2, "invalid namespace"},
		{[]string{"monitor", "--stream-count", "0"}, 2, "--stream-count"},
		{[]string{"monitor", "extra"}, 2, "unexpected argument"},
		{[]string{"monitor", "--redis", "127.0.0.1:1"}, 1, "connection refused"}, // HOST:PORT is accepted (redis-cli style); nothing listens there
	}
	for _, tt := range tests {
		var out, errb testenv.Buffer
		code := run(context.Background(), tt.args, strings.NewReader(""), &out, &errb)
		if code != tt.code || !strings.Contains(out.String()+errb.String(), tt.want) {
			t.Errorf("%v: exit %d, output %q; want %d and %q", tt.args, code, out.String()+errb.String(), tt.code, tt.want)
		}
	}
	// Redis unreachable: exit 1.
	down := testenv.StartRedis(t)
	down.Stop()
	var errb testenv.Buffer
	if code := run(context.Background(), []string{"monitor", "--redis", down.URL()}, strings.NewReader(""), &testenv.Buffer{}, &errb); code != 1 {
		t.Errorf("unreachable Redis: exit %d, %s", code, errb.String())
	}
}

// On a Redis Cluster: PSUBSCRIBE on one node sees every PUBLISH, each
// sharded channel is read from the master of its slot, and XREAD follows
// the stream's slot.
func TestMonitorCluster(t *testing.T) {
	ctx := context.Background()
	c := testenv.StartRedisCluster(t, 3)
	rdb := c.Client(t)
	mon := startMonitor(t, "--json", "--cluster", "--redis", strings.Join(c.Addrs(), ","), "--mode", "all", "--i-know-sharded-disturbs",
		"--nsp", "/", "--room", "room1")
	sent(t)(newEmitter(t, rdb, emitter.Classic).To("room1").Emit(ctx, "cl-classic"))
	sent(t)(newEmitter(t, rdb, emitter.Streams).To("room1").Emit(ctx, "cl-stream"))
	sent(t)(newEmitter(t, rdb, emitter.Sharded).To("room1").Emit(ctx, "cl-sharded"))
	e, err := emitter.New(rdb, emitter.WithMode(emitter.Sharded), emitter.WithSubscriptionMode(emitter.SubscriptionDynamic))
	must(t, err)
	sent(t)(e.To("room1").Emit(ctx, "cl-sharded-room"))
	for _, want := range []map[string]any{
		{"event": "cl-classic", "source": "pubsub", "channel": "socket.io#/#room1#", "format": "classic"},
		{"event": "cl-stream", "source": "stream", "channel": "socket.io", "format": "stream"},
		{"event": "cl-sharded", "source": "sharded", "channel": "socket.io#/#", "format": "cluster"},
		{"event": "cl-sharded-room", "source": "sharded", "channel": "socket.io#/#room1#", "format": "cluster"},
	} {
		mon.find(1, want)
	}
	mon.stop()
}

// TestMonitorKeepsKeyOrder checks that objects in event arguments are
// printed with their keys in wire order (as clients receive them), in the
// JSON and msgpack encodings of every format.
func TestMonitorKeepsKeyOrder(t *testing.T) {
	r := testenv.StartRedis(t)
	mon := startMonitor(t, "--redis", r.URL(), "--mode", "classic", "--json")
	monStreams := startMonitor(t, "--redis", r.URL(), "--mode", "streams", "--json")
	arg := `{"z":1,"a":{"y":[{"k2":true,"k1":null}],"b":"x"}}`
	for _, cmd := range [][]string{
		{"emit", "--redis", r.URL(), "ordered-classic", arg, `{"$binary":"AQ=="}`},
		{"server-emit", "--redis", r.URL(), "ordered-request", arg},
		{"emit", "--mode", "streams", "--redis", r.URL(), "ordered-stream", arg},
		{"emit", "--mode", "streams", "--redis", r.URL(), "ordered-stream-bin", arg, `{"$binary":"AQ=="}`},
	} {
		if code, stderr := cli(t, "", cmd...); code != 0 {
			t.Fatalf("%v: exit %d: %s", cmd, code, stderr)
		}
	}
	mon.find(1, map[string]any{"event": "ordered-request"})
	monStreams.find(1, map[string]any{"event": "ordered-stream-bin"})
	out := mon.out.String() + monStreams.out.String()
	for _, ev := range []string{"ordered-classic", "ordered-request", "ordered-stream", "ordered-stream-bin"} {
		if !strings.Contains(out, `"event":"`+ev+`","args":[`+arg) {
			t.Errorf("%s: arguments not printed in wire order:\n%s", ev, out)
		}
	}
}
