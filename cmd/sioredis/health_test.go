package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/chat"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitStatus polls url until it answers want, for up to 20 s.
func waitStatus(t *testing.T, url string, want int) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get(t, url)
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %q, want %d", url, code, body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHealthServe: serve has no cluster, so it is ready as soon as it serves.
func TestHealthServe(t *testing.T) {
	url, _ := startServe(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, url+p); code != http.StatusOK {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
}

// TestHealthChat runs the chat in a cluster on a real redis-server, stops Redis and starts it again: /healthz
// stays 200, /readyz and /api/status go 503 while Redis is away, with the reason but not Redis's address, and
// 200 again once it is back.
func TestHealthChat(t *testing.T) {
	r := testenv.StartRedis(t)
	url, logs := startServing(t, "chat", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "chat.db"),
		"--redis", r.URL(), "--ready-timeout", "300ms")
	status := func() chat.Status {
		_, body := get(t, url+"/api/status")
		var st chat.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("/api/status %q: %v", body, err)
		}
		return st
	}
	waitStatus(t, url+"/readyz", http.StatusOK)
	waitStatus(t, url+"/api/status", http.StatusOK)
	if st := status(); !st.Ready {
		t.Errorf("ready cluster: status %+v", st)
	}

	r.Stop()
	body := waitStatus(t, url+"/readyz", http.StatusServiceUnavailable)
	if body != "not ready: redis unreachable\n" {
		t.Errorf("/readyz with Redis stopped: %q (the reason, not the address it failed to dial)", body)
	}
	if !strings.Contains(logs.String(), r.Addr()) {
		t.Errorf("the reason /readyz fails is not logged:\n%s", logs.String())
	}
	statusBody := waitStatus(t, url+"/api/status", http.StatusServiceUnavailable)
	if st := status(); st.Ready || !strings.Contains(st.Error, "redis") || strings.Contains(statusBody, r.Addr()) || strings.Contains(statusBody, "dial") {
		t.Errorf("Redis stopped: status %s", statusBody)
	}
	if code, _ := get(t, url+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with Redis stopped: %d", code)
	}

	r.Restart()
	waitStatus(t, url+"/readyz", http.StatusOK)
	waitStatus(t, url+"/api/status", http.StatusOK)
}
