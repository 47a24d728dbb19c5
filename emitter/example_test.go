package emitter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/pubsub"
)

// A chat message saved by an HTTP handler reaches every client in room
// room_777 of the main namespace, through the Node.js servers of the cluster.
// Here a subscriber stands in for those servers and shows what they receive.
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr}) // a real redis-server started by TestMain
	defer rdb.Close()
	servers, err := pubsub.Subscribe(ctx, rdb, pubsub.Patterns("socket.io#/#*")) // what Node servers subscribe to
	if err != nil {
		panic(err)
	}
	defer servers.Close()

	io, err := emitter.New(rdb)
	if err != nil {
		panic(err)
	}
	type Message struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
		Body      string    `json:"body"`
	}
	msg := Message{ID: "message_id", CreatedAt: time.Date(2017, 12, 19, 14, 0, 0, 0, time.UTC), Body: "message_body"}
	if _, err := io.To("room_777").Emit(ctx, "my_event_name", msg); err != nil {
		fmt.Println("not delivered:", err)
		return
	}

	m := <-servers.C()
	decoded, err := protocol.DecodeClassicBroadcast([]byte(m.Payload))
	if err != nil {
		panic(err)
	}
	args, _ := json.Marshal(decoded.Args)
	fmt.Println(m.Channel)
	fmt.Println(decoded.UID, decoded.Nsp, decoded.Rooms, decoded.Event)
	fmt.Println(string(args))
	// Output:
	// socket.io#/#room_777#
	// emitter / [room_777] my_event_name
	// [{"id":"message_id","created_at":"2017-12-19T14:00:00.000Z","body":"message_body"}]
}

// Operators return new emitters: a base emitter can be shared and refined
// per request.
func ExampleEmitter_To() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	io, _ := emitter.New(rdb)
	admin := io.Of("/admin")
	oncall := admin.To("ops", "oncall").Except("muted")
	fmt.Println(admin.Namespace(), oncall.Namespace(), io.Namespace())
	// Output: /admin /admin /
}

// Bad input is reported before anything is sent to Redis, with errors the
// caller can test.
func ExampleEmitter_Emit_errors() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never reached
	defer rdb.Close()
	io, _ := emitter.New(rdb)
	ctx := context.Background()

	_, err := io.Emit(ctx, "disconnect")
	fmt.Println(errors.Is(err, emitter.ErrReservedEvent))
	_, err = io.Of("/chat*").Emit(ctx, "message")
	fmt.Println(errors.Is(err, emitter.ErrInvalidNamespace))
	_, err = io.Emit(ctx, "message", make(chan int))
	fmt.Println(errors.Is(err, emitter.ErrUnsupportedValue))
	_, err = io.Emit(ctx, "message", []byte("binary is fine"))
	fmt.Println(err != nil) // only because nothing listens on port 1
	// Output:
	// true
	// true
	// true
	// true
}

// Sharded clusters (createShardedAdapter) read SPUBLISH messages; the
// emitter takes any go-redis client, here a Redis Cluster client.
func ExampleWithMode() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"}})
	defer rdb.Close()
	io, err := emitter.New(rdb, emitter.WithMode(emitter.Sharded), emitter.WithSubscriptionMode(emitter.SubscriptionDynamic))
	if err != nil {
		panic(err)
	}
	_, _ = io.To("room_777").Emit(context.Background(), "news", "hello")
}
