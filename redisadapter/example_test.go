package redisadapter_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// A Go Socket.IO server joining the cluster of Node servers that use @socket.io/redis-adapter (createAdapter) on
// the same Redis: broadcasts, rooms commands, fetchSockets and acknowledgements cross between them.
func Example() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}})
	srv, err := socketio.NewServer(socketio.Config{Cluster: redisadapter.New(rdb, redisadapter.Config{})})
	if err != nil {
		log.Fatal(err)
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		s.Join("room_777")
		// Reaches room_777 on every server of the cluster, Go or Node.
		_ = s.To("room_777").Emit(ctx, "joined", s.ID())
	})
	http.Handle("/socket.io/", srv)
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// A Go server on the streams format behind Redis Sentinel, whose broadcasts wait until a replica has them, so that
// a failover does not lose what it acknowledged.
func ExampleNewStreams_durable() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{MasterName: "mymaster", Addrs: []string{"127.0.0.1:26379"}})
	streams := redisadapter.NewStreams(rdb, redisadapter.StreamsConfig{DurableReplicas: 1, DurableTimeout: time.Second})
	srv, err := socketio.NewServer(socketio.Config{Cluster: streams})
	if err != nil {
		log.Fatal(err)
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		err := s.Broadcast().Emit(ctx, "hello", s.ID())
		if errors.Is(err, redisadapter.ErrNotDurable) {
			// In the stream and delivered, but on no replica yet: a failover now would lose it.
			log.Printf("hello from %s: %v", s.ID(), err)
		}
	})
	// What it cannot read (trimmed, evicted, ...) is logged, counted by streams.Losses, and reported to
	// StreamsConfig.Metrics (package metrics: sioredis_adapter_stream_losses_total{reason}).
	http.Handle("/socket.io/", srv)
	log.Fatal(http.ListenAndServe(":8080", nil))
}
