package client

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// nodeServer is client/testdata/node-server.js: a socket.io 4.8 server (testpeers' pinned copy) with the handlers
// of echoServer, on a port it keeps across restarts.
type nodeServer struct {
	tb       testing.TB
	port     int
	recovery time.Duration
	parser   string // "msgpack" for socket.io-msgpack-parser
	tlsCert  string // PEM files: the server serves https when set
	tlsKey   string
	cmd      *exec.Cmd
	stdin    interface{ Close() error }
}

func startNodeServer(tb testing.TB, recovery time.Duration) *nodeServer {
	tb.Helper()
	n := &nodeServer{tb: tb, recovery: recovery}
	n.start()
	tb.Cleanup(n.stop)
	return n
}

func (n *nodeServer) start() {
	tb := n.tb
	tb.Helper()
	peers := testenv.NodePeersDir(tb)
	script, err := filepath.Abs("testdata/node-server.js")
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; ; i++ {
		cmd := exec.Command("node", script, strconv.Itoa(n.port), strconv.FormatInt(n.recovery.Milliseconds(), 10), n.parser)
		cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(peers, "node_modules"))
		if n.tlsCert != "" {
			cmd.Env = append(cmd.Env, "TLS_CERT="+n.tlsCert, "TLS_KEY="+n.tlsKey)
		}
		cmd.Stderr = os.Stderr
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadBytes('\n')
		var ready struct{ Port int }
		if err == nil && json.Unmarshal(line, &ready) == nil && ready.Port > 0 {
			n.port, n.cmd, n.stdin = ready.Port, cmd, stdin
			return
		}
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if i == 50 {
			tb.Fatalf("node server did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // the port may not be free yet
	}
}

func (n *nodeServer) stop() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	_ = n.stdin.Close()
	_ = n.cmd.Wait()
	n.cmd = nil
}

func (n *nodeServer) URL() string {
	if n.tlsCert != "" {
		return "https://127.0.0.1:" + strconv.Itoa(n.port)
	}
	return "http://127.0.0.1:" + strconv.Itoa(n.port)
}
