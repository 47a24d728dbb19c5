package bench

// The chat application end to end (mission step 4): HTTP POSTs to "sioredis chat --redis" (a process of its
// own, SQLite on disk with full synchronous commits), each message saved, published through a real redis-server,
// and delivered to listeners in room_777 connected to a Node socket.io 4.8 server (@socket.io/redis-adapter) and
// to the chat's own Go server, in the same run. Run it with
//
//	go test -run '^$' -bench Chat -benchtime 1x ./bench/
//
// Sizes: BENCH_CHAT_MSGS (messages per round, default 2000), BENCH_CHAT_LISTENERS (per server, 100),
// BENCH_CHAT_CONCURRENCY (POSTs in flight, one round each, default 1,16). BENCH_CHAT_CPUPROFILE=FILE makes the
// chat process write a CPU profile of the whole run.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/loadclient"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

func startChat(b *testing.B, args ...string) *testenv.Sioredis {
	b.Helper()
	return testenv.StartSioredis(b, testenv.SioredisConfig{Args: append([]string{"chat", "--addr", "127.0.0.1:0"}, args...)})
}

// listeners are Socket.IO connections in room_777 that time each message from its POST (whose body is the
// POST's start time in Unix nanoseconds) to its arrival.
type listeners struct {
	pool     *loadclient.Pool
	received atomic.Int64
	mu       sync.Mutex
	delays   []time.Duration
}

var bodyField = []byte(`"body":"`)

func dialListeners(b *testing.B, url string, n int) *listeners {
	b.Helper()
	l := &listeners{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	l.pool, err = loadclient.DialWith(ctx, url, n, dialParallel, loadclient.Options{
		Query: "rooms=room_777",
		OnEvent: func(c *loadclient.Conn, packet []byte) {
			now := time.Now()
			if !bytes.HasPrefix(packet, []byte(`42["message",`)) {
				return // the Node test server's "__joined"
			}
			i := bytes.Index(packet, bodyField)
			if i < 0 {
				return
			}
			rest := packet[i+len(bodyField):]
			sent, err := strconv.ParseInt(string(rest[:bytes.IndexByte(rest, '"')]), 10, 64)
			if err != nil {
				return
			}
			l.mu.Lock()
			l.delays = append(l.delays, now.Sub(time.Unix(0, sent)))
			l.mu.Unlock()
			l.received.Add(1)
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.pool.Close)
	return l
}

func (l *listeners) wait(b *testing.B, n int64) {
	b.Helper()
	for deadline := time.Now().Add(2 * time.Minute); l.received.Load() < n; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("listeners received %d of %d messages", l.received.Load(), n)
		}
	}
}

func (l *listeners) reset() {
	l.mu.Lock()
	l.delays = l.delays[:0]
	l.mu.Unlock()
	l.received.Store(0)
}

func (l *listeners) quantiles() (p50, p99 time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.delays)
	return l.delays[len(l.delays)/2], l.delays[len(l.delays)*99/100]
}

// postAll posts n messages from conc goroutines and returns the POST latencies; every answer must be 201.
func postAll(b *testing.B, url string, n, conc int) []time.Duration {
	b.Helper()
	return postSpread(b, []string{url}, n, conc)
}

// postSpread is postAll with the POSTs spread over several instances, in turn.
func postSpread(b *testing.B, urls []string, n, conc int) []time.Duration {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}, Timeout: 30 * time.Second}
	var next atomic.Int64
	lat := make([][]time.Duration, conc)
	errs := make([]error, conc)
	var wg sync.WaitGroup
	for g := range conc {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				url := urls[int(i)%len(urls)]
				start := time.Now()
				body := `{"room":"room_777","author":"bench","body":"` + strconv.FormatInt(start.UnixNano(), 10) + `"}`
				res, err := client.Post(url+"/api/messages", "application/json", strings.NewReader(body))
				if err != nil {
					errs[g] = err
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					errs[g] = fmt.Errorf("POST answered %s", res.Status)
					return
				}
				lat[g] = append(lat[g], time.Since(start))
			}
		})
	}
	wg.Wait()
	client.CloseIdleConnections()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return slices.Concat(lat...)
}

