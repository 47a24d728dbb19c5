package testenv

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
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
	leaked := leakcheck.Wait(5*time.Second, func(_, stack string) bool {
		if strings.Contains(stack, ".TestMain(") {
			return false
		}
		return strings.Contains(stack, "github.com/sioredis/sioredis/") || strings.Contains(stack, "go-redis") ||
			strings.Contains(stack, "os/exec.")
	})
	if len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "%d goroutines outlived the tests:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
		return 1
	}
	return 0
}
