package redisadapter_test

import (
	"context"
	"errors"
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
