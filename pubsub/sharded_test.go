package pubsub_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/pubsub"
)

// Sharded channels added to a subscription on a Redis Cluster share one connection per master, whatever their
// number and slots, are confirmed when Add returns, and are gone after Remove; the connection of a master is
// closed once none of its channels is left.
func TestShardedAddAndRemoveOnCluster(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3)
	rdb := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.ShardedChannels("base"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var names []string
	for i := range 300 {
		names = append(names, "room"+strconv.Itoa(i))
	}
	// In batches, and one by one.
	if err := sub.Add(ctx, pubsub.ShardedChannels(names[:200]...)); err != nil {
		t.Fatal(err)
	}
	for _, n := range names[200:] {
		if err := sub.Add(ctx, pubsub.ShardedChannels(n)); err != nil {
			t.Fatal(err)
		}
	}
	if n := sub.Connections(); n != 3 {
		t.Fatalf("%d connections for 301 sharded channels on 3 masters, want 3", n)
	}
	for _, n := range names {
		if err := rdb.SPublish(ctx, n, n).Err(); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for len(seen) < len(names) {
		m := next(t, sub, 5*time.Second)
		if m.Kind != pubsub.KindMessage || !m.Sharded || m.Payload != m.Channel || seen[m.Channel] {
			t.Fatalf("unexpected %+v", m)
		}
		seen[m.Channel] = true
	}
	if err := sub.Remove(ctx, pubsub.ShardedChannels(names...)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool {
		total := int64(0)
		for _, n := range []string{"room0", "room1", "room2", "room299"} {
			res, _ := rdb.PubSubShardNumSub(ctx, n).Result()
			total += res[n]
		}
		return total == 0
	})
	if n := sub.Connections(); n != 1 {
		t.Fatalf("%d connections left with one sharded channel, want 1", n)
	}
	if err := rdb.SPublish(ctx, "base", "still").Err(); err != nil {
		t.Fatal(err)
	}
	if m := next(t, sub, 2*time.Second); m.Channel != "base" {
		t.Fatalf("got %+v, want the message on base", m)
	}
	sub.Close()
	if err := sub.Add(context.Background(), pubsub.ShardedChannels("late")); !errors.Is(err, pubsub.ErrStopped) {
		t.Fatalf("Add after Close: %v, want ErrStopped", err)
	}
	noPubsubGoroutines(t)
}

// When the slot of a sharded channel moves to another master while messages flow, Redis ends the subscription;
// it follows the slot to its new owner, a GapMoved gap says so, nothing is delivered twice, and the messages
// published around the move that are lost are counted. The other channels of the old owner's connection keep
// flowing without a gap.
func TestShardedSlotMigration(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3)
	rdb := c.Client(t)
	ctx := context.Background()
	const moving = "socket.io#/#"
	slot := int(pubsub.Slot(moving))
	// A neighbour on the same master, in another slot.
	owner := c.SlotOwner(t, slot)
	var neighbour string
	for i := 0; neighbour == ""; i++ {
		n := "n" + strconv.Itoa(i)
		if s := int(pubsub.Slot(n)); s != slot && c.SlotOwner(t, s) == owner {
			neighbour = n
		}
	}
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.ShardedChannels(moving, neighbour))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := rdb.SPublish(ctx, moving, strconv.Itoa(i)).Err(); err == nil {
				sent.Store(int64(i + 1))
			} else {
				sent.Store(int64(i + 1)) // refused ones are counted as lost too: they are numbered
			}
			_ = rdb.SPublish(ctx, neighbour, strconv.Itoa(i)).Err()
			time.Sleep(time.Millisecond)
		}
	}()
	got := map[string]map[int]bool{moving: {}, neighbour: {}}
	var gaps []*pubsub.Gap
	collect := func(d time.Duration) {
		deadline := time.After(d)
		for {
			select {
			case m := <-sub.C():
				if m.Kind == pubsub.KindGap {
					gaps = append(gaps, m.Gap)
					continue
				}
				n, _ := strconv.Atoi(m.Payload)
				if got[m.Channel][n] {
					t.Errorf("message %d on %s delivered twice", n, m.Channel)
				}
				got[m.Channel][n] = true
			case <-deadline:
				return
			}
		}
	}
	collect(500 * time.Millisecond)
	to := (owner + 1) % 3
	c.MoveSlot(t, slot, to)
	collect(2 * time.Second)
	close(stop)
	wg.Wait()
	collect(500 * time.Millisecond)

	total := int(sent.Load())
	lost := 0
	for i := range total {
		if !got[moving][i] {
			lost++
		}
	}
	t.Logf("slot %d moved from node %d to node %d: %d messages published on %s, %d lost, gaps %d", slot, owner, to, total, moving, lost, len(gaps))
	if len(gaps) != 1 || gaps[0].Reason != pubsub.GapMoved || len(gaps[0].ShardedChannels) != 1 || gaps[0].ShardedChannels[0] != moving {
		t.Fatalf("gaps %+v, want one GapMoved for %s", gaps, moving)
	}
	if lost > total/4 || !got[moving][total-1] {
		t.Errorf("%d of %d lost, last received %v: the subscription did not follow the slot", lost, total, got[moving][total-1])
	}
	missingNeighbour := 0
	for i := range total {
		if !got[neighbour][i] {
			missingNeighbour++
		}
	}
	if missingNeighbour > 0 {
		t.Errorf("%d messages lost on %s, whose slot did not move", missingNeighbour, neighbour)
	}
	sub.Close()
	noPubsubGoroutines(t)
}

