package pubsub_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/sioredis/sioredis/internal/testenv"
)

// redisAddr is the address of the redis-server that TestMain starts for the
// examples, which cannot start one themselves.
var redisAddr string

func TestMain(m *testing.M) {
	tb := &mainTB{}
	code := func() int {
		defer tb.cleanup()
		r := testenv.StartRedis(tb)
		redisAddr = r.Addr()
		return m.Run()
	}()
	os.Exit(testenv.CheckLeaks(code))
}

// mainTB is the testing.TB that TestMain hands to testenv.StartRedis. The
// embedded interface is nil: only the methods below may be called.
type mainTB struct {
	testing.TB
	cleanups []func()
	dirs     []string
}

func (m *mainTB) Helper()                 {}
func (m *mainTB) Cleanup(f func())        { m.cleanups = append(m.cleanups, f) }
func (m *mainTB) Logf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (m *mainTB) Failed() bool            { return false }
func (m *mainTB) Name() string            { return "TestMain" }

func (m *mainTB) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func (m *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "pubsub-test-")
	if err != nil {
		m.Fatalf("TempDir: %v", err)
	}
	m.dirs = append(m.dirs, dir)
	return dir
}

func (m *mainTB) cleanup() {
	for i := len(m.cleanups) - 1; i >= 0; i-- {
		m.cleanups[i]()
	}
	for _, d := range m.dirs {
		_ = os.RemoveAll(d)
	}
}
