package main

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestMonitorEscapesTerminalControls: whatever a publisher puts in a message, the monitor's output holds no
// character a terminal acts on (D12: U+009B, CSI, was printed raw), in text and in JSON, and the JSON still
// decodes to the published strings.
func TestMonitorEscapesTerminalControls(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	text := startMonitor(t, "--mode", "classic", "--redis", r.URL())
	asJSON := startMonitor(t, "--json", "--mode", "classic", "--redis", r.URL())
	hostile := "a\x1b[2J\u009b31m\u0085\u007f\u202eevil\u2066\u200b\u2028\U000e0041z"
	ctx := context.Background()
	em, err := emitter.New(rdb)
	must(t, err)
	sent(t)(em.To("room "+hostile).Emit(ctx, "ev"+hostile, hostile, map[string]any{hostile: 1}))
	for _, m := range []*monitorRun{text, asJSON} {
		testenv.WaitFor(t, func() bool { return strings.Contains(m.out.String(), "evil") })
	}
	for _, m := range []*monitorRun{text, asJSON} {
		out := m.out.String()
		for _, r := range strings.TrimSuffix(out, "\n") {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
				t.Errorf("output holds %U:\n%q", r, out)
			}
		}
	}
	var line struct {
		Event string
		Rooms []string
		Args  []json.RawMessage
	}
	if err := json.Unmarshal([]byte(asJSON.out.String()), &line); err != nil {
		t.Fatal(err)
	}
	var arg string
	_ = json.Unmarshal(line.Args[0], &arg)
	if line.Event != "ev"+hostile || line.Rooms[0] != "room "+hostile || arg != hostile {
		t.Errorf("JSON output decodes to %+v, want the published strings", line)
	}
	if !strings.Contains(text.out.String(), `\u009b31m`) || !strings.Contains(text.out.String(), `\u202eevil`) {
		t.Errorf("text output %q, want \\u escapes", text.out.String())
	}
}

// countingWriter counts what the monitor writes and keeps nothing.
type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// TestMonitorDropsHugeBuffers: after printing a few 24 MB messages the monitor does not keep the buffer of
// their lines (before: the largest line's buffer stayed, 345 MB seen; here +99 MB, now +24 MB: the last message).
func TestMonitorDropsHugeBuffers(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &countingWriter{}
	errs := &testenv.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"monitor", "--mode", "classic", "--redis", r.URL()}, strings.NewReader(""), out, errs)
	}()
	testenv.WaitFor(t, func() bool { return strings.Contains(errs.String(), "watching") })
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	before := heap()
	em, err := emitter.New(rdb, emitter.WithMaxPayload(-1))
	must(t, err)
	big := strings.Repeat("\u009b", 12<<20) // 24 MB of UTF-8, printed as 72 MB of escapes
	const n = 3
	for range n {
		sent(t)(em.Emit(ctx, "big", big))
	}
	big = ""
	for deadline := time.Now().Add(60 * time.Second); out.n.Load() < n*72<<20; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes printed after 60 s", out.n.Load())
		}
	}
	time.Sleep(100 * time.Millisecond)
	grown := heap() - before
	t.Logf("heap after printing %d messages of 24 MB: %+d MB", n, grown>>20)
	// What may stay is the last message itself, until the next one replaces it in the pub/sub reader; not the
	// 72 MB line it was printed as.
	if grown > 40<<20 {
		t.Errorf("the monitor holds %d MB after printing large messages", grown>>20)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("monitor exited with %d:\n%s", code, errs.String())
	}
}
