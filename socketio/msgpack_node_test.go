package socketio_test

import (
	"testing"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/socketio"
	"github.com/sioredis/sioredis/socketio/msgpackparser"
)

// runSuite runs testpeers/sio-client-suite.js against url and reports each scenario as a subtest; it returns how
// many ran.
func runSuite(t *testing.T, url string, args ...string) int {
	t.Helper()
	out := testenv.RunNode(t, "sio-client-suite.js", append([]string{"--url", url}, args...)...)
	return socketio.SuiteResults(t, out)
}

// TestNodeClientMsgpack runs the whole socket.io-client 4.8 suite of TestNodeClient with socket.io-msgpack-parser
// 3.0.2 on both sides: events, acknowledgements and binary both ways, namespaces, rooms, broadcasts.
func TestNodeClientMsgpack(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			url := socketio.StartSuiteServer(t, socketio.Config{Parser: msgpackparser.Parser{}})
			if n := runSuite(t, url, "--mode", mode, "--parser", "msgpack"); n < 20 {
				t.Fatalf("only %d scenarios ran", n)
			}
		})
	}
}

// TestOtherParserRefused: a client speaking the other parser is disconnected at its first packet and never
// connects, as by the Node server (its decoder throws, and the client is closed).
func TestOtherParserRefused(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	for _, tc := range []struct {
		name         string
		server       socketio.Parser
		clientParser string // the suite's --parser; the scenario uses the other one
	}{
		{"json client, msgpack server", msgpackparser.Parser{}, "msgpack"},
		{"msgpack client, json server", nil, "json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := socketio.StartSuiteServer(t, socketio.Config{Parser: tc.server})
			for _, mode := range []string{"polling", "websocket"} {
				runSuite(t, url, "--mode", mode, "--parser", tc.clientParser, "--only", "other parser refused")
			}
		})
	}
}
