package emitter_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// subscribe holds a pattern (or, with sharded, a shard channel) subscription of its own connection until the
// test ends, the way one server of a cluster listens.
func subscribe(t *testing.T, rdb *redis.Client, pattern string, sharded bool) *redis.PubSub {
	t.Helper()
	ctx := context.Background()
	sub := rdb.PSubscribe(ctx, pattern)
	if sharded {
		sub = rdb.SSubscribe(ctx, pattern)
	}
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

// TestReceiptCountsReceivers checks that every publishing method returns Redis' own count of the subscribers
// that received the message, alone and when concurrent emits share round trips, and the channel it went to.
func TestReceiptCountsReceivers(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	e, err := emitter.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.To("room_777").Emit(ctx, "nobody-listens")
	if err != nil {
		t.Fatal(err)
	}
	if rc.Receivers != 0 || rc.Channel != "socket.io#/#room_777#" || rc.Replicas != -1 || rc.EntryID != "" {
		t.Fatalf("with no subscriber: %+v", rc)
	}
	subscribe(t, rdb, "socket.io#/#*", false)            // a server of the cluster
	subscribe(t, rdb, "socket.io#/#*", false)            // another one
	subscribe(t, rdb, "socket.io-request#/#", false)     // the servers' request channel, as a pattern here
	subscribe(t, rdb, "other-prefix#/#*", false)         // not a receiver of this prefix
	calls := map[string]func() (emitter.Receipt, error){ // each with the count of its channel
		"emit":        func() (emitter.Receipt, error) { return e.To("room_777").Emit(ctx, "ev", 1) },
		"join":        func() (emitter.Receipt, error) { return e.To("a").SocketsJoin(ctx, "b") },
		"leave":       func() (emitter.Receipt, error) { return e.SocketsLeave(ctx, "b") },
		"disconnect":  func() (emitter.Receipt, error) { return e.DisconnectSockets(ctx, false) },
		"server-emit": func() (emitter.Receipt, error) { return e.ServerSideEmit(ctx, "reload") },
	}
	want := map[string]int{"emit": 2, "join": 1, "leave": 1, "disconnect": 1, "server-emit": 1}
	for name, call := range calls {
		rc, err := call()
		if err != nil || rc.Receivers != want[name] {
			t.Errorf("%s: %+v, %v; want %d receivers", name, rc, err, want[name])
		}
	}
	// Concurrent emits are pipelined: each still gets its own command's answer.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := 0
	for w := range 16 {
		wg.Go(func() {
			for i := range 20 {
				room := e.To("r" + strconv.Itoa(w))
				if (w+i)%2 == 1 {
					room = e.Of("/elsewhere").To("r") // no subscriber
				}
				rc, err := room.Emit(ctx, "ev", i)
				mu.Lock()
				if err != nil || rc.Receivers != 2*(1-(w+i)%2) {
					wrong++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wrong > 0 {
		t.Errorf("%d of 320 pipelined emits got another command's receivers", wrong)
	}
}

// TestReceiptShardedAndStreams checks SPUBLISH's count (the subscribers of the shard channel) and that XADD
// reports its entry id and no receivers.
func TestReceiptShardedAndStreams(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	sh, err := emitter.New(rdb, emitter.WithMode(emitter.Sharded))
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, rdb, "socket.io#/#", true)
	if rc, err := sh.To("r").Emit(ctx, "ev"); err != nil || rc.Receivers != 1 || rc.Channel != "socket.io#/#" {
		t.Errorf("sharded: %+v, %v", rc, err)
	}
	if rc, err := sh.Of("/other").Emit(ctx, "ev"); err != nil || rc.Receivers != 0 {
		t.Errorf("sharded, no subscriber: %+v, %v", rc, err)
	}
	st, err := emitter.New(rdb, emitter.WithMode(emitter.Streams))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := st.Emit(ctx, "ev")
	if err != nil || rc.Receivers != -1 || rc.Replicas != -1 || rc.Channel != "socket.io" {
		t.Fatalf("streams: %+v, %v", rc, err)
	}
	if got, err := rdb.XRange(ctx, "socket.io", "-", "+").Result(); err != nil || len(got) != 1 || got[0].ID != rc.EntryID {
		t.Errorf("stream holds %v (%v); the receipt says entry %q", got, err, rc.EntryID)
	}
}

// replicaOf starts a replica of master and waits until its link is up.
func replicaOf(t *testing.T, master *testenv.Redis) *testenv.Redis {
	t.Helper()
	r := testenv.StartRedis(t, testenv.RedisArgs("--replicaof", "127.0.0.1", strconv.Itoa(master.Port())))
	rdb := r.Client(t)
	testenv.WaitFor(t, func() bool {
		info, err := rdb.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	return r
}

// TestDurabilityWaitsForReplicas checks WithDurability on a real master and replica: entries are acknowledged
// by the replica (one WAIT per round trip, concurrent emits included), and once the replica is gone an entry is
// still added but reported ErrNotDurable after the timeout, with the count of replicas that had it.
func TestDurabilityWaitsForReplicas(t *testing.T) {
	master := testenv.StartRedis(t)
	replica := replicaOf(t, master)
	rdb := master.Client(t)
	ctx := context.Background()
	if _, err := emitter.New(rdb, emitter.WithDurability(1, time.Second)); err == nil {
		t.Fatal("durability accepted in the classic mode")
	}
	e, err := emitter.New(rdb, emitter.WithMode(emitter.Streams), emitter.WithDurability(1, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.Emit(ctx, "ev", 1)
	if err != nil || rc.Replicas != 1 || rc.EntryID == "" {
		t.Fatalf("with the replica: %+v, %v", rc, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 10 {
		wg.Go(func() {
			for range 20 {
				if rc, err := e.Emit(ctx, "ev", 2); err != nil || rc.Replicas != 1 {
					errs <- errors.Join(err, errors.New("replicas "+strconv.Itoa(rc.Replicas)))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent durable emit: %v", err)
	}
	replicaRDB := replica.Client(t)
	if n, err := replicaRDB.XLen(ctx, "socket.io").Result(); err != nil || n != 201 {
		t.Fatalf("the replica has %d entries (%v), want 201", n, err)
	}

	replica.Stop()
	start := time.Now()
	rc, err = e.Emit(ctx, "ev", 3)
	if !errors.Is(err, emitter.ErrNotDurable) || rc.Replicas != 0 || rc.EntryID == "" {
		t.Fatalf("without the replica: %+v, %v; want ErrNotDurable with the entry id", rc, err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("reported after %s, before the 1 s timeout", waited)
	}
	if n, err := rdb.XLen(ctx, "socket.io").Result(); err != nil || n != 202 {
		t.Errorf("the master has %d entries (%v), want 202: a durability error still adds the entry", n, err)
	}
}

// TestRecoversFromMasterKill kills the master owning a stream's slot in a real Redis Cluster with replicas: its
// replica takes the slot over within seconds, and the emitter follows it (go-redis would dial the dead master
// until its next periodic reload of the slot map, 60 s later, had the emitter not asked for one after the error).
func TestRecoversFromMasterKill(t *testing.T) {
	cl := testenv.StartRedisClusterWith(t, testenv.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: time.Second})
	rdb := cl.Client(t)
	ctx := context.Background()
	e, err := emitter.New(rdb, emitter.WithMode(emitter.Streams))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Emit(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	cl.KillSlotOwner(t, cl.Slot(t, "socket.io"))
	start := time.Now()
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := e.Emit(cctx, "after")
		cancel()
		if err == nil {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("still failing 30 s after the kill: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("publishing again %s after the kill", time.Since(start).Round(100*time.Millisecond))
}
