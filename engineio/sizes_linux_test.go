package engineio

import (
	"testing"
	"unsafe"

	"github.com/sioredis/sioredis/engineio/internal/netpoll"
)

// TestIdleSizes guards what an idle WebSocket connection allocates for its own state (docs/benchmarks.md, the
// per-connection breakdown): a field added or moved that crosses an allocation size class shows here.
func TestIdleSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"Conn", unsafe.Sizeof(Conn{}), 224},
		{"wsConn", unsafe.Sizeof(wsConn{}), 208},
		{"netpoll.FD", unsafe.Sizeof(netpoll.FD{}), 24},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, over %d (the size class it fitted)", c.name, c.size, c.max)
		}
	}
}
