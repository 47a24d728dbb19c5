package socketio

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunnerBurst: functions queued during a burst run on the goroutine that ends it, in order; a burst longer
// than maxDeferred starts them on a goroutine of their own instead, so that they drain while the reader reads.
func TestRunnerBurst(t *testing.T) {
	srv, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct {
		name     string
		n        int
		onCaller bool
	}{
		{"short burst", maxDeferred - 1, true},
		{"long burst", 3 * maxDeferred, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r runner
			var mu sync.Mutex
			var order []int
			var elsewhere atomic.Bool
			var inBurstEnd atomic.Bool
			for i := range tc.n {
				if !r.do(srv, func() {
					if !inBurstEnd.Load() {
						elsewhere.Store(true)
					}
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
				}, runAtBurstEnd) {
					t.Fatalf("do refused function %d", i)
				}
			}
			if tc.onCaller {
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				ran := len(order)
				mu.Unlock()
				if ran != 0 {
					t.Fatalf("%d functions ran before the end of the burst", ran)
				}
				inBurstEnd.Store(true)
			}
			r.burstEnd(srv)
			deadline := time.Now().Add(5 * time.Second)
			for {
				mu.Lock()
				ran := len(order)
				mu.Unlock()
				if ran == tc.n || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(order) != tc.n {
				t.Fatalf("%d of %d functions ran", len(order), tc.n)
			}
			for i, v := range order {
				if v != i {
					t.Fatalf("function %d ran as number %d", v, i)
				}
			}
			if got := elsewhere.Load(); got == tc.onCaller {
				t.Errorf("ran on another goroutine than burstEnd's: %v, want %v", got, !tc.onCaller)
			}
		})
	}
}
