package bench

import (
	"os"
	"testing"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestMain removes the binaries the benchmarks built (testenv.BuildBinary) once they have run.
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinaries()
	os.Exit(code)
}
