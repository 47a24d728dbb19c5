package emitter_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
		if _, err := room.Emit(ctx, "my_event_name", benchArg); err != nil {
			b.Fatal(err)
		}
	}
}

// benchmarkInFlight is c goroutines emitting through one emitter, b.N
// emits in all: at most c emits in flight, as in the whole-system benchmark
// (bench.BenchmarkThroughput_PublishRoom), whatever GOMAXPROCS is.
func benchmarkInFlight(b *testing.B, c int) {
	srv := testenv.StartRedis(b)
	var batches batchCounter
	e, err := emitter.New(srv.Client(b), emitter.WithMetrics(&batches))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var next atomic.Int64
	n := int64(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU(b, srv.Client(b))
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			room := e.To("room_777")
			for next.Add(1) <= n {
				if _, err := room.Emit(ctx, "my_event_name", benchArg); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	cpu.report(b)
	if r := batches.rounds.Load(); r > 0 {
		b.ReportMetric(float64(batches.cmds.Load())/float64(r), "cmds/roundtrip")
	}
}

// batchCounter counts the emitter's round trips and the commands they
// carry.
type batchCounter struct{ rounds, cmds atomic.Int64 }

func (*batchCounter) Published(emitter.Mode, int, int) {}
func (*batchCounter) PublishFailed(emitter.Mode)       {}
func (*batchCounter) NotDurable(emitter.Mode)          {}
func (c *batchCounter) Batch(size int)                 { c.rounds.Add(1); c.cmds.Add(int64(size)) }

// BenchmarkEmit_Parallel16 is 16 emits in flight: automatic pipelining
// shares round trips between the goroutines.
func BenchmarkEmit_Parallel16(b *testing.B) { benchmarkInFlight(b, 16) }

// BenchmarkEmit_Parallel64 is 64 emits in flight.
func BenchmarkEmit_Parallel64(b *testing.B) { benchmarkInFlight(b, 64) }

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

// cpuMeter measures the CPU time this process and the redis-server spend
// during a benchmark: on a shared machine, CPU per emit varies far less
// than wall time.
type cpuMeter struct {
	rdb         *redis.Client
	self, redis time.Duration
}

func startCPU(b *testing.B, rdb *redis.Client) *cpuMeter {
	m := &cpuMeter{rdb: rdb}
	m.self, m.redis = testenv.ProcessCPU(b), testenv.RedisCPU(b, rdb)
	return m
}

// report adds the CPU time per operation since startCPU to b's metrics.
func (m *cpuMeter) report(b *testing.B) {
	self, srv := testenv.ProcessCPU(b)-m.self, testenv.RedisCPU(b, m.rdb)-m.redis
	b.ReportMetric(float64(self.Nanoseconds())/float64(b.N), "go-cpu-ns/op")
	b.ReportMetric(float64(srv.Nanoseconds())/float64(b.N), "redis-cpu-ns/op")
}
