package emitter_test

import (
	"os"
	"testing"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// redisAddr is a real redis-server for the examples, which cannot start one
// themselves.
var redisAddr string

// TestMain starts it, and fails the run if a goroutine of the emitter (or of
// the Redis clients and peers the tests start) outlives the tests.
func TestMain(m *testing.M) {
	os.Exit(testenv.RunMain(m, func(tb testing.TB) { redisAddr = testenv.StartRedis(tb).Addr() }))
}
