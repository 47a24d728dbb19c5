package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/wsproto"
)

// keepAlive opens a connection to addr, gets path on it with HTTP/1.1 keep-alive and returns the connection,
// left idle.
func keepAlive(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return c
}

// closedWithin reports whether the server closes c within d (a read ends with EOF or a reset).
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errorAs(err, &ne) && ne.Timeout())
}

func errorAs(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok
}

// TestIdleAndSlowConnectionsClosed: idle keep-alive connections are closed after the idle timeout (Node's
// keepAliveTimeout, 5 s), and a request body trickled at 1 byte/s after the read timeout, on "serve" and
// "chat".
func TestIdleAndSlowConnectionsClosed(t *testing.T) {
	for _, cmd := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--read-timeout", "2s"},
		{"chat", "--addr", "127.0.0.1:0", "--read-timeout", "2s", "--db", filepath.Join(t.TempDir(), "chat.db")},
	} {
		t.Run(cmd[0], func(t *testing.T) {
			url, _ := startServing(t, cmd...)
			addr := strings.TrimPrefix(url, "http://")
			const idle = 100
			conns := make([]net.Conn, idle)
			for i := range conns {
				conns[i] = keepAlive(t, addr, "/socket.io.min.js")
			}
			slow, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer slow.Close()
			fmt.Fprintf(slow, "POST /api/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n", addr)
			trickled := make(chan time.Duration, 1)
			go func() {
				start := time.Now()
				for range 100 {
					if _, err := slow.Write([]byte{' '}); err != nil {
						break
					}
					time.Sleep(time.Second)
				}
				trickled <- time.Since(start)
			}()
			start := time.Now()
			closed := 0
			for _, c := range conns {
				if closedWithin(c, time.Until(start.Add(8*time.Second))) {
					closed++
				}
			}
			if closed != idle {
				t.Errorf("%d of %d idle keep-alive connections closed after %v, want all (idle timeout 5 s)", closed, idle, time.Since(start))
			}
			select {
			case d := <-trickled:
				if d > 6*time.Second {
					t.Errorf("a body trickled at 1 byte/s was read for %v, want about the read timeout (2 s)", d)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("a body trickled at 1 byte/s is still read after 20 s (read timeout 2 s)")
			}
		})
	}
}

// TestTimeoutsSpareLongPollingAndWebSockets: write and read timeouts far below the ping interval break
// neither long-polling GETs, which wait for the next event, nor WebSockets, taken over from the HTTP server.
func TestTimeoutsSpareLongPollingAndWebSockets(t *testing.T) {
	url, _ := startServing(t, "serve", "--addr", "127.0.0.1:0", "--write-timeout", "1s", "--read-timeout", "1s", "--idle-timeout", "1s", "--tick", "5s")
	addr := strings.TrimPrefix(url, "http://")
	// With --tick 5s the page's server sends "tick" every 5 s: two of them span several write and read timeouts.
	const ticks = 2
	deadline := time.Now().Add(20 * time.Second)
	errc := make(chan error, 2)
	go func() { errc <- pollTicks(url, ticks, deadline) }()
	go func() { errc <- wsTicks(addr, ticks, deadline) }()
	for range 2 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

// pollTicks opens an Engine.IO long-polling session, joins "/" and polls until n "tick" events have arrived.
func pollTicks(base string, n int, deadline time.Time) error {
	cl := &http.Client{Timeout: time.Until(deadline)}
	get := func(q string) (string, error) {
		res, err := cl.Get(base + "/socket.io/?EIO=4&transport=polling" + q)
		if err != nil {
			return "", fmt.Errorf("polling GET: %w", err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			return "", fmt.Errorf("polling GET: %d %q %v", res.StatusCode, b, err)
		}
		return string(b), nil
	}
	open, err := get("")
	if err != nil {
		return err
	}
	sid := strings.Split(strings.SplitN(open, `"sid":"`, 2)[1], `"`)[0]
	res, err := cl.Post(base+"/socket.io/?EIO=4&transport=polling&sid="+sid, "text/plain", strings.NewReader("40"))
	if err != nil {
		return fmt.Errorf("polling POST: %w", err)
	}
	res.Body.Close()
	for got := 0; got < n; {
		start := time.Now()
		body, err := get("&sid=" + sid)
		if err != nil {
			return fmt.Errorf("after %d ticks, a GET of %v: %w", got, time.Since(start), err)
		}
		got += strings.Count(body, `"tick"`)
	}
	return nil
}

// wsTicks opens an Engine.IO WebSocket session, joins "/" and reads until n "tick" events have arrived.
func wsTicks(addr string, n int, deadline time.Time) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	key := wsproto.NewKey()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/socket.io/?EIO=4&transport=websocket", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if err := req.Write(c); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	early, err := wsproto.ReadResponse(br, req, key)
	if err != nil {
		return err
	}
	if _, err := c.Write(wsproto.AppendMaskedFrame(nil, wsproto.OpText, []byte("40"), [4]byte{1, 2, 3, 4})); err != nil {
		return err
	}
	var dec wsproto.Decoder
	got := 0
	count := func(op wsproto.Opcode, p []byte) error {
		if op == wsproto.OpClose {
			return fmt.Errorf("websocket closed by the server after %d ticks", got)
		}
		got += strings.Count(string(p), `"tick"`)
		return nil
	}
	if err := dec.Feed(early, count); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for got < n {
		k, err := br.Read(buf)
		if err != nil {
			return fmt.Errorf("websocket: after %d ticks: %w", got, err)
		}
		if err := dec.Feed(buf[:k], count); err != nil {
			return err
		}
	}
	return nil
}

// mainEnv makes the test binary run main with the arguments in it (one per line), for tests that need a real
// process (signals, exit status).
const mainEnv = "SIOREDIS_TEST_MAIN_ARGS"

func runMainIfAsked() {
	if args, ok := os.LookupEnv(mainEnv); ok {
		os.Args = append([]string{"sioredis"}, strings.Split(args, "\n")...)
		main()
	}
}

// TestSIGTERMShutsDownGracefully: SIGTERM (docker stop, systemd, Kubernetes) makes "serve", "chat" and "api" shut
// down as SIGINT does, with exit status 0, saying so in the log.
func TestSIGTERMShutsDownGracefully(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0"},
		{"chat", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "chat.db")},
		{"api", "--addr", "127.0.0.1:0", "--redis", "redis://127.0.0.1:1"},
	} {
		t.Run(args[0], func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), mainEnv+"="+strings.Join(args, "\n"), apiKeysEnv+"=backend sk_sigterm_0123456789abcdef")
			logs := &serveLog{}
			cmd.Stderr = logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); !servingURL.MatchString(logs.String()); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
					t.Fatalf("%s did not start:\n%s", args[0], logs.String())
				}
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if code := cmd.ProcessState.ExitCode(); err != nil || code != 0 {
					t.Errorf("after SIGTERM: exit status %d (%v), want 0:\n%s", code, err, logs.String())
				}
				if l := logs.String(); !strings.Contains(l, "shutting down") || !regexp.MustCompile(`msg=stopped took=\d`).MatchString(l) {
					t.Errorf("no log line of the shutdown:\n%s", l)
				}
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Errorf("still running 15 s after SIGTERM")
			}
		})
	}
}

// TestServePageSecurityHeaders: the live page of "serve" cannot be framed and runs only its own scripts.
func TestServePageSecurityHeaders(t *testing.T) {
	url, _ := startServe(t)
	res, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("headers %v", res.Header)
	}
}
