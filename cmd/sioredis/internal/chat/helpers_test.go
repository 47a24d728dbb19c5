package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
)

// openTestStore opens a store in a fresh file, closed at cleanup.
func openTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// running is an App served on a loopback port by Run, until stop or the end of the test.
type running struct {
	*App
	url  string
	stop func()
}

// startApp runs New(cfg) on a free loopback port. Run's error fails the test.
func startApp(t testing.TB, cfg Config) *running {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Run did not return")
		}
	}
	t.Cleanup(stop)
	return &running{App: app, url: "http://" + ln.Addr().String(), stop: stop}
}

var httpClient = &http.Client{Timeout: 20 * time.Second}

// do sends one request and returns the status and the body.
func do(t testing.TB, method, url, contentType, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// post posts a JSON message and decodes the answer; want is the expected status (0: any).
func post(t testing.TB, base string, p Post, want int, header ...string) PostResult {
	t.Helper()
	body, _ := json.Marshal(p)
	code, b := do(t, http.MethodPost, base+"/api/messages", "application/json", string(body), header...)
	if want != 0 && code != want {
		t.Fatalf("POST %s: %d %s, want %d", body, code, b, want)
	}
	var r PostResult
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&r); err != nil {
		t.Fatalf("POST answer %s: %v", b, err)
	}
	return r
}

// count returns the number of stored and pending messages.
func count(t testing.TB, s *Store) (total, pending int) {
	t.Helper()
	total, pending, err := s.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return total, pending
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// emitterFor returns a classic emitter with a payload limit.
func emitterFor(rdb redis.UniversalClient, maxPayload int) (*emitter.Emitter, error) {
	return emitter.New(rdb, emitter.WithMaxPayload(maxPayload))
}
