package redisadapter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// lossRecorder is a redisadapter.Metrics keeping what a streams transport reports, and a logger keeping its log
// lines.
type lossRecorder struct {
	mu         sync.Mutex
	losses     map[redisadapter.StreamLoss]int // StreamEntriesLost calls
	entries    map[redisadapter.StreamLoss]int // their entries
	lostCalls  int                             // MessagesLost calls
	notDurable int

	logs syncBuffer
}

func newLossRecorder() *lossRecorder {
	return &lossRecorder{losses: map[redisadapter.StreamLoss]int{}, entries: map[redisadapter.StreamLoss]int{}}
}

func (r *lossRecorder) MessageSent(string)     {}
func (r *lossRecorder) Receivers(string, int)  {}
func (r *lossRecorder) MessageReceived(string) {}
func (r *lossRecorder) RedisError(string)      {}
func (r *lossRecorder) MessagesLost(format string) {
	r.mu.Lock()
	r.lostCalls++
	r.mu.Unlock()
}

func (r *lossRecorder) NotDurable(string) {
	r.mu.Lock()
	r.notDurable++
	r.mu.Unlock()
}

func (r *lossRecorder) StreamEntriesLost(reason redisadapter.StreamLoss, entries int) {
	r.mu.Lock()
	r.losses[reason]++
	r.entries[reason] += entries
	r.mu.Unlock()
}

// counts returns the losses reported for reason, and their entries.
func (r *lossRecorder) counts(reason redisadapter.StreamLoss) (losses, entries int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.losses[reason], r.entries[reason]
}

// total returns every loss reported, whatever the reason.
func (r *lossRecorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.losses {
		n += c
	}
	return n
}

func (r *lossRecorder) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(&r.logs, nil)) }

// lossLines returns the error lines logged for losses of reason.
func (r *lossRecorder) lossLines(t *testing.T, reason redisadapter.StreamLoss) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["level"] == "ERROR" && (m["reason"] == reason.String() || reason == redisadapter.LossOversized && m["limit"] != nil) {
			out = append(out, m)
		}
	}
	return out
}

