package engineio

import (
	"runtime"
	"testing"
)

// TestWebSocketIdleGoroutines checks the claim of the poller: an idle WebSocket connection has no goroutine.
func TestWebSocketIdleGoroutines(t *testing.T) {
	e := newEnv(t, Config{})
	base := runtime.NumGoroutine()
	const n = 100
	for range n {
		r := dialRaw(t, e, "&transport=websocket")
		r.open()
	}
	if e.srv.Len() != n {
		t.Fatalf("%d connections", e.srv.Len())
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() < base+n/4 })
}
