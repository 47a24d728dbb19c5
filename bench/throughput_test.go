// Package bench holds the whole-system benchmarks: real redis-server, the
// official Node emitter and redis-benchmark measured in the same run as our
// emitter. Run them with
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/
//
// (BENCH_N, BENCH_CONCURRENCY and BENCH_PAYLOAD override the sizes.)
package bench

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/protocol"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envList(name string, def []int) []int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && v > 0 {
			out = append(out, v)
		}
	}
	return out
}

type payload struct {
	Body string `json:"body"`
}

// goEmitter publishes n emits of the same event with c goroutines, each
// doing what a handler does: To(room).Emit(...).
func goEmitter(b *testing.B, addr string, n, c, size int) float64 {
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: c, MinIdleConns: c})
	defer rdb.Close()
	e, err := emitter.New(rdb)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	body := payload{Body: strings.Repeat("x", size)}
	// Warm the connection pool so that dialing is not measured.
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() { _ = rdb.Ping(ctx).Err() })
	}
	wg.Wait()
	var next atomic.Int64
	var failed atomic.Value
	start := time.Now()
	for range c {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := e.To("room_777").Emit(ctx, "my_event_name", body); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return float64(n) / elapsed.Seconds()
}

// nodeEmitter runs the official @socket.io/redis-emitter with at most c
// commands in flight on its connection (node-redis pipelines them).
func nodeEmitter(b *testing.B, addr string, n, c, size int) float64 {
	out := testenv.RunNode(b, "bench-emitter.js", "--redis", addr, "--n", strconv.Itoa(n),
		"--concurrency", strconv.Itoa(c), "--payload-bytes", strconv.Itoa(size))
	var r struct {
		EmitsPerSec float64 `json:"emits_per_sec"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("bench-emitter.js output %q: %v", out, err)
	}
	return r.EmitsPerSec
}

// redisBenchmark sends the very PUBLISH command (same channel, same bytes)
// with c connections, one command in flight on each (pipeline 1), or with
// pipeline > 1 on one connection that keeps that many in flight: the rate
// Redis itself accepts, the physical limit.
func redisBenchmark(b *testing.B, port, n, c, pipeline, size int) float64 {
	op := &protocol.Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{payload{Body: strings.Repeat("x", size)}}}
	msg, err := protocol.AppendClassicBroadcast(nil, protocol.EmitterUID, op, false)
	if err != nil {
		b.Fatal(err)
	}
	if strings.IndexByte(string(msg), 0) >= 0 {
		b.Fatal("the payload has a NUL byte and cannot be passed on redis-benchmark's command line")
	}
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		b.Fatal("redis-benchmark not found: apt-get install redis-tools")
	}
	cmd := exec.Command(bin, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-n", strconv.Itoa(n), "-c", strconv.Itoa(c),
		"-P", strconv.Itoa(pipeline), "--csv", "publish", protocol.BroadcastChannel("socket.io", "/", []string{"room_777"}), string(msg))
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("redis-benchmark: %v", err)
	}
	records, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(records) < 2 {
		b.Fatalf("redis-benchmark output %q: %v", out, err)
	}
	rps, err := strconv.ParseFloat(records[1][1], 64)
	if err != nil {
		b.Fatalf("redis-benchmark output %q: %v", out, err)
	}
	return rps
}

// BenchmarkThroughput_PublishRoom compares emits per second of this
// emitter, the official Node emitter and redis-benchmark, against the same
// real redis-server, same payload, same concurrency, in the same run:
// redis-benchmark -c c (c connections, one PUBLISH in flight on each) and
// redis-benchmark -c 1 -P c (c PUBLISHes in flight on one connection, the
// pipelined rate Redis accepts).
func BenchmarkThroughput_PublishRoom(b *testing.B) {
	n := envInt("BENCH_N", 100000)
	size := envInt("BENCH_PAYLOAD", 100)
	srv := testenv.StartRedis(b)
	port, _ := strconv.Atoi(srv.Addr()[strings.LastIndexByte(srv.Addr(), ':')+1:])
	for _, c := range envList("BENCH_CONCURRENCY", []int{1, 16, 64}) {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			for b.Loop() {
				goRate := goEmitter(b, srv.Addr(), n, c, size)
				nodeRate := nodeEmitter(b, srv.Addr(), n, c, size)
				redisRate := redisBenchmark(b, port, n, c, 1, size)
				pipelinedRate := redisBenchmark(b, port, n, 1, c, size)
				b.ReportMetric(goRate, "go-emits/s")
				b.ReportMetric(nodeRate, "node-emits/s")
				b.ReportMetric(redisRate, "redis-benchmark-publish/s")
				b.ReportMetric(pipelinedRate, "redis-benchmark-P-publish/s")
				b.ReportMetric(goRate/nodeRate, "go/node")
				b.ReportMetric(goRate/redisRate, "go/redis-benchmark")
				b.ReportMetric(goRate/pipelinedRate, "go/redis-benchmark-P")
				b.Logf("| %d | %d B | %.0f | %.0f | %.0f | %.0f | %.2f× | %.0f%% | %.2f× | GOMAXPROCS=%d",
					c, size, goRate, nodeRate, redisRate, pipelinedRate, goRate/nodeRate, 100*goRate/redisRate,
					goRate/pipelinedRate, runtime.GOMAXPROCS(0))
			}
		})
	}
}
