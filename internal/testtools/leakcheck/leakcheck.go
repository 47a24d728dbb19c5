// Package leakcheck finds goroutines that outlive a test. It is imported only by tests.
package leakcheck

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ignored are goroutines of the runtime and of the testing package, which come and go on their own.
var ignored = []string{
	"testing.(*T).Run",
	"testing.tRunner",
	"testing.runTests",
	"testing.(*M).",
	"runtime.goexit0",
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime/trace",
}

// Check records the goroutines running now and returns a function that fails tb if, after waiting up to
// 5 seconds, goroutines started since are still running. Use it as t.Cleanup(leakcheck.Check(t)) first thing in a
// test, so that it runs after every other cleanup.
func Check(tb testing.TB) func() {
	before := ids()
	return func() {
		tb.Helper()
		leaked := Wait(5*time.Second, func(id, stack string) bool {
			_, old := before[id]
			return !old && !isIgnored(stack)
		})
		if len(leaked) > 0 {
			tb.Errorf("leakcheck: %d goroutines outlived the test:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
	}
}

// Wait polls the goroutines (the caller's excepted) until none is leaked by the given test, or until d has
// passed, and returns the stacks of those still leaked then.
func Wait(d time.Duration, leaked func(id, stack string) bool) []string {
	deadline := time.Now().Add(d)
	for {
		var out []string
		for id, stack := range stacks() {
			if leaked(id, stack) {
				out = append(out, stack)
			}
		}
		if len(out) == 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isIgnored(stack string) bool {
	for _, s := range ignored {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

func ids() map[string]struct{} {
	out := make(map[string]struct{})
	for id := range stacks() {
		out[id] = struct{}{}
	}
	return out
}

// stacks returns every goroutine's stack but the caller's, by goroutine id.
func stacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := make(map[string]string)
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // the calling goroutine
		}
		s := string(g)
		head, _, _ := strings.Cut(s, " [")
		out[strings.TrimPrefix(head, "goroutine ")] = s
	}
	return out
}
