package emitapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
)

// TestMethodAndMediaType: a known path asked with another method gets 405 and its Allow header, a POST whose
// body is not declared as JSON 415, both as JSON errors; a JSON POST reaches the key check (401 without a key).
func TestMethodAndMediaType(t *testing.T) {
	keys, err := apiauth.ParseKeys(strings.NewReader("k sk_routes_0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "routes.invalid:1", MaxRetries: -1})
	rdb.AddHook(dryHook{})
	defer rdb.Close()
	h, err := New(Config{Redis: rdb, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, c := range []struct {
		method, path, contentType string
		code                      int
		allow                     string
	}{
		{"GET", "/v1/emit", "", 405, "POST"},
		{"PUT", "/v1/emit/batch", "application/json", 405, "POST"},
		{"DELETE", "/v1/sockets/join", "", 405, "POST"},
		{"GET", "/v1/server-emit", "", 405, "POST"},
		{"POST", "/v1/openapi.json", "application/json", 405, "GET, HEAD"},
		{"POST", "/v1/emit", "", 415, ""},
		{"POST", "/v1/emit", "text/plain", 415, ""},
		{"POST", "/v1/sockets/leave", "application/x-www-form-urlencoded", 415, ""},
		{"POST", "/v1/emit", "application/json;;", 415, ""},
		{"POST", "/v1/emit", "application/json", 401, ""},
		{"POST", "/v1/emit", "Application/JSON; charset=utf-8", 401, ""},
		{"GET", "/v1/openapi.json", "", 200, ""},
		{"GET", "/v1/nothing", "", 404, ""},
	} {
		r := httptest.NewRequest(c.method, c.path, strings.NewReader(`{"event":"e"}`))
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.code || w.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s (%q): %d, Allow %q; want %d, Allow %q: %s", c.method, c.path, c.contentType, w.Code, w.Header().Get("Allow"), c.code, c.allow, w.Body)
		}
		var body map[string]any
		if c.code != 200 && (json.Unmarshal(w.Body.Bytes(), &body) != nil || body["error"] == nil) {
			t.Errorf("%s %s: answer is not a JSON error: %q", c.method, c.path, w.Body)
		}
	}
}