// When a slot holding several channels of a subscription moves, each follows it (one GapMoved each), and one
// removed right after the move is not subscribed again on the new owner.
func TestShardedSlotMigrationManyChannels(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3)
	rdb := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	chans := []string{"{t}a", "{t}b", "{t}c", "{t}d"}
	slot := int(pubsub.Slot(chans[0]))
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.ShardedChannels(chans...))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	from := c.SlotOwner(t, slot)
	c.MoveSlot(t, slot, (from+1)%3)
	if err := sub.Remove(ctx, pubsub.ShardedChannels("{t}d")); err != nil {
		t.Fatal(err)
	}
	moved := map[string]bool{}
	for len(moved) < 3 {
		m := next(t, sub, 10*time.Second)
		if m.Kind != pubsub.KindGap || m.Gap.Reason != pubsub.GapMoved {
			t.Fatalf("got %+v, want GapMoved gaps", m)
		}
		for _, ch := range m.Gap.ShardedChannels {
			moved[ch] = true
		}
	}
	if moved["{t}d"] && len(moved) == 3 {
		t.Errorf("the removed channel was reported moved: %v", moved)
	}
	for _, ch := range chans[:3] {
		if err := rdb.SPublish(ctx, ch, ch).Err(); err != nil {
			t.Fatal(err)
		}
		if m := next(t, sub, 5*time.Second); m.Channel != ch {
			t.Fatalf("got %+v, want the message on %s", m, ch)
		}
	}
	testenv.WaitFor(t, func() bool {
		res, err := rdb.PubSubShardNumSub(ctx, chans...).Result()
		return err == nil && res["{t}a"] == 1 && res["{t}c"] == 1 && res["{t}d"] == 0
	})
	if n := sub.Connections(); n > 2 {
		t.Errorf("%d connections for one slot's channels after the move", n)
	}
	sub.Close()
	noPubsubGoroutines(t)
}

// When the connection to one master is killed, its sharded channels are subscribed again (on the owner the
// cluster names) and a GapReconnect names them; the connections to the other masters are not touched.
func TestShardedConnectionLossOnCluster(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3)
	rdb := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One channel per master.
	byOwner := map[int]string{}
	for i := 0; len(byOwner) < 3; i++ {
		ch := "c" + strconv.Itoa(i)
		if o := c.SlotOwner(t, int(pubsub.Slot(ch))); byOwner[o] == "" {
			byOwner[o] = ch
		}
	}
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.ShardedChannels(byOwner[0], byOwner[1], byOwner[2]),
		pubsub.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	victim := c.Nodes()[1].Client(t)
	if err := victim.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	m := next(t, sub, 10*time.Second)
	if m.Kind != pubsub.KindGap || m.Gap.Reason != pubsub.GapReconnect || len(m.Gap.ShardedChannels) != 1 || m.Gap.ShardedChannels[0] != byOwner[1] {
		t.Fatalf("got %+v (%+v), want a GapReconnect for %s", m, m.Gap, byOwner[1])
	}
	for _, ch := range []string{byOwner[0], byOwner[1], byOwner[2]} {
		if err := rdb.SPublish(ctx, ch, ch).Err(); err != nil {
			t.Fatal(err)
		}
		if m := next(t, sub, 5*time.Second); m.Kind != pubsub.KindMessage || m.Channel != ch {
			t.Fatalf("got %+v, want the message on %s", m, ch)
		}
	}
	if n := sub.Connections(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
	sub.Close()
	noPubsubGoroutines(t)
}

// TestResubscribesAfterMasterKill kills, in a real Redis Cluster with replicas, the master whose slot holds a
// subscription's channels (plain and sharded): once its replica has taken the slot over, both subscriptions are
// back (after a gap), rather than dialing the dead master until go-redis's periodic reload of the slot map.
func TestResubscribesAfterMasterKill(t *testing.T) {
	c := testenv.StartRedisClusterWith(t, testenv.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: time.Second})
	rdb := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const plain, sharded = "{k}plain", "{k}sharded"
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels(plain), pubsub.ShardedChannels(sharded))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	c.KillSlotOwner(t, c.Slot(t, plain))
	start := time.Now()
	// Published through a client of its own, so that nothing but the subscription's own work makes the
	// subscription's client read the slot map again.
	pub := c.Client(t)
	got := map[string]bool{}
	for !got[plain] || !got[sharded] {
		if err := pub.SPublish(ctx, sharded, "x").Err(); err != nil {
			pub.ReloadState(ctx) // the publisher's own map of the slots is as stale as the subscription's
		}
		_ = pub.Publish(ctx, plain, "x").Err()
		select {
		case m := <-sub.C():
			if m.Kind == pubsub.KindMessage {
				got[m.Channel] = true
			}
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("after %s: received again on %v only", time.Since(start).Round(time.Second), got)
		}
	}
	t.Logf("both subscriptions back %s after the kill", time.Since(start).Round(100*time.Millisecond))
}

// TestPlainResubscribesAfterMasterKill is TestResubscribesAfterMasterKill with plain channels alone: nothing
// else (no sharded channel's lookup) makes the client read the slot map again, so the subscription's own
// reconnection must, or it dials the dead master until go-redis's periodic reload, 60 s later.
func TestPlainResubscribesAfterMasterKill(t *testing.T) {
	c := testenv.StartRedisClusterWith(t, testenv.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: time.Second})
	rdb := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	const plain = "{k}plain"
	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels(plain))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	c.KillSlotOwner(t, c.Slot(t, plain))
	start := time.Now()
	pub := c.Client(t)
	for {
		if err := pub.Publish(ctx, plain, "x").Err(); err != nil {
			pub.ReloadState(ctx)
		}
		select {
		case m := <-sub.C():
			if m.Kind == pubsub.KindMessage {
				t.Logf("subscribed again %s after the kill", time.Since(start).Round(100*time.Millisecond))
				return
			}
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("nothing received %s after the kill", time.Since(start).Round(time.Second))
		}
	}
}
