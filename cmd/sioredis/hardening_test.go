package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// apiKeyFile writes a key list with one key of every scope, "backend", and returns its path and secret.
func apiKeyFile(t *testing.T) (string, string) {
	t.Helper()
	const secret = "sk_hardening_0123456789abcdef"
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("backend "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return keys, secret
}

// do sends req and returns the status code and body of the answer.
func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusSwitchingProtocols {
		return res.StatusCode, "" // a WebSocket: its body never ends
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestHeaderBound: every server of the command answers 431 to a request whose line and header exceed 16 KiB
// (Node's maxHeaderSize), be it a long-polling handshake with a 900 KB query, a WebSocket handshake with a
// 900 KB header field, or a request of the API; --max-header-bytes raises the bound.
func TestHeaderBound(t *testing.T) {
	rs := testenv.StartRedis(t)
	keys, _ := apiKeyFile(t)
	pad := strings.Repeat("x", 900_000)
	for _, tc := range []struct {
		name string
		args []string
		path string
	}{
		{"serve", []string{"serve", "--addr", "127.0.0.1:0"}, "/socket.io/?EIO=4&transport=polling"},
		{"chat", []string{"chat", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "c.db")}, "/socket.io/?EIO=4&transport=polling"},
		{"api", []string{"api", "--addr", "127.0.0.1:0", "--redis", rs.URL(), "--api-keys", keys}, "/healthz"},
		{"serve raised", []string{"serve", "--addr", "127.0.0.1:0", "--max-header-bytes", "1100000"}, "/socket.io/?EIO=4&transport=polling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := startServing(t, tc.args...)
			want := http.StatusRequestHeaderFieldsTooLarge
			if strings.HasSuffix(tc.name, "raised") {
				want = http.StatusOK
			}
			sep := "?"
			if strings.Contains(tc.path, "?") {
				sep = "&"
			}
			req, _ := http.NewRequest(http.MethodGet, url+tc.path+sep+"pad="+pad, nil)
			if code, body := do(t, req); code != want {
				t.Errorf("900 KB query: %d %.100q, want %d", code, body, want)
			}
			req, _ = http.NewRequest(http.MethodGet, url+strings.Replace(tc.path, "polling", "websocket", 1), nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			req.Header.Set("X-Pad", pad)
			if tc.name != "api" && want == http.StatusOK {
				want = http.StatusSwitchingProtocols
			}
			if code, body := do(t, req); code != want {
				t.Errorf("WebSocket handshake with a 900 KB header: %d %.100q, want %d", code, body, want)
			}
			req, _ = http.NewRequest(http.MethodGet, url+tc.path, nil)
			req.Header.Set("X-Pad", pad[:10_000])
			if code, body := do(t, req); code != http.StatusOK {
				t.Errorf("10 KB header: %d %.100q, want 200", code, body)
			}
		})
	}
}

// TestAllowedHosts: serve and chat on a loopback address refuse a request naming another host (DNS rebinding:
// a page of evil.example whose name resolves to 127.0.0.1), page and Socket.IO handshake alike, unless
// --allowed-host names it; localhost is always answered.
func TestAllowedHosts(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"serve", []string{"serve", "--addr", "127.0.0.1:0"}, http.StatusForbidden},
		{"chat", []string{"chat", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "c.db")}, http.StatusForbidden},
		{"serve allowed", []string{"serve", "--addr", "127.0.0.1:0", "--allowed-host", "evil.example"}, http.StatusOK},
		{"chat allowed", []string{"chat", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "c.db"), "--allowed-host", "*.example"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := startServing(t, tc.args...)
			for _, path := range []string{"/", "/socket.io/?EIO=4&transport=polling"} {
				for host, want := range map[string]int{"evil.example": tc.want, "localhost": http.StatusOK} {
					req, _ := http.NewRequest(http.MethodGet, url+path, nil)
					req.Host = host + ":" + url[strings.LastIndexByte(url, ':')+1:]
					if code, body := do(t, req); code != want {
						t.Errorf("GET %s, Host %s: %d %.100q, want %d", path, req.Host, code, body, want)
					}
				}
			}
		})
	}
}

