package emitapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/emitapi"
	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// redisAddr is a real redis-server shared by the classic and streams tests.
var redisAddr string

func TestMain(m *testing.M) {
	os.Exit(testenv.RunMain(m, func(tb testing.TB) { redisAddr = testenv.StartRedis(tb).Addr() }))
}

const (
	testKey   = "sk_test_0123456789abcdef"
	socketKey = "sk_sockets_0123456789abcdef"
	adminKey  = "sk_admin_only_0123456789abcdef"
)

func testKeys(t testing.TB) *apiauth.Keys {
	ks, err := apiauth.ParseKeys(strings.NewReader("backend " + testKey + "\nops " + socketKey + " sockets\nadmin " + adminKey + " /admin"))
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// startAPI serves a Handler publishing through rdb on a real HTTP server.
func startAPI(t testing.TB, cfg emitapi.Config) string {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = testKeys(t)
	}
	h, err := emitapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return srv.URL
}

type answer struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

func post(t testing.TB, base, key, path, body string) answer {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{code: res.StatusCode, header: res.Header, raw: string(b)}
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("%s: answer is not a JSON object: %q", path, b)
	}
	return a
}

// mustPost posts and fails unless the answer is 200.
func mustPost(t testing.TB, base, path, body string) {
	t.Helper()
	if a := post(t, base, testKey, path, body); a.code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", path, body, a.code, a.raw)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAPIReachesNodeCluster proves every endpoint against two real Node Socket.IO servers and real
// socket.io-client clients, in each adapter format:
//
//	c1 server A / room_777    c2 server B / room_777    c3 server A / room_888    a1 server B /admin
func TestAPIReachesNodeCluster(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flavor testenv.Flavor
		mode   emitter.Mode
	}{
		{"classic", testenv.FlavorV4Classic, emitter.Classic},
		{"sharded", testenv.FlavorV4ShardedStatic, emitter.Sharded},
		{"streams", testenv.FlavorV4Streams, emitter.Streams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			addrs := []string{redisAddr}
			var rdb redis.UniversalClient
			if tc.mode == emitter.Sharded {
				cl := testenv.StartRedisCluster(t, 3)
				addrs, rdb = cl.Addrs(), cl.Client(t)
			} else {
				rdb = redis.NewClient(&redis.Options{Addr: redisAddr})
				t.Cleanup(func() { rdb.Close() })
			}
			var servers []*testenv.NodeServer
			for range 2 {
				servers = append(servers, testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: tc.flavor, RedisAddrs: addrs, Namespaces: []string{"/admin"}}))
			}
			a, b := servers[0], servers[1]
			clients := testenv.StartClients(t, 4, []testenv.ClientSpec{
				a.Client("c1", "/", "room_777"), b.Client("c2", "/", "room_777"), a.Client("c3", "/", "room_888"), b.Client("a1", "/admin"),
			})
			api := startAPI(t, emitapi.Config{Redis: rdb, Options: []emitter.Option{emitter.WithMode(tc.mode)}})
			sentinel := func(name string) {
				t.Helper()
				mustPost(t, api, "/v1/emit", `{"event":"`+name+`"}`)
				if err := clients.WaitAll(ctx, name, "c1", "c2", "c3"); err != nil {
					t.Fatal(err)
				}
			}

			// One emit: to room_777, with binary, reaches c1 and c2 only.
			mustPost(t, api, "/v1/emit", `{"rooms":["room_777"],"event":"my_event_name","args":[{"id":"message_id","body":"message_body"},{"$binary":"yv4="}],"volatile":false,"compress":true}`)
			for _, name := range []string{"c1", "c2"} {
				ev, err := clients.WaitEvent(ctx, name, testenv.EventNamed("my_event_name"))
				if err != nil {
					t.Fatal(err)
				}
				if got := ev.ArgsJSON(); got != `[{"id":"message_id","body":"message_body"},{"$binary":"yv4="}]` {
					t.Errorf("%s got %s", name, got)
				}
			}
			sentinel("s1")
			clients.AssertNoEvent(t, "c3", "my_event_name")

			// A batch: each emit reaches its own targets.
			mustPost(t, api, "/v1/emit/batch", `{"emits":[
				{"rooms":["room_888"],"event":"b1","args":[1]},
				{"except":["room_777"],"event":"b2","args":["x"]},
				{"namespace":"/admin","event":"b3","args":[{"k":true}]}]}`)
			for _, want := range []struct{ client, event string }{{"c3", "b1"}, {"c3", "b2"}, {"a1", "b3"}} {
				if _, err := clients.WaitEvent(ctx, want.client, testenv.EventNamed(want.event)); err != nil {
					t.Fatal(err)
				}
			}
			// A bad batch publishes nothing, not even its good emits before the bad one.
			bad := post(t, api, testKey, "/v1/emit/batch", `{"emits":[{"event":"nb1"},{"event":"nb2"},{"event":"connect"}]}`)
			if bad.code != http.StatusBadRequest || bad.body["field"] != "emits[2].event" {
				t.Fatalf("bad batch: %d %s", bad.code, bad.raw)
			}
			sentinel("s2")
			for _, name := range []string{"c1", "c2", "c3"} {
				clients.AssertNoEvent(t, name, "nb1", "nb2")
			}
			clients.AssertNoEvent(t, "c1", "b1", "b2")

			// join / leave: the rooms of c3 on server A change.
			waitRoom := func(room string, member bool) {
				t.Helper()
				for {
					rooms, err := a.Rooms(ctx, "/", clients.IDs["c3"])
					if err != nil {
						t.Fatal(err)
					}
					if slices.Contains(rooms, room) == member {
						return
					}
					select {
					case <-ctx.Done():
						t.Fatalf("c3 rooms %v, want member(%s)=%v", rooms, room, member)
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
			mustPost(t, api, "/v1/sockets/join", `{"rooms":["room_888"],"join":["joined"]}`)
			waitRoom("joined", true)
			mustPost(t, api, "/v1/emit", `{"rooms":["joined"],"event":"to-joined"}`)
			if _, err := clients.WaitEvent(ctx, "c3", testenv.EventNamed("to-joined")); err != nil {
				t.Fatal(err)
			}
			mustPost(t, api, "/v1/sockets/leave", `{"rooms":["joined"],"leave":["joined"]}`)
			waitRoom("joined", false)

			// server-emit reaches both Node servers' handlers, not the clients.
			mustPost(t, api, "/v1/server-emit", `{"event":"hello","args":["world",{"bin":{"$binary":"AQI="}}]}`)
			for i, srv := range servers {
				l, err := srv.Wait(ctx, testenv.ServerSideEmit("/", "hello"))
				if err != nil {
					t.Fatalf("server %d: %v", i, err)
				}
				if args, _ := json.Marshal(l.Fields["args"]); string(args) != `["world",{"bin":{"$binary":"AQI="}}]` {
					t.Errorf("server %d got %s", i, args)
				}
			}

			// disconnect: c3 (room_888) is disconnected, the others stay.
			mustPost(t, api, "/v1/sockets/disconnect", `{"rooms":["room_888"],"close":true}`)
			if _, err := clients.WaitDisconnect(ctx, "c3"); err != nil {
				t.Fatal(err)
			}
			mustPost(t, api, "/v1/emit", `{"event":"s3"}`)
			if err := clients.WaitAll(ctx, "s3", "c1", "c2"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPythonStandardLibrary posts the mission's example message with nothing but Python's standard library
// (urllib.request): it reaches the real socket.io-client in room_777 and no other.
func TestPythonStandardLibrary(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed (Debian: apt-get install python3)")
	}
	ctx := testCtx(t)
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	srv := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{redisAddr}})
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{srv.Client("in", "/", "room_777"), srv.Client("out", "/", "room_888")})
	api := startAPI(t, emitapi.Config{Redis: rdb})

	script := `
import json, os, urllib.request
msg = {"id": "message_id", "created_at": "2017-12-19 14:00:00", "body": "message_body"}
req = urllib.request.Request(os.environ["API"] + "/v1/emit", method="POST",
    data=json.dumps({"rooms": ["room_777"], "event": "my_event_name", "args": [msg]}).encode(),
    headers={"Authorization": "Bearer " + os.environ["KEY"], "Content-Type": "application/json"})
print(urllib.request.urlopen(req).read().decode())
`
	cmd := exec.CommandContext(ctx, python, "-I", "-c", script) // -I: no site packages, no user environment
	cmd.Env = append(os.Environ(), "API="+api, "KEY="+testKey)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != `{"published":1,"channel":"socket.io#/#room_777#","receivers":1}` {
		t.Fatalf("python printed %q", got)
	}
	ev, err := clients.WaitEvent(ctx, "in", testenv.EventNamed("my_event_name"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.ArgsJSON(); got != `[{"id":"message_id","created_at":"2017-12-19 14:00:00","body":"message_body"}]` {
		t.Errorf("room_777 client got %s", got)
	}
	mustPost(t, api, "/v1/emit", `{"event":"sentinel"}`)
	if err := clients.WaitAll(ctx, "sentinel"); err != nil {
		t.Fatal(err)
	}
	clients.AssertNoEvent(t, "out", "my_event_name")
}

// published subscribes to every classic channel and returns a function that reports how many messages were
// published so far, once what was published before a PUBLISH of its own has arrived.
func publishedCounter(t *testing.T, rdb *redis.Client) func() int {
	ctx := context.Background()
	sub := rdb.PSubscribe(ctx, "socket.io#*")
	t.Cleanup(func() { sub.Close() })
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	ch := sub.Channel()
	n := 0
	return func() int {
		if err := rdb.Publish(ctx, "socket.io#/#marker#", "marker").Err(); err != nil {
			t.Fatal(err)
		}
		for m := range ch {
			if m.Channel == "socket.io#/#marker#" {
				return n
			}
			n++
		}
		return n
	}
}

// TestBadRequests checks that each bad request gets its status and field, and publishes nothing.
func TestBadRequests(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	api := startAPI(t, emitapi.Config{Redis: rdb, MaxBatch: 3, MaxBodyBytes: 4096, Options: []emitter.Option{emitter.WithMaxPayload(1000)}})
	count := publishedCounter(t, rdb)
	big := strings.Repeat("x", 1200)
	for _, tc := range []struct {
		name, key, path, body string
		code                  int
		field                 string
	}{
		{"no key", "", "/v1/emit", `{"event":"e"}`, 401, ""},
		{"bad key", testKey + "x", "/v1/emit", `{"event":"e"}`, 401, ""},
		{"action not allowed", socketKey, "/v1/emit", `{"event":"e"}`, 403, ""},
		{"namespace not allowed", adminKey, "/v1/emit", `{"event":"e"}`, 403, ""},
		{"namespace not allowed in a batch", adminKey, "/v1/emit/batch", `{"emits":[{"namespace":"/admin","event":"e"},{"event":"e"}]}`, 403, ""},
		{"reserved event", testKey, "/v1/emit", `{"event":"disconnect"}`, 400, "event"},
		{"empty event", testKey, "/v1/emit", `{"event":""}`, 400, "event"},
		{"glob namespace", testKey, "/v1/emit", `{"namespace":"/a*","event":"e"}`, 400, "namespace"},
		{"empty room", testKey, "/v1/emit", `{"rooms":[""],"event":"e"}`, 400, "rooms"},
		{"empty except", testKey, "/v1/emit", `{"except":[""],"event":"e"}`, 400, "except"},
		{"args not an array", testKey, "/v1/emit", `{"event":"e","args":{"a":1}}`, 400, "args"},
		{"bad base64", testKey, "/v1/emit", `{"event":"e","args":[{"$binary":"!!"}]}`, 400, "args"},
		{"too many attachments", testKey, "/v1/emit", `{"event":"e","args":[` + strings.Repeat(`{"$binary":"AA=="},`, 10) + `{"$binary":"AA=="}]}`, 400, "args"},
		{"payload too large", testKey, "/v1/emit", `{"event":"e","args":["` + big + `"]}`, 400, "args"},
		{"unknown field", testKey, "/v1/emit", `{"event":"e","room":"r"}`, 400, "room"},
		{"wrong type", testKey, "/v1/emit", `{"event":1}`, 400, "event"},
		{"trailing data", testKey, "/v1/emit", `{"event":"e"} {}`, 400, ""},
		{"body too large", testKey, "/v1/emit", `{"event":"e","args":["` + strings.Repeat("x", 5000) + `"]}`, 413, ""},
		{"empty batch", testKey, "/v1/emit/batch", `{"emits":[]}`, 400, "emits"},
		{"batch too long", testKey, "/v1/emit/batch", `{"emits":[{"event":"a"},{"event":"b"},{"event":"c"},{"event":"d"}]}`, 400, "emits"},
		{"bad emit in a batch", testKey, "/v1/emit/batch", `{"emits":[{"event":"a"},{"event":"b","args":["` + big + `"]}]}`, 400, "emits[1].args"},
		{"join without rooms", socketKey, "/v1/sockets/join", `{"join":[]}`, 400, "join"},
		{"leave an empty room", socketKey, "/v1/sockets/leave", `{"leave":[""]}`, 400, "leave"},
		{"reserved server event", testKey, "/v1/server-emit", `{"event":"connection"}`, 400, "event"},
		{"server-emit not allowed", socketKey, "/v1/server-emit", `{"event":"x"}`, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, api, tc.key, tc.path, tc.body)
			if a.code != tc.code || (tc.field != "" && a.body["field"] != tc.field) {
				t.Fatalf("%d %s; want %d with field %q", a.code, a.raw, tc.code, tc.field)
			}
			if msg, _ := a.body["error"].(string); msg == "" {
				t.Fatalf("no error message: %s", a.raw)
			}
			if tc.code == 401 && a.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	if n := count(); n != 0 {
		t.Fatalf("bad requests published %d messages", n)
	}
	mustPost(t, api, "/v1/emit/batch", `{"emits":[{"event":"a"},{"event":"b"}]}`)
	if n := count(); n != 2 {
		t.Fatalf("a good batch of 2 published %d messages", n)
	}
}

// TestRateLimits: the key's bucket counts emits (a batch takes one token per emit), the client address's counts
// requests; both answer 429 with Retry-After.
func TestRateLimits(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	api := startAPI(t, emitapi.Config{Redis: rdb, KeyLimit: apiauth.LimitConfig{Rate: 0.5, Burst: 3}})
	mustPost(t, api, "/v1/emit/batch", `{"emits":[{"event":"a"},{"event":"b"}]}`)
	mustPost(t, api, "/v1/emit", `{"event":"c"}`)
	a := post(t, api, testKey, "/v1/emit", `{"event":"d"}`)
	if a.code != http.StatusTooManyRequests || a.header.Get("Retry-After") != "2" {
		t.Fatalf("4th emit: %d %v %s; want 429 with Retry-After 2", a.code, a.header, a.raw)
	}
	if a := post(t, api, socketKey, "/v1/sockets/join", `{"join":["x"]}`); a.code != http.StatusOK {
		t.Fatalf("another key is limited too: %d %s", a.code, a.raw)
	}
	if a := post(t, api, testKey, "/v1/emit/batch", `{"emits":[{"event":"a"},{"event":"b"},{"event":"c"},{"event":"d"}]}`); a.code != 400 || a.body["field"] != "emits" {
		t.Fatalf("batch over the burst: %d %s; want 400", a.code, a.raw)
	}

	api = startAPI(t, emitapi.Config{Redis: rdb, IPLimit: apiauth.LimitConfig{Rate: 1, Burst: 2}})
	post(t, api, "", "/v1/emit", `{"event":"a"}`) // refused requests count too: they slow down key guessing
	mustPost(t, api, "/v1/emit", `{"event":"b"}`)
	if a := post(t, api, testKey, "/v1/emit", `{"event":"c"}`); a.code != http.StatusTooManyRequests || a.header.Get("Retry-After") != "1" {
		t.Fatalf("3rd request: %d %v %s; want 429 with Retry-After 1", a.code, a.header, a.raw)
	}
}

// TestRedisDown: an emit Redis cannot take gets 502, without Redis's address (which goes to the log).
func TestRedisDown(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	api := startAPI(t, emitapi.Config{Redis: rdb})
	mustPost(t, api, "/v1/emit", `{"event":"up"}`)
	r.Stop()
	a := post(t, api, testKey, "/v1/emit", `{"event":"down"}`)
	if a.code != http.StatusBadGateway || !strings.Contains(a.raw, "Redis did not take the message") || strings.Contains(a.raw, "127.0.0.1") {
		t.Fatalf("%d %s; want 502 without the address", a.code, a.raw)
	}
	a = post(t, api, testKey, "/v1/emit/batch", `{"emits":[{"event":"a"},{"event":"b"}]}`)
	if a.code != http.StatusBadGateway || a.body["published"] != 0.0 || len(a.body["failed"].([]any)) != 2 {
		t.Fatalf("batch: %d %s; want 502 with both failed", a.code, a.raw)
	}
}

// TestAnswersReceivers checks that the API says how many Redis subscribers a message reached, with the channel:
// a real Node server of the cluster is one, and a namespace or prefix no server uses is none, with a warning.
func TestAnswersReceivers(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{redisAddr}, Prefix: "receivers"})
	api := startAPI(t, emitapi.Config{Redis: rdb, Options: []emitter.Option{emitter.WithPrefix("receivers")}})
	for _, tt := range []struct{ path, body, want string }{
		{"/v1/emit", `{"rooms":["room_777"],"event":"e"}`, `{"published":1,"channel":"receivers#/#room_777#","receivers":1}`},
		{"/v1/emit", `{"namespace":"/nobody","event":"e"}`, `{"published":1,"channel":"receivers#/nobody#","receivers":0,"warning":"` + noReceiversWarning + `"}`},
		{"/v1/sockets/join", `{"rooms":["a"],"join":["b"]}`, `{"published":1,"channel":"receivers-request#/#","receivers":1}`},
		{"/v1/emit/batch", `{"emits":[{"event":"e"},{"namespace":"/nobody","event":"e"}]}`, `{"published":2,"unreceived":[1],"warning":"` + noReceiversWarning + `"}`},
	} {
		if a := post(t, api, testKey, tt.path, tt.body); a.code != http.StatusOK || strings.TrimSpace(a.raw) != tt.want {
			t.Errorf("%s %s: %d %s\nwant %s", tt.path, tt.body, a.code, a.raw, tt.want)
		}
	}
}

const noReceiversWarning = "no Socket.IO server is subscribed to this channel: check the prefix, namespace and mode, or the servers are reconnecting to Redis"
