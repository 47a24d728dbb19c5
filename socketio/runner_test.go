package socketio

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// TestRunnerBurst: functions queued during a burst run on the goroutine that ends it, in order (they have all
// run when burstEnd returns, and none before); a burst longer than maxDeferred starts them on a goroutine of
// their own instead, so that they drain while the reader reads (they all run without burstEnd).
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
			ran := func() []int {
				mu.Lock()
				defer mu.Unlock()
				return slices.Clone(order)
			}
			for i := range tc.n {
				if !r.do(srv, func() {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
				}, runAtBurstEnd) {
					t.Fatalf("do refused function %d", i)
				}
			}
			if tc.onCaller {
				time.Sleep(20 * time.Millisecond)
				if got := len(ran()); got != 0 {
					t.Fatalf("%d functions ran before the end of the burst", got)
				}
				r.burstEnd(srv)
			} else {
				for deadline := time.Now().Add(5 * time.Second); len(ran()) < tc.n && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			}
			got := ran()
			if len(got) != tc.n {
				t.Fatalf("%d of %d functions ran", len(got), tc.n)
			}
			for i, v := range got {
				if v != i {
					t.Fatalf("function %d ran as number %d", v, i)
				}
			}
			r.burstEnd(srv) // nothing left: returns at once
		})
	}
}

// TestRunnerQueueStaysSmall: a runner whose queue never empties (each function queues the next while it runs)
// reuses the slots of the functions that ran instead of growing its array, and keeps a small array when idle.
func TestRunnerQueueStaysSmall(t *testing.T) {
	srv, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const n = 10000
	var r runner
	done := make(chan struct{})
	ran, maxCap := 0, 0
	var step func()
	step = func() {
		r.mu.Lock()
		maxCap = max(maxCap, r.q.Cap())
		r.mu.Unlock()
		if ran++; ran == n {
			close(done)
			return
		}
		r.do(srv, step, runQueue)
	}
	r.do(srv, step, runQueue)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of %d functions ran", ran, n)
	}
	if maxCap > 4 {
		t.Errorf("the queue's array grew to %d slots for at most 2 functions waiting", maxCap)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		r.mu.Lock()
		running, c := r.running, r.q.Cap()
		r.mu.Unlock()
		if !running {
			if c > maxKeptQueue {
				t.Errorf("an idle runner keeps %d slots", c)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the runner still runs")
		}
	}
}
