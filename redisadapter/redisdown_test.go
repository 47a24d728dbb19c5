package redisadapter_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// TestLocalDeliveryWhileRedisDown stops Redis under a Go server of each format and checks that what the server
// broadcasts still reaches its own clients (real socket.io-client), as Node's adapters do, while the caller gets
// the Redis error: Emit, EmitWithAck (the local client's answer comes back with the error, at once rather than
// after waiting for servers that were never asked) and SocketsJoin.
func TestLocalDeliveryWhileRedisDown(t *testing.T) {
	for _, format := range []string{"classic", "sharded", "streams"} {
		t.Run(format, func(t *testing.T) {
			rs := testenv.StartRedis(t)
			rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1, DialTimeout: time.Second})
			t.Cleanup(func() { _ = rdb.Close() })
			var g *goServer
			switch format {
			case "classic":
				a := redisadapter.New(rdb, redisadapter.Config{})
				g = startGoServerOn(t, "g", socketio.Config{Cluster: a}, a.WaitReady)
			case "sharded":
				a := redisadapter.NewSharded(rdb, redisadapter.ShardedConfig{})
				g = startGoServerOn(t, "g", socketio.Config{Cluster: a}, a.WaitReady)
			case "streams":
				a := redisadapter.NewStreams(rdb, redisadapter.StreamsConfig{})
				g = startGoServerOn(t, "g", socketio.Config{Cluster: a}, a.WaitReady)
			}
			clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "g1", URL: g.url, Rooms: []string{"r1"}}})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			root := g.srv.Of("/")

			rs.Stop()
			err := root.To("r1").Emit(ctx, "while-down", 1)
			if err == nil {
				t.Fatal("Emit with Redis down returned no error")
			}
			if _, werr := clients.WaitEvent(ctx, "g1", testenv.EventNamed("while-down")); werr != nil {
				t.Fatalf("the local client did not get the broadcast (Emit: %v): %v", err, werr)
			}

			start := time.Now()
			acks, err := root.To("r1").EmitWithAck(ctx, "ask")
			if err == nil || errors.Is(err, socketio.ErrAckTimeout) || len(acks) != 1 {
				t.Fatalf("EmitWithAck with Redis down: %d answers, %v; want the local one and the Redis error", len(acks), err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("EmitWithAck took %s: it waited for servers it could not ask", d)
			}

			if err := root.To("r1").SocketsJoin(ctx, "r9"); err == nil {
				t.Error("SocketsJoin with Redis down returned no error")
			}
			if err := root.To("r9").Emit(ctx, "joined-while-down"); err == nil {
				t.Error("Emit with Redis down returned no error")
			}
			if _, err := clients.WaitEvent(ctx, "g1", testenv.EventNamed("joined-while-down")); err != nil {
				t.Fatalf("SocketsJoin did not reach the local socket: %v", err)
			}
		})
	}
}

// receiversRecorder records what an adapter reports to Metrics.Receivers.
type receiversRecorder struct {
	mu  sync.Mutex
	got []int
}

func (r *receiversRecorder) MessageSent(string)                             {}
func (r *receiversRecorder) MessageReceived(string)                         {}
func (r *receiversRecorder) RedisError(string)                              {}
func (r *receiversRecorder) MessagesLost(string)                            {}
func (r *receiversRecorder) NotDurable(string)                              {}
func (r *receiversRecorder) StreamEntriesLost(redisadapter.StreamLoss, int) {}
func (r *receiversRecorder) Receivers(_ string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
}

func (r *receiversRecorder) last() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		return -1
	}
	return r.got[len(r.got)-1]
}

// TestReceiversReported checks that a Go server's transport reports Redis' count of the subscribers each
// broadcast reached: itself alone, then itself and a real Node server.
func TestReceiversReported(t *testing.T) {
	rs := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	rec := &receiversRecorder{}
	a := redisadapter.New(rdb, redisadapter.Config{Metrics: rec})
	g := startGoServerOn(t, "g", socketio.Config{Cluster: a}, a.WaitReady)
	ctx := context.Background()
	if err := g.srv.Of("/").To("r1").Emit(ctx, "e"); err != nil || rec.last() != 1 {
		t.Fatalf("alone: %v, receivers %d; want 1 (the server's own subscription)", err, rec.last())
	}
	testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()}})
	if err := g.srv.Of("/").To("r1").Emit(ctx, "e"); err != nil || rec.last() != 2 {
		t.Fatalf("with a Node server: %v, receivers %d; want 2", err, rec.last())
	}
}

// TestShardedSendsAfterMasterKill kills, in a real Redis Cluster with replicas, the master owning a namespace's
// sharded channel: once its replica has the slot, a Go server's broadcasts are published again, rather than
// failing until go-redis's periodic reload of the slot map (60 s).
func TestShardedSendsAfterMasterKill(t *testing.T) {
	cl := testenv.StartRedisClusterWith(t, testenv.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: time.Second})
	rdb := cl.Client(t)
	a := redisadapter.NewSharded(rdb, redisadapter.ShardedConfig{})
	g := startGoServerOn(t, "g", socketio.Config{Cluster: a}, a.WaitReady)
	ctx := context.Background()
	if err := g.srv.Of("/").Emit(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	cl.KillSlotOwner(t, cl.Slot(t, "socket.io#/#"))
	start := time.Now()
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := g.srv.Of("/").Emit(cctx, "after")
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
