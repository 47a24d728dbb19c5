package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

const benchKey = "sk_bench_0123456789abcdef"

// apiEmits sends n emits to room_777 through the HTTP emit API, from c goroutines, batch emits per request
// (batch 1: POST /v1/emit; more: POST /v1/emit/batch). It returns emits per second.
func apiEmits(b *testing.B, url string, n, c, batch, size int) float64 {
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}}
	defer cl.CloseIdleConnections()
	one := fmt.Sprintf(`{"rooms":["room_777"],"event":"my_event_name","args":[{"body":%q}]}`, strings.Repeat("x", size))
	path, body := "/v1/emit", one
	if batch > 1 {
		path, body = "/v1/emit/batch", `{"emits":[`+strings.TrimSuffix(strings.Repeat(one+",", batch), ",")+`]}`
	}
	send := func() error {
		req, _ := http.NewRequest("POST", url+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+benchKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := cl.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %d", path, res.StatusCode)
		}
		return nil
	}
	var wg sync.WaitGroup
	for range c { // warm the connections
		wg.Go(func() { _ = send() })
	}
	wg.Wait()
	requests := int64(max(1, n/batch))
	var next atomic.Int64
	var failed atomic.Value
	start := time.Now()
	for range c {
		wg.Go(func() {
			for next.Add(1) <= requests {
				if err := send(); err != nil {
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
	return float64(requests*int64(batch)) / elapsed.Seconds()
}

// BenchmarkEmitAPI measures emits/s through "sioredis api" (the command, in a process of its own; single emits
// and batches, over real HTTP on loopback, no rate limit) against the emitter used directly, in the same run on
// the same Redis. BENCH_N, BENCH_CONCURRENCY, BENCH_PAYLOAD and BENCH_BATCH (default 100) set the sizes.
func BenchmarkEmitAPI(b *testing.B) {
	n := envInt("BENCH_N", 50000)
	size := envInt("BENCH_PAYLOAD", 100)
	batch := envInt("BENCH_BATCH", 100)
	srv := testenv.StartRedis(b)
	// The API as its users run it: the sioredis api command, in a process of its own.
	args := []string{"api", "--addr", "127.0.0.1:0", "--redis", srv.URL(), "--mode", "classic", "--key-rate", "0", "--ip-rate", "0",
		"--max-batch", strconv.Itoa(max(batch, 1000))}
	api := testenv.StartSioredis(b, testenv.SioredisConfig{Args: args, Env: []string{"SIOREDIS_API_KEYS=bench " + benchKey}})
	hs := struct{ URL string }{strings.TrimSuffix(api.URL, "/v1/")}
	for _, c := range envList("BENCH_CONCURRENCY", []int{1, 16, 64}) {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			for b.Loop() {
				direct := goEmitter(b, srv.Addr(), n, c, size).perSec
				single := apiEmits(b, hs.URL, n/10, c, 1, size)
				batched := apiEmits(b, hs.URL, n, c, batch, size)
				b.ReportMetric(direct, "emitter-emits/s")
				b.ReportMetric(single, "api-emits/s")
				b.ReportMetric(batched, "api-batch-emits/s")
				b.Logf("| %d | %d B | %.0f | %.0f | %.0f (batch %d) | %.2f× | %.2f× |", c, size, direct, single, batched, batch,
					single/direct, batched/direct)
			}
		})
	}
}
