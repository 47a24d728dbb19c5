package emitter_test

import (
	"context"
	"testing"
	"time"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

type benchMessage struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Body      string    `json:"body"`
}

var benchArg = &benchMessage{ID: "message_id", CreatedAt: time.Date(2017, 12, 19, 14, 0, 0, 0, time.UTC), Body: "message_body"}

// BenchmarkEmit_Sequential is one goroutine emitting to a room of a real
// redis-server: one round trip per emit.
func BenchmarkEmit_Sequential(b *testing.B) {
	srv := testenv.StartRedis(b)
	e, err := emitter.New(srv.Client(b))
	if err != nil {
		b.Fatal(err)
	}
	room := e.To("room_777")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := room.Emit(ctx, "my_event_name", benchArg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmit_Parallel64 is 64 goroutines emitting through one emitter;
// automatic pipelining shares round trips between them.
func BenchmarkEmit_Parallel64(b *testing.B) {
	srv := testenv.StartRedis(b)
	e, err := emitter.New(srv.Client(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32) // × GOMAXPROCS goroutines
	b.RunParallel(func(pb *testing.PB) {
		room := e.To("room_777")
		for pb.Next() {
			if err := room.Emit(ctx, "my_event_name", benchArg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPublish_GoRedisBaseline is the bare go-redis PUBLISH of an
// already-encoded message: the client's own cost, to subtract from
// BenchmarkEmit_Sequential when counting the emitter's allocations.
func BenchmarkPublish_GoRedisBaseline(b *testing.B) {
	srv := testenv.StartRedis(b)
	rdb := srv.Client(b)
	ctx := context.Background()
	msg := make([]byte, 120)
	b.ReportAllocs()
	for b.Loop() {
		if err := rdb.Publish(ctx, "socket.io#/#room_777#", msg).Err(); err != nil {
			b.Fatal(err)
		}
	}
}
