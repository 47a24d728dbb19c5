package socketio

import (
	"sync"
	"testing"
)

// StartSuiteServer starts the server testpeers/sio-client-suite.js expects, with cfg (a fast heartbeat added),
// for the tests of package socketio_test (the parsers' interop tests), and returns its URL. It is closed when the
// test ends.
func StartSuiteServer(tb testing.TB, cfg Config) string {
	var reasons sync.Map
	c := fastHeartbeat()
	c.Parser, c.Logger = cfg.Parser, cfg.Logger
	return startTestServer(tb, c, suiteHandlers(&reasons)).URL()
}

// SuiteResults is suiteResults, for the external tests that run the testpeers suites.
var SuiteResults = suiteResults
