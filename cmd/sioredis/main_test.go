package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/jsvalue"
	"github.com/sioredis/sioredis/protocol"
)

func TestMain(m *testing.M) {
	runMainIfAsked()
	os.Exit(testenv.CheckLeaks(m.Run()))
}

// cli runs one command line in-process and returns its exit status and
// standard error.
func cli(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stderr.String()
}

type sub struct {
	ps   *redis.PubSub
	msgs <-chan *redis.Message
}

func subscribeAll(t *testing.T, rdb *redis.Client) *sub {
	t.Helper()
	ps := rdb.PSubscribe(context.Background(), "*")
	if _, err := ps.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	return &sub{ps: ps, msgs: ps.Channel()}
}

func (s *sub) next(t *testing.T) *redis.Message {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("nothing published")
		return nil
	}
}

func encode(t *testing.T, op *protocol.Op) []byte {
	t.Helper()
	b, err := protocol.AppendClassicBroadcast(nil, protocol.EmitterUID, op, false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPublishedMessages(t *testing.T) {
	r := testenv.StartRedis(t)
	s := subscribeAll(t, r.Client(t))
	url := r.URL()
	obj := jsvalue.Object{{Key: "id", Value: "message_id"}, {Key: "body", Value: "message_body"}}
	tests := []struct {
		name    string
		stdin   string
		args    []string
		channel string
		payload []byte // nil: check want instead
		want    string
	}{
		{"emit to a room", "", []string{"emit", "--redis", url, "--to", "room_777", "my_event_name", `{"id":"message_id","body":"message_body"}`},
			"socket.io#/#room_777#", encode(t, &protocol.Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{obj}}), ""},
		{"namespace, rooms, except, flags, binary", "", []string{"emit", "--redis", url, "--nsp", "admin", "--to", "a", "--to", "b", "--except", "c",
			"--volatile", "--compress=false", "x", `1`, `{"$binary":"AQID"}`},
			"socket.io#/admin#", encode(t, &protocol.Op{Nsp: "/admin", Rooms: []string{"a", "b"}, Except: []string{"c"},
				Flags: protocol.Flags{Volatile: true, Compress: protocol.CompressFalse}, Event: "x", Args: []any{1, []byte{1, 2, 3}}}), ""},
		{"--compress alone means true", "", []string{"emit", "--redis", url, "--compress", "e"},
			"socket.io#/#", encode(t, &protocol.Op{Nsp: "/", Flags: protocol.Flags{Compress: protocol.CompressTrue, CompressFirst: true}, Event: "e"}), ""},
		{"args from stdin", `["hello", {"n": 1}]`, []string{"emit", "--redis", url, "--args-file", "-", "greet"},
			"socket.io#/#", encode(t, &protocol.Op{Nsp: "/", Event: "greet", Args: []any{"hello", map[string]int{"n": 1}}}), ""},
		{"join", "", []string{"join", "--redis", url, "--to", "room1", "room3"},
			"socket.io-request#/#", nil, `{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room3"]}`},
		{"leave", "", []string{"leave", "--redis", url, "--except", "r9", "room1"},
			"socket.io-request#/#", nil, `{"type":3,"opts":{"rooms":[],"except":["r9"]},"rooms":["room1"]}`},
		{"disconnect", "", []string{"disconnect", "--redis", url, "--to", "room2", "--close"},
			"socket.io-request#/#", nil, `{"type":4,"opts":{"rooms":["room2"],"except":[]},"close":true}`},
		{"server-emit", "", []string{"server-emit", "--redis", url, "--nsp", "/admin", "hello", `"world"`, `1`},
			"socket.io-request#/admin#", nil, `{"uid":"emitter","type":6,"data":["hello","world",1]}`},
		{"custom prefix", "", []string{"emit", "--redis", url, "--prefix", "myapp", "e"},
			"myapp#/#", encode(t, &protocol.Op{Nsp: "/", Event: "e"}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, stderr := cli(t, tt.stdin, tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			m := s.next(t)
			if m.Channel != tt.channel {
				t.Errorf("channel %q, want %q", m.Channel, tt.channel)
			}
			if tt.payload != nil && m.Payload != string(tt.payload) {
				t.Errorf("payload\n got %s\nwant %s", hex.EncodeToString([]byte(m.Payload)), hex.EncodeToString(tt.payload))
			}
			if tt.payload == nil && m.Payload != tt.want {
				t.Errorf("payload\n got %s\nwant %s", m.Payload, tt.want)
			}
		})
	}
}

func TestBadArgumentsExit2AndPublishNothing(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	s := subscribeAll(t, rdb)
	url := r.URL()
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no command", []string{}, "Commands:"},
		{"unknown command", []string{"shout"}, "unknown command"},
		{"missing event", []string{"emit", "--redis", url}, "missing EVENT"},
		{"reserved event", []string{"emit", "--redis", url, "disconnect"}, "reserved"},
		{"reserved server event", []string{"server-emit", "--redis", url, "connection"}, "reserved"},
		{"invalid JSON", []string{"emit", "--redis", url, "e", "not-json"}, "ARG 1"},
		{"invalid binary", []string{"emit", "--redis", url, "e", `{"$binary":"??"}`}, "$binary"},
		{"glob namespace", []string{"emit", "--redis", url, "--nsp", "/a*", "e"}, "glob"},
		{"empty namespace", []string{"emit", "--redis", url, "--nsp", "", "e"}, "empty namespace"},
		{"empty room", []string{"emit", "--redis", url, "--to", "", "e"}, "empty room"},
		{"unknown mode", []string{"emit", "--redis", url, "--mode", "fancy", "e"}, "unknown mode"},
		{"unknown flag", []string{"emit", "--redis", url, "--loud", "e"}, "flag provided but not defined"},
		{"bad compress", []string{"emit", "--redis", url, "--compress=maybe", "e"}, "compress"},
		{"join without room", []string{"join", "--redis", url}, "missing ROOM"},
		{"args twice", []string{"emit", "--redis", url, "--args-file", "-", "e", "1"}, "not both"},
		{"args file not an array", []string{"emit", "--redis", url, "--args-file", "-", "e"}, "array"},
		{"legacy join", []string{"join", "--redis", url, "--mode", "legacy", "r"}, "not supported"},
		{"bad redis URL", []string{"emit", "--redis", "http://x", "e"}, "--redis"},
		{"lone surrogate", []string{"emit", "--redis", url, "e", `"ok"`, `{"k":"\ud800"}`}, "ARG 2: sioredis: JSON text is not valid Unicode: lone surrogate"},
		{"lone low surrogate", []string{"emit", "--redis", url, "e", `"\udfff"`}, "lone surrogate"},
		{"not UTF-8 argument", []string{"emit", "--redis", url, "e", "\"\xff\""}, "not UTF-8"},
		{"not UTF-8 event", []string{"emit", "--redis", url, "e\xff"}, "not valid UTF-8"},
		{"not UTF-8 room", []string{"emit", "--redis", url, "--to", "\xc3", "e"}, "not valid UTF-8"},
		{"args file with a lone surrogate", []string{"emit", "--redis", url, "--args-file", argsFile(t, `["\ud800"]`), "e"}, "--args-file: sioredis: JSON text is not valid Unicode"},
		{"args file not UTF-8", []string{"emit", "--redis", url, "--args-file", argsFile(t, "[\"\xed\xa0\x80\"]"), "e"}, "not UTF-8"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := cli(t, `{"a":1}`, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", code, stderr)
			}
			if !strings.Contains(stderr, tt.msg) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.msg)
			}
			if tt.name != "no command" && strings.Count(stderr, "\n") != 1 {
				t.Errorf("more than one line on stderr: %q", stderr)
			}
			marker := "marker-" + string(rune('a'+i))
			if err := rdb.Publish(context.Background(), marker, "x").Err(); err != nil {
				t.Fatal(err)
			}
			if m := s.next(t); m.Channel != marker {
				t.Fatalf("published %q on %q", m.Payload, m.Channel)
			}
		})
	}
}

