package admin

import (
	"container/list"
	"fmt"
	"testing"
	"time"
)

// TestFailureTable: the back-off doubles with each failure up to its bound, is forgotten after that bound of
// quiet once it has ended, and the table keeps at most max keys, the least recently failing dropped first.
func TestFailureTable(t *testing.T) {
	tb := failureTable{max: 3, byKey: make(map[string]*list.Element)}
	now := time.Unix(1000, 0)
	const delay, maxDelay = time.Second, 10 * time.Second
	for i, want := range []time.Duration{1, 2, 4, 8, 10, 10} {
		tb.fail(now, []string{"a"}, delay, maxDelay)
		if got := tb.wait(now, []string{"a"}, maxDelay); got != want*time.Second {
			t.Fatalf("after %d failures: back-off %v, want %v", i+1, got, want*time.Second)
		}
	}
	if got := tb.wait(now.Add(10*time.Second), []string{"a", "b"}, maxDelay); got != 0 {
		t.Fatalf("back-off over: %v", got)
	}
	if got := tb.wait(now.Add(20*time.Second), []string{"a"}, maxDelay); got != 0 || len(tb.byKey) != 1 {
		t.Fatalf("at the end of the quiet time: %v, %d keys", got, len(tb.byKey))
	}
	if tb.wait(now.Add(21*time.Second), []string{"a"}, maxDelay); len(tb.byKey) != 0 {
		t.Fatal("not forgotten after its quiet time")
	}
	tb.fail(now, []string{"a"}, delay, maxDelay)
	if got := tb.wait(now, []string{"a"}, maxDelay); got != time.Second {
		t.Fatalf("forgotten failures: back-off %v, want 1 s", got)
	}
	for i := range 5 {
		tb.fail(now, []string{fmt.Sprint("k", i)}, delay, maxDelay)
	}
	if len(tb.byKey) != 3 || tb.lru.Len() != 3 {
		t.Fatalf("%d keys kept, want 3", len(tb.byKey))
	}
	if tb.wait(now, []string{"a", "k0", "k1"}, maxDelay) != 0 || tb.wait(now, []string{"k4"}, maxDelay) == 0 {
		t.Fatal("not the least recently failing keys dropped")
	}
	tb.forget([]string{"k4", "k3"})
	if len(tb.byKey) != 1 {
		t.Fatalf("%d keys after forgetting 2 of 3", len(tb.byKey))
	}
}
