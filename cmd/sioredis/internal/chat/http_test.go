package chat

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Bad requests get a clear error, and nothing is saved or published.
func TestPostRejected(t *testing.T) {
	store := openTestStore(t)
	app := startApp(t, Config{Store: store, MaxBodyLen: 100})
	const js = "application/json"
	const form = "application/x-www-form-urlencoded"
	huge := `{"room":"r","body":"` + strings.Repeat(`\u00e9`, 2000) + `"}`
	tests := []struct {
		name        string
		contentType string
		body        string
		header      []string
		status      int
		field       string
		errContains string
	}{
		{"no content type", "", `{"room":"r","body":"b"}`, nil, 415, "", "Content-Type"},
		{"text/plain", "text/plain", `{"room":"r","body":"b"}`, nil, 415, "", "Content-Type"},
		{"multipart", "multipart/form-data; boundary=x", "--x--", nil, 415, "", "Content-Type"},
		{"not JSON", js, `{"room":`, nil, 400, "", "unexpected EOF"},
		{"JSON array", js, `["r","b"]`, nil, 400, "", "cannot unmarshal"},
		{"body a number", js, `{"room":"r","body":1}`, nil, 400, "body", "cannot unmarshal"},
		{"lone surrogate", js, `{"room":"r","body":"a\ud800"}`, nil, 400, "body", "lone surrogate"},
		{"lone low surrogate in room", js, `{"room":"\udc00","body":"b"}`, nil, 400, "room", "lone surrogate"},
		{"not UTF-8", js, "{\"room\":\"r\",\"author\":\"\xff\",\"body\":\"b\"}", nil, 400, "author", "not UTF-8"},
		{"form: not UTF-8", form, "room=r&body=%FF", nil, 400, "body", "not valid UTF-8"},
		{"form: surrogate in UTF-8 bytes", form, "room=r&body=%ED%A0%80", nil, 400, "body", "not valid UTF-8"},
		{"format character in room", js, `{"room":"a\u200bb","body":"b"}`, nil, 400, "room", "format character"},
		{"bidi override in room", js, `{"room":"\u202eevil","body":"b"}`, nil, 400, "room", "format character"},
		{"unknown field", js, `{"room":"r","body":"b","admin":true}`, nil, 400, "", "unknown field"},
		{"two objects", js, `{"room":"r","body":"b"}{"room":"r","body":"c"}`, nil, 400, "", "after the JSON"},
		{"empty room", js, `{"room":"","body":"b"}`, nil, 400, "room", "empty"},
		{"blank body", js, `{"room":"r","body":"  "}`, nil, 400, "body", "empty"},
		{"body over the limit", js, `{"room":"r","body":"` + strings.Repeat("x", 101) + `"}`, nil, 400, "body", "more than 100"},
		{"request too large", js, huge, nil, 413, "", "request body over"},
		{"control character", js, `{"room":"r","body":"a\u0007"}`, nil, 400, "body", "control character"},
		{"form: unknown field", form, "room=r&body=b&x=1", nil, 400, "x", "unknown field"},
		{"form: body twice", form, "room=r&body=b&body=c", nil, 400, "body", "2 times"},
		{"form: bad escape", form, "room=r&body=%zz", nil, 400, "", "invalid URL escape"},
		{"form: no room", form, "body=b", nil, 400, "room", "empty"},
		{"form: request too large", form, "room=r&body=" + strings.Repeat("%C3%A9", 2000), nil, 413, "", "request body over"},
		{"bad idempotency key", js, `{"room":"r","body":"b"}`, []string{"Idempotency-Key", "a b"}, 400, "Idempotency-Key", "printable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := do(t, http.MethodPost, app.url+"/api/messages", tt.contentType, tt.body, tt.header...)
			var e apiError
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("answer %s: %v", b, err)
			}
			if code != tt.status || e.Field != tt.field || !strings.Contains(e.Error, tt.errContains) {
				t.Fatalf("got %d %s, want %d, field %q, error containing %q", code, b, tt.status, tt.field, tt.errContains)
			}
		})
	}
	if total, _ := count(t, store); total != 0 {
		t.Fatalf("%d messages saved from bad requests", total)
	}
}