// argsFile writes an --args-file for the test and returns its name.
func argsFile(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "args.json")
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestRedisErrorExit1(t *testing.T) {
	r := testenv.StartRedis(t)
	url := r.URL()
	r.Stop()
	code, stderr := cli(t, "", "emit", "--redis", url, "--timeout", "2s", "e", "1")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	if !strings.Contains(stderr, "connection refused") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("stderr %q", stderr)
	}
}

func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "emit") {
		t.Fatalf("exit %d: %s", code, stdout.String())
	}
	if code, _ := cli(t, "", "emit", "-h"); code != 0 {
		t.Fatalf("emit -h: exit %d", code)
	}
}

// TestEmitReachesABrowserClient drives the whole path from the command
// line to a real socket.io client through a real Node server.
func TestEmitReachesASocketIOClient(t *testing.T) {
	r := testenv.StartRedis(t)
	srv := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{r.Addr()}})
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{srv.Client("in", "/", "room_777"), srv.Client("out", "/")})
	if code, stderr := cli(t, "", "emit", "--redis", r.URL(), "--to", "room_777", "my_event_name",
		`{"id":"message_id","created_at":"2017-12-19 14:00:00","body":"message_body"}`, `{"$binary":"yv4="}`); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, stderr := cli(t, "", "emit", "--redis", r.URL(), "done"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ev, err := clients.WaitEvent(ctx, "in", testenv.EventNamed("my_event_name"))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"id":"message_id","created_at":"2017-12-19 14:00:00","body":"message_body"},{"$binary":"yv4="}]`
	if got := ev.ArgsJSON(); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if err := clients.WaitAll(ctx, "done"); err != nil {
		t.Fatal(err)
	}
	clients.AssertNoEvent(t, "out", "my_event_name")
}

// TestWarnsWhenNobodyListens publishes where a real Node server of the cluster listens and where none does (a
// namespace it does not serve, another prefix, another mode): only the latter warn, naming the channel, and
// --min-receivers turns the warning into a failure.
func TestWarnsWhenNobodyListens(t *testing.T) {
	r := testenv.StartRedis(t)
	testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{r.Addr()}})
	if code, stderr := cli(t, "", "emit", "--redis", r.URL(), "--to", "room_777", "--min-receivers", "1", "ev"); code != 0 || stderr != "" {
		t.Fatalf("a message a server received: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"emit", "--nsp", "/nobody", "ev"},
		{"emit", "--prefix", "wrong", "--to", "room_777", "ev"},
		{"emit", "--mode", "sharded", "ev"},
		{"join", "--prefix", "wrong", "room"},
	} {
		code, stderr := cli(t, "", append(args[:1:1], append([]string{"--redis", r.URL()}, args[1:]...)...)...)
		if code != 0 || !strings.Contains(stderr, "warning: published on") || !strings.Contains(stderr, "no server is subscribed") {
			t.Errorf("%v: exit %d, %q; want a warning", args, code, stderr)
		}
		code, stderr = cli(t, "", append(args[:1:1], append([]string{"--redis", r.URL(), "--min-receivers", "1"}, args[1:]...)...)...)
		if code != 1 || !strings.Contains(stderr, "fewer than --min-receivers 1") {
			t.Errorf("%v --min-receivers 1: exit %d, %q; want 1", args, code, stderr)
		}
	}
}

func TestShardedOnACluster(t *testing.T) {
	cl := testenv.StartRedisCluster(t, 3)
	rdb := cl.Client(t)
	ctx := context.Background()
	ps := rdb.SSubscribe(ctx, "socket.io#/#")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if code, stderr := cli(t, "", "emit", "--mode", "sharded", "--cluster", "--redis", strings.Join(cl.Addrs(), ","), "news", `"hi"`); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m, err := ps.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"uid":"emitter","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["news","hi"],"nsp":"/"},"opts":{"rooms":[],"except":[],"flags":{}}}}`
	if m.Payload != want {
		t.Fatalf("got %s", m.Payload)
	}
}

// TestThroughSentinel reaches the master through a real Redis Sentinel.
func TestThroughSentinel(t *testing.T) {
	master := testenv.StartRedis(t)
	sentinel := testenv.StartSentinel(t, "mymaster", master)
	s := subscribeAll(t, master.Client(t))
	if code, stderr := cli(t, "", "emit", "--sentinel-master", "mymaster", "--redis", sentinel.Addr(), "--to", "r", "e", "1"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if m := s.next(t); m.Channel != "socket.io#/#r#" {
		t.Fatalf("published on %q", m.Channel)
	}
}
