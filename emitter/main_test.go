package emitter_test

import (
	"os"
	"testing"

	"github.com/sioredis/sioredis/internal/testenv"
)

// TestMain fails the run if a goroutine of the emitter (or of the Redis
// clients and peers the tests start) outlives the tests.
func TestMain(m *testing.M) { os.Exit(testenv.CheckLeaks(m.Run())) }
