package chat

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzPost feeds arbitrary bodies to the POST decoder and the message checks: they never panic, answer 400, 413
// or 415 with an error, or accept a message that obeys every rule (among them: no U+FFFD that was not sent, no
// format character in a room name).
func FuzzPost(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"room":"room_777","author":"ann","body":"hello"}`},
		{"application/json", `{"room":"r","body":"a\u0000b"}`},
		{"application/json", `{"room":"r","body":"  line\n\tline  "}`},
		{"application/json", `{"room":"r","body":"b"} {}`},
		{"application/json; charset=utf-8", `{"room":"\ud800","body":"x"}`},
		{"application/json", `{"room":"r","body":"\ud83d\ude00 \udc00"}`},
		{"application/json", "{\"room\":\"r\",\"body\":\"\xff\"}"},
		{"application/json", `{"room":"a\u200db","body":"x"}`},
		{"application/x-www-form-urlencoded", "room=r&body=%ED%A0%80"},
		{"application/x-www-form-urlencoded", "room=r&body=%E2%82%AC&author=a"},
		{"application/x-www-form-urlencoded", "room=r&body=b&body=c"},
		{"text/plain", "x"},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	app, err := New(Config{Store: openTestStore(f), MaxBodyLen: 64, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/messages", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", contentType)
		p, code, err := app.readPost(httptest.NewRecorder(), req)
		if err != nil {
			if code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge && code != http.StatusUnsupportedMediaType {
				t.Fatalf("error %v with status %d", err, code)
			}
			return
		}
		m, err := newMessage(p, 64, time.Now())
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("newMessage: %v is not ErrInvalid", err)
			}
			return
		}
		sentFFFD := strings.Contains(string(body), "\ufffd") || strings.Contains(strings.ToLower(string(body)), `\ufffd`) ||
			strings.Contains(strings.ToUpper(string(body)), "%EF%BF%BD")
		for field, v := range map[string]string{"room": m.Room, "author": m.Author, "body": m.Body} {
			if !utf8.ValidString(v) || v == "" {
				t.Fatalf("%s %q accepted", field, v)
			}
			if strings.ContainsRune(v, utf8.RuneError) && !sentFFFD {
				t.Fatalf("%s %q: text that was not Unicode accepted as U+FFFD", field, v)
			}
			if field == "room" && strings.IndexFunc(v, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) >= 0 {
				t.Fatalf("room %q with a format character accepted", v)
			}
			for _, r := range v {
				if unicode.IsControl(r) && (field != "body" || (r != '\n' && r != '\t')) {
					t.Fatalf("%s %q with a control character accepted", field, v)
				}
			}
		}
		if len(m.Room) > MaxRoomLen || len(m.Author) > MaxAuthorLen || len(m.Body) > 64 || m.Body != strings.TrimSpace(m.Body) {
			t.Fatalf("message %+v breaks a limit", m)
		}
	})
}