func TestPostAndHistory(t *testing.T) {
	store := openTestStore(t)
	app := startApp(t, Config{Store: store})

	r := post(t, app.url, Post{Room: "room_777", Author: "ann", Body: "hello"}, http.StatusCreated)
	if r.State != StatePublished || r.Message.Room != "room_777" || r.Message.Body != "hello" || r.Message.Author != "ann" || r.Message.Seq <= 0 {
		t.Fatalf("got %+v", r)
	}
	// An HTML form posts too.
	code, b := do(t, http.MethodPost, app.url+"/api/messages", "application/x-www-form-urlencoded",
		url.Values{"room": {"room_777"}, "body": {"from a form"}}.Encode())
	if code != http.StatusCreated || !strings.Contains(string(b), `"author":"anonymous","body":"from a form"`) {
		t.Fatalf("form post: %d %s", code, b)
	}
	// The same Idempotency-Key twice saves once; the repeat gets 200 and the first message.
	first := post(t, app.url, Post{Room: "room_777", Body: "once"}, http.StatusCreated, "Idempotency-Key", "k1")
	again := post(t, app.url, Post{Room: "room_777", Body: "once"}, http.StatusOK, "Idempotency-Key", "k1")
	if again.Message != first.Message || again.State != StatePublished {
		t.Fatalf("repeat got %+v, want %+v", again, first)
	}
	post(t, app.url, Post{Room: "elsewhere", Body: "other room"}, http.StatusCreated)

	history := func(query string) (int, string) {
		code, b := do(t, http.MethodGet, app.url+"/api/messages?"+query, "", "")
		if code != http.StatusOK {
			return code, string(b)
		}
		var h History
		if err := json.Unmarshal(b, &h); err != nil {
			t.Fatal(err)
		}
		return code, bodies(h.Messages)
	}
	tests := []struct {
		query string
		code  int
		want  string
	}{
		{"room=room_777", 200, "hello from a form once "},
		{"room=room_777&limit=2", 200, "from a form once "},
		{"room=room_777&before=" + jsonInt(first.Message.Seq), 200, "hello from a form "},
		{"room=nobody", 200, ""},
		{"room=", 400, `{"error":"chat: invalid room: empty","field":"room"}` + "\n"},
		{"room=r&limit=0", 400, `{"error":"chat: invalid limit: \"0\" is not a number from 1 to 200","field":"limit"}` + "\n"},
		{"room=r&limit=201", 400, ""},
		{"room=r&before=x", 400, ""},
		{"room=r&before=-1", 400, ""},
	}
	for _, tt := range tests {
		code, got := history(tt.query)
		if code != tt.code || (tt.want != "" || code == 200) && got != tt.want {
			t.Errorf("GET ?%s: %d %q, want %d %q", tt.query, code, got, tt.code, tt.want)
		}
	}
	// An empty history is [], not null.
	if _, b := do(t, http.MethodGet, app.url+"/api/messages?room=nobody", "", ""); string(b) != `{"messages":[]}`+"\n" {
		t.Errorf("empty history: %s", b)
	}

	code, b = do(t, http.MethodGet, app.url+"/api/status", "", "")
	if code != http.StatusOK || string(b) != `{"messages":4,"pending":0,"publisher":"local","database":"ok","ready":true}`+"\n" {
		t.Errorf("status: %d %s", code, b)
	}
	code, b = do(t, http.MethodGet, app.url+"/api/config", "", "")
	if code != http.StatusOK || string(b) != `{"event":"message","maxBodyLen":4000,"namespace":"/"}`+"\n" {
		t.Errorf("config: %d %s", code, b)
	}
	for path, want := range map[string]int{"/": 200, "/socket.io.min.js": 200, "/socket.io-client.LICENSE": 200, "/index.html": 404, "/api/nothing": 404} {
		if code, _ := do(t, http.MethodGet, app.url+path, "", ""); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	if code, _ := do(t, http.MethodDelete, app.url+"/api/messages", "", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", code)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestNewConfigErrors(t *testing.T) {
	store := openTestStore(t)
	for name, cfg := range map[string]Config{
		"no store":       {},
		"reserved event": {Store: store, Event: "connect"},
		"glob namespace": {Store: store, Namespace: "/a*"},
		"glob prefix":    {Store: store, Prefix: "socket.io*"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Run stops promptly and cleanly while a long-polling request is waiting.
func TestRunStopsDuringLongPoll(t *testing.T) {
	app := startApp(t, Config{Store: openTestStore(t)})
	_, b := do(t, http.MethodGet, app.url+"/socket.io/?EIO=4&transport=polling", "", "")
	var open struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal(b[1:], &open); err != nil || open.Sid == "" {
		t.Fatalf("handshake %s: %v", b, err)
	}
	poll := make(chan int, 1)
	go func() {
		res, err := httpClient.Get(app.url + "/socket.io/?EIO=4&transport=polling&sid=" + open.Sid)
		if err != nil {
			poll <- 0
			return
		}
		res.Body.Close()
		poll <- res.StatusCode
	}()
	time.Sleep(100 * time.Millisecond) // the poll is waiting
	start := time.Now()
	app.stop() // fails the test if Run returns an error
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %v to stop", d)
	}
	<-poll
}
