// Command zishang is the third server of the server benchmarks (bench/server_test.go): github.com/zishang520/socket.io
// v3 (servers/socket), default options, with the events of internal/benchserver and testpeers/bench-server.js.
// It lives in a module of its own so that the root module does not depend on it; the benchmark builds it. It
// listens on a loopback port, prints {"type":"ready","port":N,"pid":P} on standard output, and exits when its
// standard input closes.
//
//	echo       acknowledges with its own arguments
//	broadcast  [n, size]: emits "msg" [i, "x"×size] to every socket n times, then acknowledges with n
//	gc         runs the garbage collector and returns memory to the OS, then acknowledges
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "zishang:", err)
		os.Exit(1)
	}
}

// split separates an event's arguments from its acknowledgement callback (the last argument, when asked for).
func split(args []any) ([]any, socket.Ack) {
	if n := len(args); n > 0 {
		if ack, ok := args[n-1].(socket.Ack); ok {
			return args[:n-1], ack
		}
	}
	return args, nil
}

func num(args []any, i int) int {
	if i < len(args) {
		if f, ok := args[i].(float64); ok {
			return int(f)
		}
	}
	return 0
}

func run() error {
	io_ := socket.NewServer(nil, nil)
	io_.On("connection", func(clients ...any) {
		c := clients[0].(*socket.Socket)
		_ = c.On("echo", func(args ...any) {
			if vals, ack := split(args); ack != nil {
				ack(vals, nil)
			}
		})
		_ = c.On("broadcast", func(args ...any) {
			vals, ack := split(args)
			n, size := num(vals, 0), num(vals, 1)
			body := strings.Repeat("x", size)
			for i := range n {
				io_.Emit("msg", i, body)
			}
			if ack != nil {
				ack([]any{n}, nil)
			}
		})
		_ = c.On("gc", func(args ...any) {
			runtime.GC()
			debug.FreeOSMemory()
			if _, ack := split(args); ack != nil {
				ack(nil, nil)
			}
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io_.ServeHandler(nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	ready, _ := json.Marshal(map[string]any{"type": "ready", "port": ln.Addr().(*net.TCPAddr).Port, "pid": os.Getpid()})
	fmt.Println(string(ready))
	_, _ = io.Copy(io.Discard, os.Stdin)
	io_.Close(nil)
	return hs.Close()
}
