package testenv

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// CheckLeaks is for TestMain: given the result of m.Run, it waits up to a
// few seconds for goroutines of this module, of go-redis and of os/exec to
// end, and turns a passing run into a failure (exit status 1) listing those
// that outlived the tests.
//
//	func TestMain(m *testing.M) { os.Exit(testenv.CheckLeaks(m.Run())) }
func CheckLeaks(code int) int {
	if code != 0 {
		return code
	}
	if err := leakedGoroutines(5 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func leakedGoroutines(wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, ".TestMain(") || strings.Contains(g, "testenv.leakedGoroutines") {
				continue
			}
			if strings.Contains(g, "github.com/sioredis/sioredis/") || strings.Contains(g, "go-redis") || strings.Contains(g, "os/exec.") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutines outlived the tests:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
