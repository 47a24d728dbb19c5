package bench

// Cross-server broadcast through Redis: one server of a cluster broadcasts, and 1000 clients on another server of
// the same cluster receive, for each cluster format (classic, sharded on a standalone Redis 7, streams) and each pair of servers (Go or Node sending, Go or Node
// receiving), in the same run. Run it with
//
//	go test -run '^$' -bench ClusterBroadcast -benchtime 1x -timeout 30m ./bench/
//
// Sizes: BENCH_CLUSTER_CONNS (clients on the receiving server, default 1000), BENCH_CLUSTER_LATENCY_MSGS (broadcasts
// for the latency, default 200) sent BENCH_CLUSTER_INTERVAL_MS apart (default 20: 50 000 deliveries/s to 1000
// clients, below what every server here sustains, so that the latency is not a queue's), BENCH_CLUSTER_BURST
// (broadcasts back to back for the throughput, default 200). Latency: from the sending server's emit (its wall clock, carried in the event) to a client's read
// of the packet; both run on this machine. Throughput: deliveries per second to the receiving server's clients,
// from the burst's start to its last delivery.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/loadclient"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// tickLatencies records the latency of the "tick" events a pool receives while on.
type tickLatencies struct {
	on  atomic.Bool
	mu  sync.Mutex
	lat []int64 // microseconds
}

var tickPrefix = []byte(`42["tick",`)

func (t *tickLatencies) onEvent(_ *loadclient.Conn, packet []byte) {
	if !t.on.Load() || !bytes.HasPrefix(packet, tickPrefix) {
		return
	}
	rest := packet[len(tickPrefix):]
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return
	}
	sent, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return
	}
	d := time.Now().UnixMicro() - sent
	t.mu.Lock()
	t.lat = append(t.lat, d)
	t.mu.Unlock()
}

func (t *tickLatencies) percentile(p float64) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lat) == 0 {
		return 0
	}
	s := slices.Clone(t.lat)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(p*float64(len(s))))])
}

func BenchmarkClusterBroadcast(b *testing.B) {
	conns := envInt("BENCH_CLUSTER_CONNS", 1000)
	latencyMsgs := envInt("BENCH_CLUSTER_LATENCY_MSGS", 200)
	burst := envInt("BENCH_CLUSTER_BURST", 200)
	interval := envInt("BENCH_CLUSTER_INTERVAL_MS", 20)
	raiseNoFile(b, conns+64)
	for _, format := range []string{"classic", "sharded", "streams"} {
		for _, pair := range [][2]string{{"node", "node"}, {"go", "go"}, {"go", "node"}, {"node", "go"}} {
			sender, receiver := pair[0], pair[1]
			b.Run(fmt.Sprintf("%s/%s_to_%s_%dClients", format, sender, receiver, conns), func(b *testing.B) {
				rs := testenv.StartRedis(b)
				env := []string{"BENCH_REDIS=" + rs.Addr(), "BENCH_FORMAT=" + format}
				recv := startServer(b, receiver, env...)
				send := startServer(b, sender, env...)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				defer cancel()
				lat := &tickLatencies{}
				pool, err := loadclient.DialWith(ctx, recv.url, conns, dialParallel, loadclient.Options{OnEvent: lat.onEvent})
				if err != nil {
					b.Fatal(err)
				}
				defer pool.Close()
				ctl, err := loadclient.Dial(ctx, send.url, 1, 1)
				if err != nil {
					b.Fatal(err)
				}
				defer ctl.Close()
				broadcast := func(n, interval int) {
					b.Helper()
					args := []json.RawMessage{json.RawMessage(strconv.Itoa(n)), json.RawMessage("100"), json.RawMessage(strconv.Itoa(interval))}
					if _, err := ctl.Conn(0).Call(ctx, "cluster-broadcast", args...); err != nil {
						b.Fatalf("cluster-broadcast: %v\nsender stderr:\n%s", err, send.stderr.String())
					}
				}
				wait := func(want int64, within time.Duration) bool {
					wctx, wcancel := context.WithTimeout(ctx, within)
					defer wcancel()
					return pool.WaitEvents(wctx, want) == nil
				}
				// Until the cluster carries broadcasts from the sender to every client of the receiver.
				for try := 0; ; try++ {
					base := pool.Events()
					broadcast(1, 0)
					if wait(base+int64(conns), 2*time.Second) {
						break
					}
					if try == 10 {
						b.Fatalf("the receiver's clients got %d of %d warm-up broadcasts", pool.Events()-base, conns)
					}
				}
				time.Sleep(200 * time.Millisecond)

				base := pool.Events()
				lat.on.Store(true)
				broadcast(latencyMsgs, interval)
				if !wait(base+int64(conns*latencyMsgs), time.Minute) {
					b.Fatalf("latency phase: %d of %d deliveries", pool.Events()-base, conns*latencyMsgs)
				}
				lat.on.Store(false)

				base = pool.Events()
				start := time.Now()
				broadcast(burst, 0)
				if !wait(base+int64(conns*burst), 5*time.Minute) {
					b.Fatalf("burst: %d of %d deliveries", pool.Events()-base, conns*burst)
				}
				elapsed := time.Since(start)
				recv.alive(b)
				send.alive(b)
				b.ReportMetric(lat.percentile(0.50)/1000, "p50-ms")
				b.ReportMetric(lat.percentile(0.99)/1000, "p99-ms")
				b.ReportMetric(float64(conns*burst)/elapsed.Seconds(), "delivered/s")
			})
		}
	}
}
