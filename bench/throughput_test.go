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

// rate is what one client measured: emits per second and the CPU time it
// spent per emit (0 when unknown). On a shared machine the CPU per emit
// varies much less between runs than the rate.
type rate struct {
	perSec     float64
	cpuPerEmit time.Duration
}

// goEmitter publishes n emits of the same event with c goroutines, each
// doing what a handler does: To(room).Emit(...).
func goEmitter(b *testing.B, addr string, n, c, size int) rate {
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
	cpu := testenv.ProcessCPU(b)
	start := time.Now()
	for range c {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, err := e.To("room_777").Emit(ctx, "my_event_name", body); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu = testenv.ProcessCPU(b) - cpu
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return rate{float64(n) / elapsed.Seconds(), cpu / time.Duration(n)}
}

// nodeEmitter runs the official @socket.io/redis-emitter with at most c
// commands in flight on its connection (node-redis pipelines them).
func nodeEmitter(b *testing.B, addr string, n, c, size int) rate {
	out := testenv.RunNode(b, "bench-emitter.js", "--redis", addr, "--n", strconv.Itoa(n),
		"--concurrency", strconv.Itoa(c), "--payload-bytes", strconv.Itoa(size))
	var r struct {
		EmitsPerSec   float64 `json:"emits_per_sec"`
		CPUMicrosEmit float64 `json:"cpu_us_per_emit"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("bench-emitter.js output %q: %v", out, err)
	}
	return rate{r.EmitsPerSec, time.Duration(r.CPUMicrosEmit * float64(time.Microsecond))}
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
	admin := srv.Client(b)
	// redisPerEmit runs f and returns redis-server's CPU time per emit
	// meanwhile.
	redisPerEmit := func(f func()) time.Duration {
		before := testenv.RedisCPU(b, admin)
		f()
		return (testenv.RedisCPU(b, admin) - before) / time.Duration(n)
	}
	for _, c := range envList("BENCH_CONCURRENCY", []int{1, 16, 64}) {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			for b.Loop() {
				var goRate, nodeRate rate
				goRedis := redisPerEmit(func() { goRate = goEmitter(b, srv.Addr(), n, c, size) })
				nodeRedis := redisPerEmit(func() { nodeRate = nodeEmitter(b, srv.Addr(), n, c, size) })
				redisRate := redisBenchmark(b, port, n, c, 1, size)
				pipelinedRate := redisBenchmark(b, port, n, 1, c, size)
				us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
				b.ReportMetric(goRate.perSec, "go-emits/s")
				b.ReportMetric(nodeRate.perSec, "node-emits/s")
				b.ReportMetric(redisRate, "redis-benchmark-publish/s")
				b.ReportMetric(pipelinedRate, "redis-benchmark-P-publish/s")
				b.ReportMetric(goRate.perSec/nodeRate.perSec, "go/node")
				b.ReportMetric(goRate.perSec/redisRate, "go/redis-benchmark")
				b.ReportMetric(goRate.perSec/pipelinedRate, "go/redis-benchmark-P")
				b.ReportMetric(us(goRate.cpuPerEmit), "go-cpu-us/emit")
				b.ReportMetric(us(nodeRate.cpuPerEmit), "node-cpu-us/emit")
				b.ReportMetric(us(goRedis), "redis-cpu-us/go-emit")
				b.ReportMetric(us(nodeRedis), "redis-cpu-us/node-emit")
				b.Logf("| %d | %d B | %.0f | %.0f | %.0f | %.0f | %.2f× | %.0f%% | %.2f× | CPU µs/emit: Go %.2f + Redis %.2f, Node %.2f + Redis %.2f | GOMAXPROCS=%d",
					c, size, goRate.perSec, nodeRate.perSec, redisRate, pipelinedRate, goRate.perSec/nodeRate.perSec,
					100*goRate.perSec/redisRate, goRate.perSec/pipelinedRate,
					us(goRate.cpuPerEmit), us(goRedis), us(nodeRate.cpuPerEmit), us(nodeRedis), runtime.GOMAXPROCS(0))
			}
		})
	}
}
