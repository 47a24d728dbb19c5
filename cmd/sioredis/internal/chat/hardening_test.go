package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestIdempotencyKeyBoundToRequest: a key used again with another room, author or body is refused with 422
// (IETF idempotency-key draft), the new message is not silently dropped; the same request again is a retry.
func TestIdempotencyKeyBoundToRequest(t *testing.T) {
	store := openTestStore(t)
	app := startApp(t, Config{Store: store})
	first := post(t, app.url, Post{Room: "r", Author: "ann", Body: "first"}, http.StatusCreated, "Idempotency-Key", "k")
	for _, p := range []Post{
		{Room: "r", Author: "ann", Body: "second"},
		{Room: "other", Author: "ann", Body: "first"},
		{Room: "r", Author: "bob", Body: "first"},
	} {
		body, _ := json.Marshal(p)
		code, b := do(t, http.MethodPost, app.url+"/api/messages", "application/json", string(body), "Idempotency-Key", "k")
		var e apiError
		if err := json.Unmarshal(b, &e); err != nil || code != http.StatusUnprocessableEntity || e.Field != "Idempotency-Key" ||
			!strings.Contains(e.Error, "another room, author or body") {
			t.Errorf("POST %s with a used key: %d %s, want 422 about the Idempotency-Key", body, code, b)
		}
	}
	again := post(t, app.url, Post{Room: "r", Author: "ann", Body: "first"}, http.StatusOK, "Idempotency-Key", "k")
	if again.Message.ID != first.Message.ID {
		t.Errorf("a retry got message %s, want %s", again.Message.ID, first.Message.ID)
	}
	if total, _ := count(t, store); total != 1 {
		t.Errorf("%d messages saved, want 1", total)
	}
}

// TestCrossSiteRefused: a page on another site cannot post messages (a form or a no-cors fetch would otherwise
// save them: D5); the page itself, non-browser clients and the allowed origins can.
func TestCrossSiteRefused(t *testing.T) {
	store := openTestStore(t)
	app := startApp(t, Config{Store: store, AllowedOrigins: []string{"https://app.example.com"}})
	const form = "application/x-www-form-urlencoded"
	body := url.Values{"room": {"r"}, "body": {"b"}}.Encode()
	for _, tt := range []struct {
		header []string
		want   int
	}{
		{[]string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, http.StatusForbidden},
		{[]string{"Sec-Fetch-Site", "same-site", "Origin", "http://sub.127.0.0.1"}, http.StatusForbidden},
		{[]string{"Origin", "https://evil.example"}, http.StatusForbidden}, // an older browser: Origin only
		{[]string{"Origin", "null"}, http.StatusForbidden},                 // a sandboxed frame
		{nil, http.StatusCreated}, // curl, another backend
		{[]string{"Sec-Fetch-Site", "same-origin", "Origin", app.url}, http.StatusCreated},
		{[]string{"Origin", app.url}, http.StatusCreated},
		{[]string{"Sec-Fetch-Site", "cross-site", "Origin", "https://app.example.com"}, http.StatusCreated},
	} {
		code, b := do(t, http.MethodPost, app.url+"/api/messages", form, body, tt.header...)
		if code != tt.want {
			t.Errorf("POST with %q: %d %s, want %d", tt.header, code, b, tt.want)
		}
		if code == http.StatusForbidden && !strings.Contains(string(b), `"field":"Origin"`) {
			t.Errorf("403 answer %s, want a JSON error about the Origin", b)
		}
	}
	if total, _ := count(t, store); total != 4 {
		t.Errorf("%d messages saved, want the 4 allowed", total)
	}
}

// TestCrossSiteRefusedInChromium: a real page on another site posts a form and a no-cors fetch to the chat;
// neither is saved.
func TestCrossSiteRefusedInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store := openTestStore(t)
	app := startApp(t, Config{Store: store})
	target := app.url + "/api/messages"
	evil := http.NewServeMux()
	evil.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id=f method=post action=%q><input name=room value=r><input name=body value=form></form>
