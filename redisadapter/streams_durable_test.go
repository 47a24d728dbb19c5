package redisadapter_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// startReplica starts a replica of master and waits until its link is up.
func startReplica(t *testing.T, master *testenv.Redis, args ...string) *testenv.Redis {
	t.Helper()
	r := testenv.StartRedis(t, testenv.RedisArgs(append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port())}, args...)...))
	rdb := r.Client(t)
	testenv.WaitFor(t, func() bool {
		info, err := rdb.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	return r
}

// broadcasts returns the number of broadcast entries in stream key.
func broadcasts(ctx context.Context, t *testing.T, rdb *redis.Client, key string) int {
	t.Helper()
	entries, err := rdb.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Values["type"] == strconv.Itoa(protocol.ClusterBroadcast) {
			n++
		}
	}
	return n
}

// TestStreamsDurability: with DurableReplicas, the transport's own writes return once the replica has the entry
// (a replica made to sleep delays the broadcast until it woke and took the entry), and fail with ErrNotDurable,
// after DurableTimeout, once the replica is gone: the entry is in the stream all the same and reaches the other
// servers. With StreamsV02, the messages it writes to the stream (socketsJoin here) wait too.
func TestStreamsDurability(t *testing.T) {
	for _, version := range []redisadapter.StreamsVersion{redisadapter.StreamsV03, redisadapter.StreamsV02} {
		t.Run(map[redisadapter.StreamsVersion]string{redisadapter.StreamsV03: "0.3", redisadapter.StreamsV02: "0.2"}[version], func(t *testing.T) {
			master := testenv.StartRedis(t)
			replica := startReplica(t, master, "--enable-debug-command", "yes")
			rec := newLossRecorder()
			g, _ := startGoStreamsServer(t, master.Addr(), "g", redisadapter.StreamsConfig{Version: version, DurableReplicas: 1,
				DurableTimeout: time.Second, Metrics: rec, Logger: rec.logger()}, socketio.Config{})
			other, _ := startGoStreamsServer(t, master.Addr(), "other", redisadapter.StreamsConfig{Version: version}, socketio.Config{})
			clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: other.url, Rooms: []string{"r"}}})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			root := g.srv.Of("/")
			mrdb, rrdb := master.Client(t), replica.Client(t)
			key := "socket.io"

			// The replica sleeps for 600 ms: the broadcast waits for it to take the entry.
			slept := make(chan error, 1)
			go func() { slept <- rrdb.Do(ctx, "DEBUG", "SLEEP", "0.6").Err() }()
			time.Sleep(100 * time.Millisecond)
			start := time.Now()
			if err := root.To("r").Emit(ctx, "ev", 1); err != nil {
				t.Fatalf("durable broadcast: %v", err)
			}
			took := time.Since(start)
			if n := broadcasts(ctx, t, rrdb, key); n != 1 {
				t.Fatalf("the replica has %d broadcasts once the broadcast returned after %s, want 1", n, took)
			}
			if took < 300*time.Millisecond {
				t.Errorf("the broadcast returned after %s, while the replica slept", took)
			}
			if err := <-slept; err != nil {
				t.Fatal(err)
			}
			if _, err := clients.WaitEvent(ctx, "c", testenv.EventNamed("ev")); err != nil {
				t.Fatal(err)
			}

			replica.Stop()
			start = time.Now()
			err := root.To("r").Emit(ctx, "ev", 2)
			if !errors.Is(err, redisadapter.ErrNotDurable) || !errors.Is(err, emitter.ErrNotDurable) {
				t.Fatalf("without the replica: %v, want ErrNotDurable", err)
			}
			if took := time.Since(start); took < 900*time.Millisecond {
				t.Errorf("ErrNotDurable after %s, before DurableTimeout", took)
			}
			if got := clients.FirstArgs("c", "ev"); len(got) != 2 {
				if _, err := clients.WaitEvents(ctx, "c", 2, testenv.EventNamed("ev")); err != nil {
					t.Fatalf("the entry written without its replica did not reach the other server: %v", err)
				}
			}
			if version == redisadapter.StreamsV02 {
				if err := root.In("r").SocketsJoin(ctx, "r2"); !errors.Is(err, redisadapter.ErrNotDurable) {
					t.Errorf("socketsJoin without the replica (0.2): %v, want ErrNotDurable", err)
				}
			}
			if n := broadcasts(ctx, t, mrdb, key); n != 2 {
				t.Errorf("the master has %d broadcasts, want 2", n)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if want := map[redisadapter.StreamsVersion]int{redisadapter.StreamsV03: 1, redisadapter.StreamsV02: 2}[version]; rec.notDurable != want {
				t.Errorf("Metrics.NotDurable called %d times, want %d", rec.notDurable, want)
			}
		})
	}
}