// TestRedisDownNamesNoAddress: with Redis stopped, what api and serve answer (a 502 of an emit or a batch, a 503
// of /readyz, the page's acknowledgement of a message) says what failed without Redis's address, which goes to
// the log.
func TestRedisDownNamesNoAddress(t *testing.T) {
	rs := testenv.StartRedis(t)
	keys, secret := apiKeyFile(t)
	apiURL, apiLogs := startServing(t, "api", "--addr", "127.0.0.1:0", "--redis", rs.URL(), "--api-keys", keys, "--ready-timeout", "300ms")
	serveURL, serveLogs := startServing(t, "serve", "--addr", "127.0.0.1:0", "--redis", rs.URL(), "--ready-timeout", "300ms")
	waitStatus(t, serveURL+"/readyz", http.StatusOK)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	page, err := client.Dial(ctx, serveURL, client.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	rs.Stop()

	leaks := func(what, body string) {
		t.Helper()
		if strings.Contains(body, rs.Addr()) || strings.Contains(body, "dial tcp") {
			t.Errorf("%s names Redis's address: %q", what, body)
		}
	}
	for path, body := range map[string]string{
		"/v1/emit":       `{"rooms":["r"],"event":"e"}`,
		"/v1/emit/batch": `{"emits":[{"rooms":["r"],"event":"e"}]}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, apiURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		code, got := do(t, req)
		if code != http.StatusBadGateway || !strings.Contains(got, "Redis") {
			t.Errorf("%s with Redis stopped: %d %q, want 502 saying Redis failed", path, code, got)
		}
		leaks(path, got)
	}
	for _, u := range []string{apiURL, serveURL} {
		body := waitStatus(t, u+"/readyz", http.StatusServiceUnavailable)
		if !strings.Contains(body, "redis unreachable") && !strings.Contains(body, "cluster subscription") {
			t.Errorf("%s/readyz: %q, want a reason", u, body)
		}
		leaks(u+"/readyz", body)
	}
	ack, err := client.EmitWithAckAs[json.RawMessage](ctx, page, "say", map[string]string{"room": "room_1", "text": "hello"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("say with Redis stopped: %s", ack)
	leaks("the acknowledgement of a message", string(ack))
	for name, logs := range map[string]*serveLog{"api": apiLogs, "serve": serveLogs} {
		if !strings.Contains(logs.String(), rs.Addr()) {
			t.Errorf("%s's log does not say what failed:\n%s", name, logs.String())
		}
	}
}

// TestRedisPasswordNotShown: a --redis URL with a password (here of a real redis-server that requires it) is
// logged by api, serve and chat with the password replaced by xxxxx, and neither a usage error nor the help's
// default ($REDIS_URL) shows it.
func TestRedisPasswordNotShown(t *testing.T) {
	const password = "s3cret-redis-pw"
	rs := testenv.StartRedis(t)
	if err := rs.Client(t).ConfigSet(t.Context(), "requirepass", password).Err(); err != nil {
		t.Fatal(err)
	}
	redisURL := "redis://default:" + password + "@" + rs.Addr()
	keys, secret := apiKeyFile(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"api", []string{"api", "--addr", "127.0.0.1:0", "--redis", redisURL, "--api-keys", keys}},
		{"serve", []string{"serve", "--addr", "127.0.0.1:0", "--redis", redisURL}},
		{"chat", []string{"chat", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "c.db"), "--redis", redisURL}},
		{"api, a list of URLs", []string{"api", "--addr", "127.0.0.1:0", "--sentinel-master", "m", "--redis", "redis://" + rs.Addr() + "," + redisURL, "--api-keys", keys}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, logs := startServing(t, tc.args...)
			if tc.name == "api" {
				req, _ := http.NewRequest(http.MethodPost, url+"/v1/emit", strings.NewReader(`{"rooms":["r"],"event":"e"}`))
				req.Header.Set("Authorization", "Bearer "+secret)
				req.Header.Set("Content-Type", "application/json")
				if code, body := do(t, req); code != http.StatusOK {
					t.Errorf("emit through the password-protected Redis: %d %s", code, body)
				}
			}
			if strings.Contains(logs.String(), password) || !strings.Contains(logs.String(), "default:xxxxx@") {
				t.Errorf("the log shows the password, or not the redacted URL:\n%s", logs.String())
			}
		})
	}
	for _, args := range [][]string{
		{"api", "--redis", "redis://default:" + password + "@" + rs.Addr() + ":bad"},
		{"serve", "--redis", "redis://default:" + password + "@host:port/0"},
		{"serve", "--cluster", "--redis", "redis://default:" + password + "@host:port/0"},
	} {
		code, stderr := cli(t, "", args...)
		if code != 2 || strings.Contains(stderr, password) {
			t.Errorf("%q: status %d, %q (want 2 without the password)", args, code, stderr)
		}
	}
	t.Setenv("REDIS_URL", redisURL)
	var stdout, stderr strings.Builder
	run(t.Context(), []string{"serve", "-h"}, strings.NewReader(""), &stdout, &stderr)
	if help := stdout.String() + stderr.String(); strings.Contains(help, password) || !strings.Contains(help, "xxxxx") {
		t.Errorf("serve -h with $REDIS_URL shows the password, or not its redacted default:\n%s", help)
	}
}

// clientFrom returns an HTTP client whose connections come from the loopback address ip (such as 127.0.0.2),
// so that a server can tell it from a proxy on 127.0.0.1.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
}

// TestSpoofedForwardedFor: "sioredis api --trusted-proxy 127.0.0.1" behind a Go reverse proxy (which appends
// the client's address to X-Forwarded-For and passes every other header on): a client that sends its own
// rotating Forwarded: for= or X-Forwarded-For is still limited as one address, its own, and another client
// keeps its own allowance.
func TestSpoofedForwardedFor(t *testing.T) {
	rs := testenv.StartRedis(t)
	keys, secret := apiKeyFile(t)
	backend, _ := startServing(t, "api", "--addr", "127.0.0.1:0", "--redis", rs.URL(), "--api-keys", keys,
		"--trusted-proxy", "127.0.0.1", "--ip-rate", "0.01", "--ip-burst", "5")
	target, err := neturl.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(proxy.Close)
	send := func(cl *http.Client, header, value string) int {
		req, _ := http.NewRequest(http.MethodPost, proxy.URL+"/v1/emit", strings.NewReader(`{"rooms":["r"],"event":"e"}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		if header != "" {
			req.Header.Set(header, value)
		}
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for i, tc := range []struct{ client, header, format string }{
		{"127.0.0.2", "Forwarded", "for=198.51.100.%d"},
		{"127.0.0.3", "X-Forwarded-For", "198.51.100.%d"},
		{"127.0.0.4", "Forwarded", `for="[2001:db8::%x]:1"`},
	} {
		cl := clientFrom(tc.client)
		passed := 0
		for j := range 20 {
			if code := send(cl, tc.header, fmt.Sprintf(tc.format, 20*i+j+1)); code == http.StatusOK {
				passed++
			} else if code != http.StatusTooManyRequests {
				t.Fatalf("%s: status %d", tc.client, code)
			}
		}
		if passed != 5 {
			t.Errorf("client %s rotating its own %s: %d of 20 requests passed, want the burst of its one address, 5", tc.client, tc.header, passed)
		}
	}
}

// TestSessionSecrets: the chat refuses a session secret that cannot be random (40 spaces, in the environment;
// a file of them, which holds nothing once trimmed) with exit status 2, and during a rotation takes the cookies
// signed with the previous secret as well as the new one's, and no other.
func TestSessionSecrets(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const current, previous = "Xq3ll0Zk3Jd5x1Pv+Q8cU0oYtF2Wb6sN9rE4hG7mA1k=", "f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f"
	t.Setenv(sessionSecretEnv, "")
	t.Setenv(previousSecretEnv, "")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"40 spaces in the environment", map[string]string{sessionSecretEnv: strings.Repeat(" ", 40)}, nil},
		{"a file of 40 spaces", nil, []string{"--session-secret-file", file("spaces", strings.Repeat(" ", 40))}},
		{"repeated", nil, []string{"--session-secret-file", file("repeated", strings.Repeat("changeme", 5))}},
		{"weak previous", nil, []string{"--session-secret-file", file("ok", current), "--session-secret-previous-file", file("weak", strings.Repeat("ab", 20))}},
		{"previous alone", map[string]string{previousSecretEnv: previous}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"chat", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "c.db")}, tc.args...)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // a chat that started stops then
			defer cancel()
			var stderr serveLog
			if code := run(ctx, args, strings.NewReader(""), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "secret") {
				t.Errorf("status %d, %q; want 2 about the secret", code, stderr.String())
			}
		})
	}

	url, _ := startServing(t, "chat", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "c.db"),
		"--session-secret-file", file("current", current+"\n"), "--session-secret-previous-file", file("previous", previous))
	cookie := func(secret string) string {
		s, err := apiauth.NewSessions([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.Sign(apiauth.Identity{User: "ann", Expires: time.Now().Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name, secret string
		want         int
	}{
		{"current", current, http.StatusCreated},
		{"previous", previous, http.StatusCreated},
		{"another", "Wn4kP0s9Lq2Xc7Vb1Mz6Hr3Tj8Fy5Gd0", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodPost, url+"/api/messages", strings.NewReader(`{"room":"r","body":"hi"}`))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: apiauth.DefaultSessionCookie, Value: cookie(tc.secret)})
		if code, body := do(t, req); code != tc.want {
			t.Errorf("a cookie of the %s secret: %d %s, want %d", tc.name, code, body, tc.want)
		}
	}
}

var metricsLogged = regexp.MustCompile(`metrics=(http://127\.0\.0\.1:\d+)/metrics`)

// metricsURL returns the base URL of the metrics address that a command started with --metrics-addr logs.
func metricsURL(t *testing.T, logs *serveLog) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := metricsLogged.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no metrics address logged:\n%s", logs.String())
	return ""
}

