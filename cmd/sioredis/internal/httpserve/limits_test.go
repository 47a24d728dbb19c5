package httpserve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// serveOn runs a Server with options o on a listener at addr until the test ends, and returns the listener's
// address and the number of requests its handler saw.
func serveOn(t *testing.T, addr string, o Options) (string, *atomic.Int64) {
	t.Helper()
	var seen atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		_, _ = w.Write([]byte("handled"))
	})
	hs := NewServer(h, Timeouts{}, o, "/socket.io/", Session{}, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close(); <-served })
	return ln.Addr().String(), &seen
}

// rawStatus sends request (its bytes as written) on a new connection to addr and returns the status code of the
// answer.
func rawStatus(t *testing.T, addr, request string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, _ = c.Write([]byte(request)) }() // a refused request is not read to its end
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

// sized returns a request whose request line and header fields (up to, not including, the empty line that
// ends them) take n bytes, the padding in the query (inQuery) or in a header field of its own.
func sized(n int, inQuery bool) string {
	head := func(pad string) string {
		if inQuery {
			return "GET /socket.io/?EIO=4&transport=polling&pad=" + pad + " HTTP/1.1\r\nHost: localhost\r\n"
		}
		return "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + pad + "\r\n"
	}
	pad := strings.Repeat("x", n-len(head("")))
	return head(pad) + "\r\n"
}

// TestHeaderSizeLimit: a request whose line and header fields exceed MaxHeaderBytes (Node's 16 KiB by default)
// gets 431 and never reaches the handler, be the excess in the query or in a header field, by one byte or by
// 900 KB; one exactly at the limit is served.
func TestHeaderSizeLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     Options
		limit int
	}{
		{"default", Options{}, 16 << 10},
		{"configured", Options{MaxHeaderBytes: 4000}, 4000},
	} {
		addr, seen := serveOn(t, "127.0.0.1:0", tc.o)
		for _, inQuery := range []bool{true, false} {
			for _, n := range []int{tc.limit - 100, tc.limit, tc.limit + 1, tc.limit + 4000, 900_000} {
				t.Run(fmt.Sprintf("%s/query=%v/%d", tc.name, inQuery, n), func(t *testing.T) {
					before := seen.Load()
					code := rawStatus(t, addr, sized(n, inQuery))
					if want := http.StatusOK; n <= tc.limit && code != want {
						t.Fatalf("%d bytes: %d, want %d", n, code, want)
					}
					if want := http.StatusRequestHeaderFieldsTooLarge; n > tc.limit && code != want {
						t.Fatalf("%d bytes: %d, want %d", n, code, want)
					}
					if handled := seen.Load() - before; (n <= tc.limit) != (handled == 1) {
						t.Fatalf("%d bytes: the handler ran %d times", n, handled)
					}
				})
			}
		}
	}
	// Negative: net/http's own bound (1 MiB) only.
	addr, _ := serveOn(t, "127.0.0.1:0", Options{MaxHeaderBytes: -1})
	if code := rawStatus(t, addr, sized(900_000, false)); code != http.StatusOK {
		t.Fatalf("MaxHeaderBytes -1, 900 KB: %d, want 200", code)
	}
}

// publicAddr returns an address of this machine that is not a loopback one.
func publicAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() && !ip.IP.IsLinkLocalUnicast() {
			return ip.IP.String()
		}
	}
	t.Fatal("this machine has no IPv4 address besides loopback")
	return ""
}

// TestAllowedHosts: a loopback listener answers localhost and IP addresses only (DNS rebinding: a page of
// evil.example resolved to 127.0.0.1 sends Host: evil.example), the names of AllowedHosts too, and every host
// with "*"; a listener on another address answers every host unless AllowedHosts are given.
func TestAllowedHosts(t *testing.T) {
	public := publicAddr(t)
	for _, tc := range []struct {
		name    string
		listen  string
		o       Options
		allowed []string
		refused []string
	}{
		{"loopback", "127.0.0.1:0", Options{},
			[]string{"localhost", "LOCALHOST:8080", "app.localhost", "127.0.0.1:8080", "[::1]:8080", "10.1.2.3", "localhost."},
			[]string{"evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.evil.example"}},
		{"loopback with names", "127.0.0.1:0", Options{AllowedHosts: []string{"chat.example.com", "*.example.org"}},
			[]string{"localhost:1", "chat.example.com", "Chat.Example.Com:443", "a.example.org", "b.a.example.org"},
			[]string{"evil.example", "example.org", "chat.example.com.evil", "xexample.org"}},
		{"loopback, every host", "127.0.0.1:0", Options{AllowedHosts: []string{"*"}},
			[]string{"evil.example", "localhost"}, nil},
		{"public address", public + ":0", Options{},
			[]string{"evil.example", "chat.example.com", "localhost"}, nil},
		{"public address with names", public + ":0", Options{AllowedHosts: []string{"chat.example.com"}},
			[]string{"chat.example.com", public}, []string{"evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, seen := serveOn(t, tc.listen, tc.o)
			for _, host := range append(append([]string(nil), tc.allowed...), tc.refused...) {
				want := http.StatusOK
				if !slices.Contains(tc.allowed, host) {
					want = http.StatusForbidden
				}
				before := seen.Load()
				req := "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"
				if code := rawStatus(t, addr, req); code != want {
					t.Errorf("Host %s: %d, want %d", host, code, want)
				}
				if handled := seen.Load() - before; (want == http.StatusOK) != (handled == 1) {
					t.Errorf("Host %s: the handler ran %d times", host, handled)
				}
			}
		})
	}
}

// TestReadyzShowsReasonsOnly: /readyz answers 503 with the Reason of an Unready, or nothing of a plain error,
// never the error itself (addresses, users), which is logged when it differs from the last one.
func TestReadyzShowsReasonsOnly(t *testing.T) {
	var failure atomic.Pointer[error]
	ready := func(context.Context) error {
		if p := failure.Load(); p != nil {
			return *p
		}
		return nil
	}
	var logs strings.Builder
	var mu sync.Mutex
	mux := http.NewServeMux()
	HealthHandlers(mux, ready, 0, slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)))
	hs := NewServer(mux, Timeouts{}, Options{}, "/socket.io/", Session{}, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close(); <-served })
	get := func() (int, string) {
		res, err := http.Get("http://" + ln.Addr().String() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io2(res)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, b
	}
	const secret = "dial tcp 10.0.0.5:6379 as user ops"
	for _, tc := range []struct {
		err  error
		code int
		want string
	}{
		{nil, http.StatusOK, "ready\n"},
		{&Unready{Reason: "redis unreachable", Err: errors.New(secret)}, http.StatusServiceUnavailable, "not ready: redis unreachable\n"},
		{fmt.Errorf("wrapped: %w", &Unready{Reason: "cluster subscription", Err: errors.New(secret)}), http.StatusServiceUnavailable, "not ready: cluster subscription\n"},
		{errors.New(secret), http.StatusServiceUnavailable, "not ready (see the server's log)\n"},
		{nil, http.StatusOK, "ready\n"},
	} {
		if tc.err != nil {
			failure.Store(&tc.err)
		} else {
			failure.Store(nil)
		}
		for range 2 {
			if code, body := get(); code != tc.code || body != tc.want {
				t.Errorf("ready() = %v: %d %q, want %d %q", tc.err, code, body, tc.code, tc.want)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), secret); n != 3 {
		t.Errorf("the error logged %d times, want 3 (once per different error):\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "ready again"); n != 1 {
		t.Errorf("\"ready again\" logged %d times, want once:\n%s", n, logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
