package redisadapter_test

import (
	"os"
	"testing"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestMain fails the package when a goroutine of an adapter outlives the servers that own them.
func TestMain(m *testing.M) { os.Exit(testenv.CheckLeaks(m.Run())) }
