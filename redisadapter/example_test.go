package redisadapter_test

import (
	"context"
	"log"
	"net/http"

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
