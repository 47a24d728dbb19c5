package emitter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/pubsub"
)

// TestPipeliningKeepsOrderAndResults has many goroutines emit numbered
// events at once: every event arrives once, each goroutine's in order, and
// round trips are shared (fewer than one per command).
func TestPipeliningKeepsOrderAndResults(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	rec := record(t, rdb)
	ctx := context.Background()
	e, err := emitter.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	before := commandCalls(t, rdb)
	const workers, each = 32, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			room := e.To(fmt.Sprintf("w%d", w))
			for i := range each {
				if _, err := room.Emit(ctx, "n", i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	next := map[string]int{}
	for range workers * each {
		m := rec.next(t)
		want := next[m.Channel]
		// The last byte before opts is the fixint argument (i < 128).
		i := strings.Index(m.Payload, "\xa3nsp")
		if got := int(m.Payload[i-1]); got != want {
			t.Fatalf("%s: got %d, want %d (order lost)", m.Channel, got, want)
		}
		next[m.Channel]++
	}
	pipelines := commandCalls(t, rdb) - before
	t.Logf("%d publishes in %d round trips", workers*each, pipelines)
	if pipelines >= workers*each {
		t.Errorf("%d round trips for %d publishes: nothing was pipelined", pipelines, workers*each)
	}
}

// commandCalls returns Redis' count of read events on client connections
// (INFO stats total_reads_processed): one per round trip, however many
// pipelined commands it carries.
func commandCalls(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_reads_processed:"); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	t.Fatal("no total_reads_processed in INFO stats")
	return 0
}

// TestPipelinedErrorsStayWithTheirCommand sends good and failing commands
// in the same batches: each caller gets its own command's result.
func TestPipelinedErrorsStayWithTheirCommand(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	// The stream of /bad is a string key: XADD fails with WRONGTYPE there.
	if err := rdb.Set(ctx, "bad-stream", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	good, _ := emitter.New(rdb, emitter.WithMode(emitter.Streams), emitter.WithPrefix("good-stream"))
	bad, _ := emitter.New(rdb, emitter.WithMode(emitter.Streams), emitter.WithPrefix("bad-stream"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	goodErrs, badErrs := 0, 0
	for w := range 40 {
		wg.Go(func() {
			for range 20 {
				e := good
				if w%2 == 1 {
					e = bad
				}
				_, err := e.Emit(ctx, "e")
				mu.Lock()
				switch {
				case w%2 == 0 && err != nil:
					goodErrs++
				case w%2 == 1 && (err == nil || !strings.Contains(err.Error(), "WRONGTYPE")):
					badErrs++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if goodErrs != 0 || badErrs != 0 {
		t.Fatalf("%d good commands failed, %d bad commands did not report WRONGTYPE", goodErrs, badErrs)
	}
	if n, err := rdb.XLen(ctx, "good-stream").Result(); err != nil || n != 400 {
		t.Fatalf("good stream has %d entries (%v), want 400", n, err)
	}
}

// TestCancelledWhileQueuedPublishesNothing keeps the batch leaders busy
// (Redis paused), lets a queued caller's context expire, and checks that
// its event is never published.
func TestCancelledWhileQueuedPublishesNothing(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	rec := record(t, rdb)
	ctx := context.Background()
	e, _ := emitter.New(rdb)
	admin := srv.Client(t)
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "1000", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 2 { // occupy every leader slot
		wg.Go(func() {
			if _, err := e.Emit(ctx, fmt.Sprintf("leader-%d", i)); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // both leaders are blocked in the paused Redis by now
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err := e.Emit(short, "cancelled")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued emit: %v, want context.DeadlineExceeded", err)
	}
	wg.Wait()
	if _, err := e.Emit(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		m := rec.next(t)
		if strings.Contains(m.Payload, "cancelled") {
			t.Fatal("a cancelled emit was published")
		}
		if strings.Contains(m.Payload, "after") {
			return
		}
	}
	t.Fatal("the last emit did not arrive")
}

// TestPipelinedShardedOnACluster sends concurrent SPUBLISHes to channels of
// many slots of a real Redis Cluster: batches span nodes, and every message
// reaches the subscribers of its own channel.
func TestPipelinedShardedOnACluster(t *testing.T) {
	cl := testenv.StartRedisCluster(t, 3)
	rdb := cl.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const rooms, each = 12, 25
	var channels []string
	for r := range rooms {
		channels = append(channels, fmt.Sprintf("socket.io#/#room-%d#", r))
	}
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.ShardedChannels(channels...))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	e, err := emitter.New(rdb, emitter.WithMode(emitter.Sharded), emitter.WithSubscriptionMode(emitter.SubscriptionDynamic))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for r := range rooms {
		wg.Go(func() {
			room := e.To(fmt.Sprintf("room-%d", r))
			for i := range each {
				if _, err := room.Emit(ctx, "n", i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := map[string]int{}
	for range rooms * each {
		select {
		case m := <-sub.C():
			if m.Kind != pubsub.KindMessage {
				t.Fatalf("gap: %+v", m.Gap)
			}
			got[m.Channel]++
		case <-ctx.Done():
			t.Fatalf("received %v", got)
		}
	}
	for _, ch := range channels {
		if got[ch] != each {
			t.Errorf("%s: %d messages, want %d", ch, got[ch], each)
		}
	}
}
