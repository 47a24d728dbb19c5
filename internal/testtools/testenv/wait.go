package testenv

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, failing the test if it does not within 10 s.
func WaitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			tb.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
