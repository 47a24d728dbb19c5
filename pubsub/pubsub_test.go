package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/testtools/faultproxy"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/pubsub"
)

// next returns the next item of sub, failing after d.
func next(t *testing.T, sub *pubsub.Subscription, d time.Duration) pubsub.Message {
	t.Helper()
	select {
	case m, ok := <-sub.C():
		if !ok {
			t.Fatalf("subscription stopped: %v", sub.Err())
		}
		return m
	case <-time.After(d):
		t.Fatalf("nothing received within %v", d)
	}
	return pubsub.Message{}
}

// noPubsubGoroutines fails if goroutines of this package are still running
// a little while after a subscription has stopped.
func noPubsubGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "sioredis/pubsub.(*Subscription)") || strings.Contains(g, "sioredis/pubsub.Subscribe") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSubscribeConfirmsBeforeReturning(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		opt     pubsub.Option
		channel string
		pattern string
		sharded bool
	}{
		{"channel", pubsub.Channels("news"), "news", "", false},
		{"pattern", pubsub.Patterns("chat.*"), "chat.room1", "chat.*", false},
		{"sharded channel", pubsub.ShardedChannels("orders"), "orders", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Publishing right after Subscribe returns must always be seen,
			// and the confirmation must never be delivered.
			for i := range 20 {
				sub, err := pubsub.Subscribe(ctx, rdb, tt.opt)
				if err != nil {
					t.Fatal(err)
				}
				payload := "m" + strconv.Itoa(i)
				if tt.sharded {
					err = rdb.SPublish(ctx, tt.channel, payload).Err()
				} else {
					err = rdb.Publish(ctx, tt.channel, payload).Err()
				}
				if err != nil {
					t.Fatal(err)
				}
				got := next(t, sub, 2*time.Second)
				want := pubsub.Message{Kind: pubsub.KindMessage, Channel: tt.channel, Pattern: tt.pattern, Sharded: tt.sharded, Payload: payload}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("got %+v, want %+v", got, want)
				}
				if err := sub.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	noPubsubGoroutines(t)
}

func TestSubscribeManyAndOrder(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("a", "b"), pubsub.Patterns("p.*"), pubsub.ShardedChannels("s1", "s2"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range 50 {
		if err := rdb.Publish(ctx, []string{"a", "b", "p.x"}[i%3], strconv.Itoa(i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		if m := next(t, sub, 2*time.Second); m.Payload != strconv.Itoa(i) || m.Kind != pubsub.KindMessage {
			t.Fatalf("message %d: got %+v", i, m)
		}
	}
	// Sharded channels have their own connection: their order is kept
	// among themselves.
	for i := range 10 {
		if err := rdb.SPublish(ctx, []string{"s1", "s2"}[i%2], strconv.Itoa(i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		if m := next(t, sub, 2*time.Second); m.Payload != strconv.Itoa(i) || !m.Sharded {
			t.Fatalf("sharded message %d: got %+v", i, m)
		}
	}
}

func TestStop(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	tests := []struct {
		name    string
		stop    func(cancel context.CancelFunc, sub *pubsub.Subscription)
		wantErr error
	}{
		{"context cancelled", func(cancel context.CancelFunc, _ *pubsub.Subscription) { cancel() }, context.Canceled},
		{"Close", func(_ context.CancelFunc, sub *pubsub.Subscription) { _ = sub.Close() }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("x"), pubsub.ShardedChannels("y"))
			if err != nil {
				t.Fatal(err)
			}
			if err := rdb.Publish(ctx, "x", "1").Err(); err != nil {
				t.Fatal(err)
			}
			next(t, sub, 2*time.Second)
			start := time.Now()
			tt.stop(cancel, sub)
			select {
			case _, ok := <-sub.C():
				if ok {
					t.Fatal("message after stop")
				}
			case <-time.After(2 * time.Second):
				t.Fatal("C not closed")
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("stopping took %v", d)
			}
			<-sub.Done()
			if err := sub.Err(); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Err() = %v, want %v", err, tt.wantErr)
			}
			_ = sub.Close() // again, after the end
			noPubsubGoroutines(t)
			// Redis has no subscriber left.
			n, err := rdb.PubSubNumSub(context.Background(), "x").Result()
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Second)
			for n["x"] != 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				n, _ = rdb.PubSubNumSub(context.Background(), "x").Result()
			}
			if n["x"] != 0 {
				t.Fatalf("%d subscribers left on Redis", n["x"])
			}
		})
	}
}

func TestSubscribeErrors(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	if _, err := pubsub.Subscribe(ctx, rdb); !errors.Is(err, pubsub.ErrNoSubscriptions) {
		t.Errorf("no subscriptions: %v", err)
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": r.Addr()}})
	defer ring.Close()
	if _, err := pubsub.Subscribe(ctx, ring, pubsub.Channels("x")); !errors.Is(err, pubsub.ErrUnsupportedClient) {
		t.Errorf("ring: %v", err)
	}

	// Nobody listens on a stopped server's port.
	down := testenv.StartRedis(t)
	down.Stop()
	dead := redis.NewClient(&redis.Options{Addr: down.Addr(), MaxRetries: -1})
	defer dead.Close()
	if _, err := pubsub.Subscribe(ctx, dead, pubsub.Channels("x")); err == nil {
		t.Error("subscribed to a stopped server")
	}

	// A paused server does not confirm within the timeout.
	if err := rdb.Do(ctx, "CLIENT", "PAUSE", "500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	paused := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer paused.Close()
	start := time.Now()
	_, err := pubsub.Subscribe(ctx, paused, pubsub.Channels("x"), pubsub.WithConfirmTimeout(100*time.Millisecond))
	if !errors.Is(err, pubsub.ErrNotConfirmed) {
		t.Errorf("paused server: got %v, want ErrNotConfirmed", err)
	}
	// The connection set-up itself waits for the pause (go-redis bounds it
	// with its own timeouts); the confirmation wait then gives up at once.
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("gave up after %v", d)
	}

	// A cancelled context stops the wait as well.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := pubsub.Subscribe(cctx, rdb, pubsub.Channels("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
	noPubsubGoroutines(t)
}

// publisher publishes increasing numbers on channel every few milliseconds,
// ignoring errors (the server may be down), until stopped.
func publisher(t *testing.T, addr, channel string, sharded bool) (stop func()) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			if sharded {
				rdb.SPublish(ctx, channel, strconv.Itoa(i))
			} else {
				rdb.Publish(ctx, channel, strconv.Itoa(i))
			}
			time.Sleep(3 * time.Millisecond)
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		_ = rdb.Close()
	}
}