// checkReported checks that every loss counted was reported once to Metrics (MessagesLost with it) and logged
// once.
func (r *lossRecorder) checkReported(t *testing.T, sa *redisadapter.StreamsAdapter) {
	t.Helper()
	total := 0
	for reason := redisadapter.LossTrimmed; reason <= redisadapter.LossOversized; reason++ {
		n, _ := r.counts(reason)
		if got := sa.Losses(reason); uint64(n) != got {
			t.Errorf("%v: %d reported to Metrics, Losses says %d", reason, n, got)
		}
		if lines := r.lossLines(t, reason); len(lines) != n {
			t.Errorf("%v: %d reported, %d logged:\n%s", reason, n, len(lines), r.logs.String())
		}
		total += n
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lostCalls < total { // more with the gaps of the pub/sub subscription
		t.Errorf("MessagesLost called %d times for %d losses", r.lostCalls, total)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// numbers returns the first arguments of client c's events ev as numbers, in the order received.
func numbers(t *testing.T, clients *testenv.Clients, c, ev string) []int {
	t.Helper()
	var out []int
	for _, a := range clients.FirstArgs(c, ev) {
		i, err := strconv.Atoi(a)
		if err != nil {
			t.Fatalf("%s: %s(%s)", c, ev, a)
		}
		out = append(out, i)
	}
	return out
}

// redisStat returns a field of INFO stats.
func redisStat(ctx context.Context, t *testing.T, rdb *redis.Client, field string) int {
	t.Helper()
	info, err := rdb.Info(ctx, "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("INFO stats has no %s", field)
	return 0
}

// TestStreamsEvictionReported: Redis with maxmemory and allkeys-lru evicts the stream key during a burst of
// broadcasts (the emitter, Streams mode, 3000 of 2 KB): the Go server reports each eviction once (LossReset:
// Metrics, Losses, one error line), its client misses no broadcast but what the evicted streams held unread, gets
// the others in order and once, and everything after the last eviction.
func TestStreamsEvictionReported(t *testing.T) {
	rs := testenv.StartRedis(t, testenv.RedisArgs("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"))
	rec := newLossRecorder()
	g, sa := startGoStreamsServer(t, rs.Addr(), "g", redisadapter.StreamsConfig{Metrics: rec, Logger: rec.logger()}, socketio.Config{})
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: g.url, Rooms: []string{"r"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rdb := rs.Client(t)
	em, err := emitter.New(rdb, emitter.WithMode(emitter.Streams))
	if err != nil {
		t.Fatal(err)
	}
	const total = 3000
	payload := strings.Repeat("x", 2000)
	for i := range total {
		if _, err := em.To("r").Emit(ctx, "n", i, payload); err != nil {
			t.Fatalf("broadcast %d: %v", i, err)
		}
	}
	if _, err := em.To("r").Emit(ctx, "done"); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.WaitEvent(ctx, "c", testenv.EventNamed("done")); err != nil {
		t.Fatalf("the broadcast after the evictions: %v", err)
	}
	evicted := redisStat(ctx, t, rdb, "evicted_keys")
	if evicted == 0 {
		t.Fatal("Redis evicted nothing: the test did not test")
	}
	got := numbers(t, clients, "c", "n")
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("broadcast %d after %d", got[i], got[i-1])
		}
	}
	lost := total - len(got)
	resets, _ := rec.counts(redisadapter.LossReset)
	t.Logf("%d evictions of the stream; %d of %d broadcasts lost for the Go server's client; %d losses reported", evicted, lost, total, resets)
	if resets != evicted {
		t.Errorf("%d evictions, %d reported", evicted, resets)
	}
	if rec.total() != resets {
		t.Errorf("losses reported other than the evictions: %d in all", rec.total())
	}
	rec.checkReported(t, sa)
	for _, line := range rec.lossLines(t, redisadapter.LossReset) {
		if line["stream"] != "socket.io" || line["last_read"] == nil {
			t.Errorf("log line without its attributes: %v", line)
		}
	}
}

// TestStreamsAheadOfTheStream: a broadcast entry with an id in the future (9999999999999-0: written by hand, or
// by a Redis whose clock jumped) is read, then the stream is replaced: once by a DEL and XADD in one transaction,
// once by a restart of Redis without persistence before new broadcasts. The Go server's reader, whose last id is
// now above everything the new stream will hold for centuries, reports it (LossAhead, or LossReset when it saw the
// key missing first) and reads the new stream from its start: its client gets every broadcast, in order, once.
func TestStreamsAheadOfTheStream(t *testing.T) {
	rs := testenv.StartRedis(t)
	rec := newLossRecorder()
	g, sa := startGoStreamsServer(t, rs.Addr(), "g", redisadapter.StreamsConfig{Metrics: rec, Logger: rec.logger()}, socketio.Config{})
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: g.url, Rooms: []string{"r"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1})
	defer rdb.Close()
	em, err := emitter.New(rdb, emitter.WithMode(emitter.Streams))
	if err != nil {
		t.Fatal(err)
	}
	unread, err := emitter.New(rdb, emitter.WithMode(emitter.Streams), emitter.WithPrefix("unread"))
	if err != nil {
		t.Fatal(err)
	}
	// entry returns the fields of a broadcast of tag to room r, as the emitter writes them (into a stream that
	// nobody reads).
	entry := func(tag string) map[string]any {
		t.Helper()
		rc, err := unread.To("r").Emit(ctx, "ev", tag)
		if err != nil {
			t.Fatal(err)
		}
		es, err := rdb.XRange(ctx, rc.Channel, rc.EntryID, rc.EntryID).Result()
		if err != nil || len(es) != 1 {
			t.Fatalf("%v %v", es, err)
		}
		return es[0].Values
	}
	var want []string
	received := func(tag string) {
		t.Helper()
		want = append(want, strconv.Quote(tag))
		if _, err := clients.WaitEvents(ctx, "c", len(want), testenv.EventNamed("ev")); err != nil {
			t.Fatalf("%s not received: %v", tag, err)
		}
	}
	if _, err := em.To("r").Emit(ctx, "ev", "before"); err != nil {
		t.Fatal(err)
	}
	received("before")
	const future = "9999999999999-0"
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "socket.io", ID: future, Values: entry("future-1")}).Err(); err != nil {
		t.Fatal(err)
	}
	received("future-1")

	// Replaced in one transaction: the reader never sees the key missing.
	after := entry("after-replace")
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, "socket.io")
		p.XAdd(ctx, &redis.XAddArgs{Stream: "socket.io", Values: after})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	received("after-replace")
	if n, _ := rec.counts(redisadapter.LossAhead); n != 1 {
		t.Errorf("%d LossAhead reported after the stream was replaced, want 1", n)
	}

	// Redis restarted without persistence.
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "socket.io", ID: future, Values: entry("future-2")}).Err(); err != nil {
		t.Fatal(err)
	}
	received("future-2")
	rs.Restart()
	for {
		if _, err := em.To("r").Emit(ctx, "ev", "after-restart"); err == nil {
			break
		} else if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	received("after-restart")
	time.Sleep(300 * time.Millisecond) // anything delivered twice would come now
	if got := clients.FirstArgs("c", "ev"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
	ahead, _ := rec.counts(redisadapter.LossAhead)
	reset, _ := rec.counts(redisadapter.LossReset)
	t.Logf("reported: %d ahead, %d reset", ahead, reset)
	if ahead+reset != 2 || rec.total() != 2 {
		t.Errorf("%d losses reported (%d ahead, %d reset), want 2: one per replaced stream", rec.total(), ahead, reset)
	}
	rec.checkReported(t, sa)
}

// TestStreamsTrimmedCounted: broadcasts written faster than the Go server reads them into a stream trimmed to
// about 100 entries (MaxLen 100, approximate: Redis trims whole nodes of 100): every one that its client did not
// get is counted in the LossTrimmed it reported, no more, no less; nothing else is reported.
func TestStreamsTrimmedCounted(t *testing.T) {
	rs := testenv.StartRedis(t)
	rec := newLossRecorder()
	g, sa := startGoStreamsServer(t, rs.Addr(), "g", redisadapter.StreamsConfig{Metrics: rec, Logger: rec.logger()}, socketio.Config{})
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: g.url, Rooms: []string{"r"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rdb := rs.Client(t)
	em, err := emitter.New(rdb, emitter.WithMode(emitter.Streams), emitter.WithStreamMaxLen(100))
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 500
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := em.To("r").Emit(ctx, "n", w*each+i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, err := em.To("r").Emit(ctx, "done"); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.WaitEvent(ctx, "c", testenv.EventNamed("done")); err != nil {
		t.Fatal(err)
	}
	got := numbers(t, clients, "c", "n")
	seen := map[int]bool{}
	for _, n := range got {
		if seen[n] {
			t.Fatalf("broadcast %d received twice", n)
		}
		seen[n] = true
	}
	lost := writers*each - len(got)
	trims, entries := rec.counts(redisadapter.LossTrimmed)
	t.Logf("%d of %d broadcasts lost for the Go server's client; %d trims reported, of %d entries", lost, writers*each, trims, entries)
	if lost == 0 {
		t.Fatal("the Go server lost nothing: the test did not test")
	}
	if entries != lost {
		t.Errorf("%d broadcasts lost, %d entries reported trimmed", lost, entries)
	}
	if rec.total() != trims {
		t.Errorf("losses reported other than trims: %d in all", rec.total())
	}
	rec.checkReported(t, sa)
}

// TestStreamsOversizedEntry: an entry larger than MaxEntrySize (64 KiB here) is skipped, reported (LossOversized,
// one error line with its id and size) and counted, and the broadcasts around it are delivered.
func TestStreamsOversizedEntry(t *testing.T) {
	rs := testenv.StartRedis(t)
	rec := newLossRecorder()
	g, sa := startGoStreamsServer(t, rs.Addr(), "g", redisadapter.StreamsConfig{MaxEntrySize: 64 << 10, Metrics: rec, Logger: rec.logger()}, socketio.Config{})
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: g.url, Rooms: []string{"r"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	em, err := emitter.New(rs.Client(t), emitter.WithMode(emitter.Streams), emitter.WithMaxPayload(-1))
	if err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"small-1", strings.Repeat("x", 64<<10), "small-2"} {
		if _, err := em.To("r").Emit(ctx, "ev", arg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := clients.WaitEvents(ctx, "c", 2, testenv.EventNamed("ev")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := clients.FirstArgs("c", "ev"); strings.Join(got, " ") != `"small-1" "small-2"` {
		t.Errorf("got %.100q, want small-1 and small-2", got)
	}
	if n, entries := rec.counts(redisadapter.LossOversized); n != 1 || entries != 1 {
		t.Errorf("%d oversized entries reported (%d), want 1", n, entries)
	}
	rec.checkReported(t, sa)
	for _, line := range rec.lossLines(t, redisadapter.LossOversized) {
		if line["id"] == nil || line["bytes"].(float64) <= 64<<10 || line["limit"].(float64) != 64<<10 {
			t.Errorf("log line without its attributes: %v", line)
		}
	}
}

// copyEntry adds the first entry of stream KEYS[1] to stream KEYS[2] ARGV[1] times, in one script: the entries
// never pass through the test.
var copyEntry = redis.NewScript(`
local e = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[2], '*', unpack(e[2])) end
return 1`)

// procStatusKB returns a field of /proc/self/status, in kB.
func procStatusKB(t *testing.T, field string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("/proc/self/status has no %s", field)
	return 0
}

// TestStreamsOversizedEntriesCost: three broadcast entries of 10 MB (7.5 MB of binary, as base64: over the default
// MaxEntrySize) added in one transaction, so that one read returns them together, cost the Go server no more
// than reading them once: they are skipped before decoding, and the broadcast after them arrives. (Decoding
// them cost four times as much; with 30 MB entries, RSS grew by 560 MB.)
func TestStreamsOversizedEntriesCost(t *testing.T) {
	rs := testenv.StartRedis(t)
	rec := newLossRecorder()
	g, sa := startGoStreamsServer(t, rs.Addr(), "g", redisadapter.StreamsConfig{Metrics: rec, Logger: rec.logger()}, socketio.Config{})
	clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: g.url, Rooms: []string{"r"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rdb := rs.Client(t)
	unread, err := emitter.New(rdb, emitter.WithMode(emitter.Streams), emitter.WithPrefix("unread"), emitter.WithMaxPayload(-1))
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 7<<20+512<<10)
	if _, err := unread.To("nobody").Emit(ctx, "big", big); err != nil {
		t.Fatal(err)
	}
	big = nil
	em, err := emitter.New(rdb, emitter.WithMode(emitter.Streams))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM, where Linux allows it
	rss := procStatusKB(t, "VmRSS")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocated := ms.TotalAlloc
	if err := copyEntry.Run(ctx, rdb, []string{"unread", "socket.io"}, 3).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := em.To("r").Emit(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.WaitEvent(ctx, "c", testenv.EventNamed("after")); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	allocated = ms.TotalAlloc - allocated
	t.Logf("3 entries of 10 MB: %d MB allocated; RSS %d MB, peak %d MB", allocated>>20, rss>>10, procStatusKB(t, "VmHWM")>>10)
	if n, _ := rec.counts(redisadapter.LossOversized); n != 3 {
		t.Errorf("%d oversized entries reported, want 3", n)
	}
	if allocated > 3*30<<20 {
		t.Errorf("%d MB allocated while reading 30 MB of entries to skip", allocated>>20)
	}
	rec.checkReported(t, sa)
}