// TestMetricsAddress: where API keys or session cookies protect a server (api; chat with keys or a secret),
// GET /metrics is not on its address; with --metrics-addr it is on that address only, with /healthz and
// /readyz, in every command; an anonymous server (serve, a plain chat) keeps it on its address by default.
func TestMetricsAddress(t *testing.T) {
	rs := testenv.StartRedis(t)
	keys, _ := apiKeyFile(t)
	db := func() string { return filepath.Join(t.TempDir(), "c.db") }
	for _, tc := range []struct {
		name   string
		args   []string
		onMain bool
	}{
		{"api", []string{"api", "--redis", rs.URL(), "--api-keys", keys}, false},
		{"chat with keys", []string{"chat", "--db", db(), "--api-keys", keys}, false},
		{"chat anonymous", []string{"chat", "--db", db()}, true},
		{"serve", []string{"serve"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, own := range []bool{false, true} {
				args := append([]string{tc.args[0], "--addr", "127.0.0.1:0"}, tc.args[1:]...)
				if own {
					args = append(args, "--metrics-addr", "127.0.0.1:0")
				}
				url, logs, stop := startServingStop(t, args...)
				want := http.StatusNotFound
				if tc.onMain && !own {
					want = http.StatusOK
				}
				if code, body := get(t, url+"/metrics"); code != want || (want == http.StatusOK) != strings.Contains(body, "go_goroutines") {
					t.Errorf("--metrics-addr given %v: GET /metrics on --addr: %d, want %d", own, code, want)
				}
				if code, _ := get(t, url+"/healthz"); code != http.StatusOK {
					t.Errorf("--metrics-addr given %v: GET /healthz on --addr: %d", own, code)
				}
				if own {
					m := metricsURL(t, logs)
					for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
						if code, body := get(t, m+p); code != http.StatusOK {
							t.Errorf("GET %s on --metrics-addr: %d %.100q", p, code, body)
						}
					}
				}
				stop()
			}
		})
	}
}
