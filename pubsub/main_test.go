package pubsub_test

import (
	"os"
	"testing"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// redisAddr is the address of the redis-server that TestMain starts for the
// examples, which cannot start one themselves.
var redisAddr string

func TestMain(m *testing.M) {
	os.Exit(testenv.RunMain(m, func(tb testing.TB) { redisAddr = testenv.StartRedis(tb).Addr() }))
}
