package socketio

import (
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestNodeClientV2 runs real socket.io-client 2.5 scenarios (Socket.IO v4 over Engine.IO v3) against the server
// with AllowEIO3, on each transport setup, base64 binary included.
func TestNodeClientV2(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	for _, mode := range []string{"polling", "websocket", "upgrade", "base64"} {
		t.Run(mode, func(t *testing.T) {
			var reasons sync.Map
			// The suite's heartbeat: a client that stops pinging is closed after 1 s.
			cfg := Config{Engine: engineio.Config{AllowEIO3: true, PingInterval: 250 * time.Millisecond, PingTimeout: 750 * time.Millisecond}}
			ts := startTestServer(t, cfg, suiteHandlers(&reasons))
			out := testenv.RunNode(t, "sio-client-v2-suite.js", "--url", ts.URL(), "--mode", mode)
			n := suiteResults(t, out)
			if n < 14 {
				t.Fatalf("only %d scenarios ran:\n%s", n, out)
			}
			ts.close()
		})
	}
}
