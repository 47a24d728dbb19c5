package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestAPICommand runs "sioredis api": without a key list it refuses to start; with one, an authenticated emit is
// published in the classic format and an unauthenticated one gets 401.
func TestAPICommand(t *testing.T) {
	rs := testenv.StartRedis(t)
	var stderr strings.Builder
	t.Setenv(apiKeysEnv, "")
	if code := run(t.Context(), []string{"api", "--redis", rs.URL()}, strings.NewReader(""), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "no API key") {
		t.Fatalf("without keys: status %d, %s", code, stderr.String())
	}
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("backend sk_cli_0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := subscribeAll(t, rs.Client(t))
	url, logs := startServing(t, "api", "--addr", "127.0.0.1:0", "--redis", rs.URL(), "--api-keys", keys, "--metrics-addr", "127.0.0.1:0")
	send := func(key string) int {
		req, _ := http.NewRequest("POST", url+"/v1/emit", strings.NewReader(`{"rooms":["room_777"],"event":"my_event_name","args":["x"]}`))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := send(""); code != http.StatusUnauthorized {
		t.Fatalf("no key: %d", code)
	}
	if code := send("sk_cli_0123456789abcdef"); code != http.StatusOK {
		t.Fatalf("emit: %d", code)
	}
	select {
	case m := <-s.msgs:
		if m.Channel != "socket.io#/#room_777#" {
			t.Fatalf("published on %s", m.Channel)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing published")
	}
	// A batch refused by its dry run publishes nothing, and its dry run is not observed as publishes or errors.
	req, _ := http.NewRequest("POST", url+"/v1/emit/batch", strings.NewReader(`{"emits":[{"event":"ok"},{"event":"connect"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk_cli_0123456789abcdef")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad batch: %d", res.StatusCode)
	}
	m := scrapeMetrics(t, metricsURL(t, logs))
	if got := m.value("sioredis_emitter_published_total", "mode=classic"); got != 1 {
		t.Errorf("sioredis_emitter_published_total = %v after one emit, want 1", got)
	}
	if got := m.value("sioredis_emitter_publish_errors_total"); got > 0 {
		t.Errorf("sioredis_emitter_publish_errors_total = %v, want none (the dry run is not observed)", got)
	}
}
