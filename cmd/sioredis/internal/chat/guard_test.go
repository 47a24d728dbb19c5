package chat

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// guardCounts records the guard's metrics.
type guardCounts struct{ held, short, missing atomic.Int64 }

func (c *guardCounts) PublishHeld() { c.held.Add(1) }
func (c *guardCounts) PublishShort(missing int) {
	c.short.Add(1)
	c.missing.Add(int64(missing))
}

// TestGuardJudges is the delivery rule on a sequence of receiver counts, with and without a recent sign of Redis
// trouble.
func TestGuardJudges(t *testing.T) {
	for _, tt := range []struct {
		name      string
		trouble   bool
		counts    []int
		want      []verdict
		expected  int // after the sequence
		shortMiss int64
	}{
		{"steady", false, []int{2, 2, 2}, []verdict{delivered, delivered, delivered}, 2, 0},
		{"a server joins", false, []int{2, 3, 3}, []verdict{delivered, delivered, delivered}, 3, 0},
		{"a server leaves, Redis healthy", false, []int{3, 2, 2}, []verdict{delivered, short, delivered}, 2, 1},
		{"fewer during an incident", true, []int{3, 1}, []verdict{delivered, hold}, 3, 0},
		{"nobody during an incident", true, []int{2, 0}, []verdict{delivered, hold}, 2, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &guardCounts{}
			g := &deliveryGuard{log: slog.New(slog.NewTextHandler(io.Discard, nil)), trouble: &troubleClock{}, metrics: m}
			for i, n := range tt.counts {
				if tt.trouble && i == len(tt.counts)-1 {
					g.trouble.mark()
				}
				if got := g.judge(context.Background(), n); got != tt.want[i] {
					t.Fatalf("count %d (#%d): verdict %d, want %d", n, i, got, tt.want[i])
				}
			}
			if g.expected != tt.expected || m.missing.Load() != tt.shortMiss {
				t.Errorf("expected %d, %d servers missed; want %d, %d", g.expected, m.missing.Load(), tt.expected, tt.shortMiss)
			}
		})
	}
}

// TestGuardWaitsForServersBounded checks waitForServers: true as soon as the probe counts the servers again,
// false at the deadline when they do not come back, and ctx's error when it ends first.
func TestGuardWaitsForServersBounded(t *testing.T) {
	var n atomic.Int64
	g := &deliveryGuard{probe: func(context.Context) (int, error) { return int(n.Load()), nil }, trouble: &troubleClock{}, expected: 2}
	ctx := context.Background()
	time.AfterFunc(200*time.Millisecond, func() { n.Store(2) })
	if back, err := g.waitForServers(ctx, time.Now().Add(5*time.Second)); !back || err != nil {
		t.Errorf("servers back after 200 ms: %v, %v", back, err)
	}
	n.Store(1)
	start := time.Now()
	if back, err := g.waitForServers(ctx, time.Now().Add(300*time.Millisecond)); back || err != nil {
		t.Errorf("servers never back: %v, %v", back, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("waited %s past a 300 ms deadline", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.waitForServers(cctx, time.Now().Add(time.Hour)); err == nil {
		t.Error("no error once ctx ended")
	}
}

// TestServerLeavingIsNotHeld stops a real Node server of the cluster while Redis stays healthy: the next message
// reached one server fewer, which the guard reports and counts, but it is not held (held, it would answer 202
// after PublishWait and reach the App's own client only once ClusterWait has passed).
func TestServerLeavingIsNotHeld(t *testing.T) {
	rs := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()}})
	app := startApp(t, Config{Store: openTestStore(t), Redis: rdb, ClusterWait: time.Minute})
	counts := &guardCounts{}
	app.relay.guard.metrics = counts
	joinedAnswer(app.App)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.ClusterReady(ctx); err != nil {
		t.Fatal(err)
	}
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "go-in", URL: app.url, Rooms: []string{"r"}}})
	post := func(i int) {
		t.Helper()
		if code, b := do(t, http.MethodPost, app.url+"/api/messages", "application/json", `{"room":"r","body":"m`+strconv.Itoa(i)+`"}`); code != http.StatusCreated {
			t.Fatalf("POST %d: %d %s", i, code, b)
		}
	}
	post(0)
	node.Stop()
	testenv.WaitFor(t, func() bool { // the Node server's subscription is gone
		n, err := rdb.PubSubNumSub(ctx, "socket.io-request#/#").Result()
		return err == nil && n["socket.io-request#/#"] == 1
	})
	post(1)
	if _, err := clients.WaitEvents(ctx, "go-in", 2, testenv.EventNamed("message")); err != nil {
		t.Fatal(err)
	}
	if counts.held.Load() != 0 || counts.short.Load() != 1 || counts.missing.Load() != 1 {
		t.Errorf("held %d, short %d (%d servers missed); want 0, 1 (1)", counts.held.Load(), counts.short.Load(), counts.missing.Load())
	}
}

// TestWaitReplicasFollowsTheReplicas runs the App in the streams format with WaitReplicas 1 on a real master and
// replica: messages wait for the replica while it is there; once it is gone, they are published without WAIT
// (not each after a WaitTimeout for nothing), and with it back, WAIT again.
func TestWaitReplicasFollowsTheReplicas(t *testing.T) {
	master := testenv.StartRedis(t)
	replica := testenv.StartRedis(t)
	replica.RestartAsReplicaOf(master)
	rdb := redis.NewClient(&redis.Options{Addr: master.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	online := func() bool {
		n, err := onlineReplicas(ctx, rdb, "socket.io")
		return err == nil && n == 1
	}
	testenv.WaitFor(t, online)
	var logs testenv.Buffer
	app := startApp(t, Config{Store: openTestStore(t), Redis: rdb, Mode: ModeStreams, WaitReplicas: 1, WaitTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := app.ClusterReady(ctx); err != nil {
		t.Fatal(err)
	}
	post := func(i int) {
		t.Helper()
		if code, b := do(t, http.MethodPost, app.url+"/api/messages", "application/json", `{"room":"r","body":"m`+strconv.Itoa(i)+`"}`); code != http.StatusCreated {
			t.Fatalf("POST %d: %d %s", i, code, b)
		}
	}
	post(0)
	if !strings.Contains(logs.String(), "has its replicas") {
		t.Fatalf("no WAIT with the replica online:\n%s", logs.String())
	}
	replica.Stop()
	testenv.WaitFor(t, func() bool { return !online() })
	time.Sleep(1100 * time.Millisecond) // the watch asks again
	for i := 1; i <= 10; i++ {
		post(i)
	}
	if n := strings.Count(logs.String(), "without the replicas asked"); n > 1 {
		t.Errorf("%d messages waited for a replica that is gone", n)
	}
	if !strings.Contains(logs.String(), "lacks the replicas") {
		t.Errorf("the change is not logged:\n%s", logs.String())
	}
	replica.RestartAsReplicaOf(master)
	testenv.WaitFor(t, online)
	time.Sleep(1100 * time.Millisecond)
	post(11)
	if n := strings.Count(logs.String(), "has its replicas"); n != 2 {
		t.Errorf("WAIT not used again once the replica is back (%d times logged):\n%s", n, logs.String())
	}
}
