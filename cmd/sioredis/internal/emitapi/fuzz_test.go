package emitapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
)

// FuzzRequests sends arbitrary bodies to every route of a Handler whose Redis ends every command (the dry-run
// hook): the answer is always a JSON object with a status the API documents, and a 400 names its field when the
// body was valid JSON of the right shape.
func FuzzRequests(f *testing.F) {
	for _, s := range []string{
		`{"rooms":["room_777"],"event":"my_event_name","args":[{"$binary":"yv4="},{"a":[1,{"$binary":"AA=="}]}]}`,
		`{"emits":[{"event":"a"},{"namespace":"/x","event":"connect"}]}`,
		`{"join":["a"],"rooms":["b"],"except":[""]}`, `{"event":"hello","args":[null]}`, `{"close":true}`, `[]`, `{"args":{}}`,
	} {
		f.Add(s)
	}
	keys, err := apiauth.ParseKeys(strings.NewReader("k sk_fuzz_0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "fuzz.invalid:1", MaxRetries: -1})
	rdb.AddHook(dryHook{})
	defer rdb.Close()
	h, err := New(Config{Redis: rdb, Keys: keys, MaxBodyBytes: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	defer h.Close()
	paths := []string{"/v1/emit", "/v1/emit/batch", "/v1/sockets/join", "/v1/sockets/leave", "/v1/sockets/disconnect", "/v1/server-emit"}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			r := httptest.NewRequest("POST", p, strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer sk_fuzz_0123456789abcdef")
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			switch w.Code {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusBadGateway:
			default:
				t.Fatalf("%s %q: status %d (Redis ends every command: nothing can be published)", p, body, w.Code)
			}
			var e map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e["error"] == nil {
				t.Fatalf("%s %q: answer %q", p, body, w.Body)
			}
		}
	})
}