<script>fetch(%q, {method: "POST", mode: "no-cors", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "room=r&body=fetch"})
  .finally(() => { document.title = "fetched"; document.getElementById("f").submit(); });</script>`, target, target)
	})
	evilURL := startHTTP(t, evil)
	// localhost and 127.0.0.1 are different sites.
	evilURL = strings.Replace(evilURL, "127.0.0.1", "localhost", 1)
	b := testenv.StartChromium(t)
	defer b.Close()
	p := b.Open(ctx, evilURL)
	p.WaitEval(ctx, `location.href.startsWith(`+jsString(target)+`) ? "submitted" : document.title`, "submitted")
	if got := p.Eval(ctx, "document.body.innerText"); !strings.Contains(got, "cross-site request refused") {
		t.Errorf("the form's answer: %q, want the 403 error", got)
	}
	if total, _ := count(t, store); total != 0 {
		t.Errorf("%d messages saved from another site", total)
	}
	// The chat's own page still posts (same origin).
	page := openChat(ctx, b, app.url, "r", "ann")
	page.send("from the page")
	page.waitState(t, "from the page", "delivered")
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestPageSecurityHeaders: the page forbids framing and allows only its own scripts.
func TestPageSecurityHeaders(t *testing.T) {
	app := startApp(t, Config{Store: openTestStore(t)})
	res, err := httpClient.Get(app.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	if res.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") ||
		!strings.Contains(csp, "script-src 'self' 'sha256-") {
		t.Errorf("headers %v", res.Header)
	}
}

// TestMaxBodyBoundedByPayload: --max-body cannot exceed what can be published, and the longest message allowed,
// with the longest room and author, is published (before: 201 with "state":"rejected").
func TestMaxBodyBoundedByPayload(t *testing.T) {
	const payload = 4096
	if _, err := New(Config{Store: openTestStore(t), MaxPayload: payload, MaxBodyLen: payload}); !errors.Is(err, ErrConfig) {
		t.Fatalf("New with a body limit above the payload limit: %v, want ErrConfig", err)
	}
	rs := testenv.StartRedis(t)
	store := openTestStore(t)
	app := startApp(t, Config{Store: store, Redis: rs.Client(t), MaxPayload: payload, MaxBodyLen: MaxBodyFor(payload)})
	// Multi-byte characters and characters that JSON escapes, at the limits.
	room := strings.Repeat("é", MaxRoomLen/2)
	author := strings.Repeat("<", MaxAuthorLen)
	body := strings.Repeat("\u2028", MaxBodyFor(payload)/3-1) + "x"
	r := post(t, app.url, Post{Room: room, Author: author, Body: body}, http.StatusCreated)
	if r.State != StatePublished {
		t.Fatalf("the longest message: state %q, want published", r.State)
	}
}

// TestRoomsPerConnectionBounded: a handshake naming more rooms than MaxRooms is refused; before, 90 000 names
// cost 5.5 MB per connection. (The request line is bounded too, at 16 KiB: 1500 names fit in it.)
func TestRoomsPerConnectionBounded(t *testing.T) {
	app := startApp(t, Config{Store: openTestStore(t)})
	names := make([]string, 1500)
	for i := range names {
		names[i] = fmt.Sprint("r", i)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	const conns = 5
	var answers []string
	for range conns {
		answers = append(answers, pollSession(t, app.url, "rooms="+strings.Join(names, ",")))
	}
	grown := int64(heap()) - int64(before)
	t.Logf("heap after %d connections naming %d rooms each: %+d bytes", conns, len(names), grown)
	for _, got := range answers {
		if !strings.Contains(got, `"refused"`) || !strings.Contains(got, "\x1e41") && !strings.Contains(got, "\x1e1") {
			t.Fatalf("a handshake with %d rooms: %.300q, want refused and disconnected", len(names), got)
		}
	}
	if grown > 5<<20 {
		t.Errorf("heap grew by %d bytes", grown)
	}
	if n := app.IO().Engine().Len(); n != 0 {
		t.Errorf("%d connections still open", n)
	}
	// MaxRooms rooms are fine; one more with "join" is refused in the acknowledgement, one already joined is not.
	got, sid := pollSessionSID(t, app.url, "rooms="+strings.Join(names[:DefaultMaxRooms], ","), true)
	if strings.Contains(got, `"refused"`) {
		t.Fatalf("a handshake with %d rooms: %q", DefaultMaxRooms, got)
	}
	u := app.url + "/socket.io/?EIO=4&transport=polling&sid=" + sid
	res, err := httpClient.Post(u, "text/plain", strings.NewReader(`421["join","one too many"]`+"\x1e"+`422["join","r0"]`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	code, b := do(t, http.MethodGet, u, "", "")
	if code != http.StatusOK || !strings.Contains(string(b), `431[{"error":"chat: at most 100 rooms per connection"}]`) ||
		!strings.Contains(string(b), `432[{"room":"r0"}]`) {
		t.Fatalf("joins past the limit: %d %q", code, b)
	}
}

// pollSession opens an Engine.IO long-polling session with the query q, joins "/" and returns what the server
// sends in the next second, packets separated by 0x1e.
func pollSession(t *testing.T, base, q string) string {
	t.Helper()
	got, _ := pollSessionSID(t, base, q, false)
	return got
}

// pollSessionSID is pollSession, also returning the session id. With untilConnected it stops long-polling once
// the CONNECT answer has come, so that the session lives on: a long-polling GET abandoned by its client ends the
// session (as in the reference server, and as the Engine.IO test suite checks).
func pollSessionSID(t *testing.T, base, q string, untilConnected bool) (string, string) {
	t.Helper()
	short := &http.Client{Timeout: time.Second}
	get := func(u string) (string, error) {
		res, err := short.Get(u)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			return string(b), fmt.Errorf("status %d", res.StatusCode)
		}
		return string(b), err
	}
	open, err := get(base + "/socket.io/?EIO=4&transport=polling&" + q)
	if err != nil || !strings.Contains(open, `"sid":"`) {
		t.Fatalf("handshake: %.200q %v", open, err)
	}
	sid := strings.Split(strings.SplitN(open, `"sid":"`, 2)[1], `"`)[0]
	u := base + "/socket.io/?EIO=4&transport=polling&sid=" + sid
	res, err := httpClient.Post(u, "text/plain", strings.NewReader("40"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var got strings.Builder
	for range 5 {
		s, err := get(u)
		got.WriteString("\x1e" + s)
		if err != nil || (untilConnected && strings.Contains(s, `40{"sid"`)) { // the end of the session, or connected
			break
		}
	}
	return got.String(), sid
}

// startHTTP serves h on a free loopback port until the test ends.
func startHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return "http://" + ln.Addr().String()
}
