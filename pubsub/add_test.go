package pubsub_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/pubsub"
)

// clientCount returns how many clients Redis has connected (this one included).
func clientCount(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	list, err := rdb.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range list {
		if c == '\n' {
			n++
		}
	}
	return n
}

// Channels and patterns added to a subscription are confirmed when Add returns (a PUBLISH right after it is
// seen), share the subscription's one connection, and are gone after Remove (PUBSUB NUMSUB says so).
func TestAddAndRemove(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("base"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	before := clientCount(t, rdb)
	for i := range 200 {
		ch := "ch" + strconv.Itoa(i)
		if err := sub.Add(ctx, pubsub.Channels(ch), pubsub.Patterns("p"+strconv.Itoa(i)+".*")); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Publish(ctx, ch, "x").Err(); err != nil {
			t.Fatal(err)
		}
		if m := next(t, sub, 2*time.Second); m.Channel != ch {
			t.Fatalf("got %+v, want a message on %s", m, ch)
		}
		if err := rdb.Publish(ctx, "p"+strconv.Itoa(i)+".x", "y").Err(); err != nil {
			t.Fatal(err)
		}
		if m := next(t, sub, 2*time.Second); m.Pattern != "p"+strconv.Itoa(i)+".*" {
			t.Fatalf("got %+v, want a message of pattern p%d.*", m, i)
		}
	}
	if after := clientCount(t, rdb); after != before {
		t.Fatalf("%d Redis clients after 400 additions, %d before: want one connection", after, before)
	}
	if err := sub.Add(ctx, pubsub.Channels("ch0")); err != nil { // already there: nothing to wait for
		t.Fatal(err)
	}
	if err := sub.Remove(ctx, pubsub.Channels("ch0", "ch1"), pubsub.Patterns("p0.*")); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool {
		n, _ := rdb.PubSubNumSub(ctx, "ch0", "ch1", "ch2").Result()
		return n["ch0"] == 0 && n["ch1"] == 0 && n["ch2"] == 1
	})
	// The unsubscriptions asked for are no loss: nothing is reported, and the rest still flows.
	if err := rdb.Publish(ctx, "ch2", "still").Err(); err != nil {
		t.Fatal(err)
	}
	if m := next(t, sub, 2*time.Second); m.Kind != pubsub.KindMessage || m.Channel != "ch2" {
		t.Fatalf("got %+v, want the message on ch2", m)
	}
	sub.Close()
	if err := sub.Add(ctx, pubsub.Channels("late")); !errors.Is(err, pubsub.ErrStopped) {
		t.Fatalf("Add after Close: %v, want ErrStopped", err)
	}
	noPubsubGoroutines(t)
}

// A channel added while Redis is down is subscribed at the reconnection, with the others, and Add returns then;
// one removed while Redis is down is not subscribed again.
func TestAddWhileRedisIsDown(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer rdb.Close()
	ctx := context.Background()
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("base", "old"), pubsub.WithBackoff(20*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	r.Stop()
	added := make(chan error, 1)
	go func() {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		added <- sub.Add(actx, pubsub.Channels("new"))
	}()
	time.Sleep(200 * time.Millisecond)
	if err := sub.Remove(ctx, pubsub.Channels("old")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-added:
		t.Fatalf("Add returned %v while Redis was down", err)
	default:
	}
	r.Restart()
	if err := <-added; err != nil {
		t.Fatal(err)
	}
	if m := next(t, sub, 5*time.Second); m.Kind != pubsub.KindGap {
		t.Fatalf("got %+v, want the reconnection gap", m)
	}
	n, err := rdb.PubSubNumSub(ctx, "base", "old", "new").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n["base"] != 1 || n["old"] != 0 || n["new"] != 1 {
		t.Fatalf("NUMSUB after the reconnection: %v, want base 1, old 0, new 1", n)
	}
	if err := rdb.Publish(ctx, "new", "hello").Err(); err != nil {
		t.Fatal(err)
	}
	if m := next(t, sub, 2*time.Second); m.Channel != "new" || m.Payload != "hello" {
		t.Fatalf("got %+v", m)
	}
}