// readUntil reads messages, checking that their numbers increase, until
// count messages have arrived after the last gap seen, and returns the gaps.
func readUntil(t *testing.T, sub *pubsub.Subscription, last *int, count int, wantGaps int) []*pubsub.Gap {
	t.Helper()
	var gaps []*pubsub.Gap
	n := 0
	for n < count || len(gaps) < wantGaps {
		m := next(t, sub, 10*time.Second)
		if m.Kind == pubsub.KindGap {
			gaps = append(gaps, m.Gap)
			n = 0
			continue
		}
		v, err := strconv.Atoi(m.Payload)
		if err != nil || v <= *last {
			t.Fatalf("message %q after %d", m.Payload, *last)
		}
		*last = v
		n++
	}
	return gaps
}

func TestReconnectAfterRedisRestart(t *testing.T) {
	tests := []struct {
		name     string
		sharded  bool
		downtime time.Duration
	}{
		{"channel, quick restart", false, 0},
		{"sharded channel, down for a while", true, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testenv.StartRedis(t)
			rdb := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
			defer rdb.Close()
			opt := pubsub.Channels("seq")
			if tt.sharded {
				opt = pubsub.ShardedChannels("seq")
			}
			sub, err := pubsub.Subscribe(context.Background(), rdb, opt, pubsub.WithBackoff(20*time.Millisecond, 100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			stop := publisher(t, r.Addr(), "seq", tt.sharded)
			defer stop()

			last := -1
			if gaps := readUntil(t, sub, &last, 20, 0); len(gaps) > 0 {
				t.Fatalf("gap before the restart: %+v", gaps[0])
			}
			lastBefore := last
			if tt.downtime > 0 {
				r.Stop()
				time.Sleep(tt.downtime)
			}
			r.Restart()
			gaps := readUntil(t, sub, &last, 20, 1)
			if len(gaps) != 1 {
				t.Fatalf("%d gaps", len(gaps))
			}
			g := gaps[0]
			t.Logf("gap: %+v; last message before %d, now at %d", g, lastBefore, last)
			if g.Reason != pubsub.GapReconnect || g.Err == nil || g.Duration <= 0 || g.Since.IsZero() || g.Attempts < 1 {
				t.Fatalf("bad gap %+v", g)
			}
			if tt.downtime > 0 && (g.Duration < tt.downtime || g.Attempts < 2) {
				t.Fatalf("gap of %v after %d attempts for a downtime of %v", g.Duration, g.Attempts, tt.downtime)
			}
			wantSub := []string{"seq"}
			got := g.Channels
			if tt.sharded {
				got = g.ShardedChannels
			}
			if fmt.Sprint(got) != fmt.Sprint(wantSub) {
				t.Fatalf("gap subscriptions %v", got)
			}
		})
	}
}

// A connection that stops answering (here: a paused server) is detected by
// the health check and replaced.
func TestHealthCheck(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("hc"), pubsub.WithHealthCheck(50*time.Millisecond),
		pubsub.WithBackoff(10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	admin := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer admin.Close()
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "400", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	m := next(t, sub, 5*time.Second)
	if m.Kind != pubsub.KindGap || !errors.Is(m.Gap.Err, pubsub.ErrUnhealthy) {
		t.Fatalf("got %+v (gap %+v)", m, m.Gap)
	}
	if err := rdb.Publish(ctx, "hc", "after").Err(); err != nil {
		t.Fatal(err)
	}
	if m := next(t, sub, 2*time.Second); m.Payload != "after" {
		t.Fatalf("got %+v", m)
	}
}

func TestOverflow(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()

	t.Run("block keeps everything", func(t *testing.T) {
		sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("block"), pubsub.WithBufferSize(1))
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		for i := range 200 {
			if err := rdb.Publish(ctx, "block", strconv.Itoa(i)).Err(); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 200 {
			if m := next(t, sub, 2*time.Second); m.Payload != strconv.Itoa(i) {
				t.Fatalf("message %d: %+v", i, m)
			}
		}
	})

	t.Run("drop counts and reports", func(t *testing.T) {
		sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("drop"), pubsub.WithBufferSize(4), pubsub.WithOverflow(pubsub.OverflowDrop))
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		start := time.Now()
		for i := range 100 {
			if err := rdb.Publish(ctx, "drop", strconv.Itoa(i)).Err(); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(2 * time.Second)
		for sub.Dropped() < 96 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := sub.Dropped(); n != 96 {
			t.Fatalf("Dropped() = %d, want 96", n)
		}
		for i := range 4 {
			if m := next(t, sub, time.Second); m.Payload != strconv.Itoa(i) {
				t.Fatalf("message %d: %+v", i, m)
			}
		}
		if err := rdb.Publish(ctx, "drop", "100").Err(); err != nil {
			t.Fatal(err)
		}
		m := next(t, sub, time.Second)
		if m.Kind != pubsub.KindGap || m.Gap.Reason != pubsub.GapOverflow || m.Gap.Dropped != 96 || m.Gap.Since.Before(start) {
			t.Fatalf("got %+v (gap %+v)", m, m.Gap)
		}
		if m := next(t, sub, time.Second); m.Payload != "100" {
			t.Fatalf("got %+v", m)
		}
	})
}

func TestCluster(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3)
	rdb := c.Client(t)
	ctx := context.Background()
	// Sharded channels whose slots are spread over the masters.
	sharded := []string{"orders", "users", "carts", "stock", "{a}x", "{b}y"}
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("news"), pubsub.Patterns("chat.*"), pubsub.ShardedChannels(sharded...))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	want := map[string]bool{}
	for _, ch := range sharded {
		if err := rdb.SPublish(ctx, ch, "s:"+ch).Err(); err != nil {
			t.Fatal(err)
		}
		want["s:"+ch] = true
	}
	for _, ch := range []string{"news", "chat.1"} {
		if err := rdb.Publish(ctx, ch, "p:"+ch).Err(); err != nil {
			t.Fatal(err)
		}
		want["p:"+ch] = true
	}
	for len(want) > 0 {
		m := next(t, sub, 5*time.Second)
		if !want[m.Payload] || m.Sharded != strings.HasPrefix(m.Payload, "s:") {
			t.Fatalf("unexpected %+v", m)
		}
		delete(want, m.Payload)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	noPubsubGoroutines(t)
}

// TestSelfCheckFollowsAPlannedFailover subscribes through a Sentinel client, runs SENTINEL FAILOVER on a real
// master, replica and three sentinels, and publishes through the same client, which now reaches the new master.
// The old master, demoted, keeps the subscriber's connection and answers its PINGs: with WithSelfCheck, the
// subscription finds that its tokens no longer come back, reports a gap caused by ErrStale and subscribes again
// where the publishes go. (Without it, the demoted master closed the connection by itself 10 s later here: the
// gap's cause was EOF.)
func TestSelfCheckFollowsAPlannedFailover(t *testing.T) {
	g := testenv.StartSentinelGroup(t, testenv.SentinelGroupConfig{})
	rdb := g.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("news"), pubsub.ShardedChannels("shard-news"),
		pubsub.WithSelfCheck(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	g.WaitFailover(g.Failover())
	gaps, got := 0, map[string]bool{}
	for !got["news"] || !got["shard-news"] {
		if err := rdb.Publish(ctx, "news", "after").Err(); err != nil {
			t.Logf("publish: %v", err)
		}
		if err := rdb.SPublish(ctx, "shard-news", "after").Err(); err != nil {
			t.Logf("spublish: %v", err)
		}
		select {
		case m := <-sub.C():
			switch {
			case m.Kind == pubsub.KindGap:
				if !errors.Is(m.Gap.Err, pubsub.ErrStale) {
					// Redis closes the demoted master's connections by itself, but seconds later.
					t.Fatalf("gap caused by %v, want ErrStale", m.Gap.Err)
				}
				gaps++
			case m.Payload == "after":
				if gaps == 0 {
					t.Fatalf("a message after the failover on %s without a gap before it", m.Channel)
				}
				got[m.Channel] = true
			}
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("after the failover, received on %v only", got)
		}
	}
	if gaps != 2 {
		t.Errorf("%d gaps, want one per connection (channels, sharded channels)", gaps)
	}
}

// TestSelfCheckWaitsOutAPartition cuts a subscription's link to Redis for 3 s (a fault proxy holding the bytes,
// as a partition does) while messages are published: its self-check tokens stop coming back, but so does the
// PING that follows, so the connection is kept, and when the link heals TCP delivers everything, with no gap.
// (Taking the late tokens alone for staleness dropped the connection and lost the messages: checked.)
func TestSelfCheckWaitsOutAPartition(t *testing.T) {
	r := testenv.StartRedis(t)
	proxy, err := faultproxy.Listen(faultproxy.Config{Target: r.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	through := redis.NewClient(&redis.Options{Addr: proxy.Addr()})
	defer through.Close()
	pub := r.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sub, err := pubsub.Subscribe(ctx, through, pubsub.Channels("news"), pubsub.WithSelfCheck(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	proxy.SetMode(faultproxy.Partition)
	for i := range 30 {
		if err := pub.Publish(ctx, "news", strconv.Itoa(i)).Err(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	proxy.SetMode(faultproxy.Pass)
	for i := range 30 {
		m := next(t, sub, 20*time.Second)
		if m.Kind != pubsub.KindMessage || m.Payload != strconv.Itoa(i) {
			t.Fatalf("message %d: got %+v (gap: %+v)", i, m, m.Gap)
		}
	}
}