func BenchmarkChat(b *testing.B) {
	msgs := envInt("BENCH_CHAT_MSGS", 2000)
	per := envInt("BENCH_CHAT_LISTENERS", 100)
	concs := envList("BENCH_CHAT_CONCURRENCY", []int{1, 16})
	raiseNoFile(b, 2*per)
	for b.Loop() {
		rs := testenv.StartRedis(b)
		node := testenv.StartNodeServer(b, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()}})
		args := []string{"--db", filepath.Join(b.TempDir(), "chat.db"), "--redis", rs.URL()}
		if f := os.Getenv("BENCH_CHAT_CPUPROFILE"); f != "" {
			args = append(args, "--cpuprofile", f)
		}
		chat := startChat(b, args...)
		ls := map[string]*listeners{"node": dialListeners(b, node.URL(), per), "go": dialListeners(b, chat.URL, per)}
		// Warm-up, and proof that every listener has joined the room.
		postAll(b, chat.URL, 1, 1)
		for _, l := range ls {
			l.wait(b, int64(per))
			l.reset()
		}
		for _, conc := range concs {
			chatCPU0, nodeCPU0 := procCPU(b, chat.Pid()), procCPU(b, node.Pid())
			start := time.Now()
			lat := postAll(b, chat.URL, msgs, conc)
			posting := time.Since(start)
			for _, l := range ls {
				l.wait(b, int64(msgs*per))
			}
			chatCPU, nodeCPU := procCPU(b, chat.Pid())-chatCPU0, procCPU(b, node.Pid())-nodeCPU0
			slices.Sort(lat)
			goP50, goP99 := ls["go"].quantiles()
			nodeP50, nodeP99 := ls["node"].quantiles()
			b.Logf("%d POSTs, %d in flight: %.0f/s, POST p50 %v p99 %v; delivered to %d listeners each on: "+
				"the Go chat server p50 %v p99 %v, the Node server p50 %v p99 %v; "+
				"chat process CPU %v (%.0f µs/message), Node server CPU %v (%.1f µs/delivery)",
				msgs, conc, float64(msgs)/posting.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100], per,
				goP50, goP99, nodeP50, nodeP99,
				chatCPU, float64(chatCPU.Microseconds())/float64(msgs), nodeCPU, float64(nodeCPU.Microseconds())/float64(msgs*per))
			b.ReportMetric(float64(msgs)/posting.Seconds(), fmt.Sprintf("posts/s@%d", conc))
			for _, l := range ls {
				l.reset()
			}
		}
	}
}

// BenchmarkChatPostgres is BenchmarkChat with three "sioredis chat" instances on one PostgreSQL database (started
// by the benchmark, fsync on) and one Redis, the POSTs spread over the three in turn; the listeners are on the
// Node server and on the first instance's Go server (the publishing instance is whichever holds the outbox).
// Same sizes (BENCH_CHAT_*); BENCH_CHAT_CONCURRENCY defaults to 1,16,64 here.
//
//	go test -run '^$' -bench ChatPostgres -benchtime 1x ./bench/
func BenchmarkChatPostgres(b *testing.B) {
	msgs := envInt("BENCH_CHAT_MSGS", 2000)
	per := envInt("BENCH_CHAT_LISTENERS", 100)
	concs := envList("BENCH_CHAT_CONCURRENCY", []int{1, 16, 64})
	raiseNoFile(b, 2*per)
	for b.Loop() {
		rs := testenv.StartRedis(b)
		pg := testenv.StartPostgres(b)
		node := testenv.StartNodeServer(b, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()}})
		var urls []string
		for range 3 {
			urls = append(urls, startChat(b, "--db", pg.URL(), "--redis", rs.URL()).URL)
		}
		ls := map[string]*listeners{"node": dialListeners(b, node.URL(), per), "go": dialListeners(b, urls[0], per)}
		postSpread(b, urls, 3, 1) // warm-up through each instance, and proof that every listener has joined the room
		for _, l := range ls {
			l.wait(b, int64(3*per))
			l.reset()
		}
		for _, conc := range concs {
			start := time.Now()
			lat := postSpread(b, urls, msgs, conc)
			posting := time.Since(start)
			for _, l := range ls {
				l.wait(b, int64(msgs*per))
			}
			slices.Sort(lat)
			goP50, goP99 := ls["go"].quantiles()
			nodeP50, nodeP99 := ls["node"].quantiles()
			b.Logf("3 instances on PostgreSQL: %d POSTs, %d in flight: %.0f/s, POST p50 %v p99 %v; POST → delivery to %d listeners each on: "+
				"a chat instance's Go server p50 %v p99 %v, the Node server p50 %v p99 %v",
				msgs, conc, float64(msgs)/posting.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100], per, goP50, goP99, nodeP50, nodeP99)
			b.ReportMetric(float64(msgs)/posting.Seconds(), fmt.Sprintf("posts/s@%d", conc))
			for _, l := range ls {
				l.reset()
			}
		}
	}
}
