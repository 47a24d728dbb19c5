package testenv

import (
	"fmt"
	"os"
	"testing"
)

// RunMain is for TestMain of packages whose Example functions need real peers, which examples cannot start
// themselves: it calls setup with a testing.TB valid for the whole run (peers started with it are stopped after
// m.Run), runs the tests, and returns the exit status after the goroutine-leak check of [CheckLeaks].
//
//	var redisAddr string // read by the examples
//
//	func TestMain(m *testing.M) {
//		os.Exit(testenv.RunMain(m, func(tb testing.TB) { redisAddr = testenv.StartRedis(tb).Addr() }))
//	}
//
// A failure in setup aborts the run with a message.
func RunMain(m *testing.M, setup func(tb testing.TB)) int {
	tb := &mainTB{}
	code := func() int {
		defer tb.cleanup()
		setup(tb)
		return m.Run()
	}()
	return CheckLeaks(code)
}

// mainTB is the testing.TB of RunMain. The embedded interface is nil: only the methods below, which are those the
// harness calls, may be used.
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
func (m *mainTB) Fatal(args ...any)       { panic(fmt.Sprint(args...)) }

func (m *mainTB) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("testenv: TestMain setup: "+format, args...))
}

func (m *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "sioredis-main-")
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
