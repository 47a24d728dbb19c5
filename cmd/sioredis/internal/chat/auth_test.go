package chat

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
)

const (
	backendKey = "sk_backend_0123456789abcdef"
	emitOnly   = "sk_emit_only_0123456789abcdef"
)

func authConfig(t *testing.T) (*Auth, *apiauth.Sessions) {
	t.Helper()
	keys, err := apiauth.ParseKeys(strings.NewReader("backend " + backendKey + " post\nemitter " + emitOnly + " emit"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := apiauth.NewSessions([]byte("q8Zr3vN0xLw5tYb2mKc7pHs1dFg4jUe9"))
	if err != nil {
		t.Fatal(err)
	}
	return &Auth{Keys: keys, Sessions: s}, s
}

func cookie(t *testing.T, s *apiauth.Sessions, user, name string) string {
	t.Helper()
	v, err := s.Sign(apiauth.Identity{User: user, Name: name, Expires: time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return s.Cookie + "=" + v
}

// TestAuthPost: with Auth, a post needs an API key allowed to post or a valid session cookie, and a browser
// user's messages carry their identity's name, not the form's.
func TestAuthPost(t *testing.T) {
	auth, sessions := authConfig(t)
	other, _ := apiauth.NewSessions([]byte("Wn4kP0s9Lq2Xc7Vb1Mz6Hr3Tj8Fy5Gd0"))
	app := startApp(t, Config{Store: openTestStore(t), Auth: auth})
	msg := `{"room":"room_777","author":"mallory","body":"hi"}`
	for _, tc := range []struct {
		name   string
		header []string
		code   int
		want   string
	}{
		{"nothing", nil, 401, `"error":"apiauth: invalid session: no sioredis_session cookie`},
		{"bad key", []string{"Authorization", "Bearer " + backendKey + "x"}, 401, "unknown API key"},
		{"key without post", []string{"Authorization", "Bearer " + emitOnly}, 403, "may not post"},
		{"forged cookie", []string{"Cookie", cookie(t, other, "u1", "Ann")}, 401, "bad signature"},
		{"backend gives the author", []string{"Authorization", "Bearer " + backendKey}, 201, `"author":"mallory"`},
		{"user's name, not the form's", []string{"Cookie", cookie(t, sessions, "u1", "Ann")}, 201, `"author":"Ann"`},
		{"cross-site with a cookie", []string{"Cookie", cookie(t, sessions, "u1", "Ann"), "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, "cross-site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := do(t, http.MethodPost, app.url+"/api/messages", "application/json", msg, tc.header...)
			if code != tc.code || !strings.Contains(string(b), tc.want) {
				t.Fatalf("%d %s; want %d with %s", code, b, tc.code, tc.want)
			}
		})
	}
	if total, _ := count(t, app.cfg.Store); total != 2 {
		t.Fatalf("%d messages saved, want the 2 authorized ones", total)
	}
}

// TestAuthHistory: with Auth, the history of a room takes the credentials of its live stream: a valid session
// cookie or a key allowed to post; with keys only, a key (and the live stream refuses a connection without one).
func TestAuthHistory(t *testing.T) {
	auth, sessions := authConfig(t)
	other, _ := apiauth.NewSessions([]byte("Wn4kP0s9Lq2Xc7Vb1Mz6Hr3Tj8Fy5Gd0"))
	app := startApp(t, Config{Store: openTestStore(t), Auth: auth})
	post(t, app.url, Post{Room: "r1", Body: "secret"}, http.StatusCreated, "Authorization", "Bearer "+backendKey)
	keysOnly := startApp(t, Config{Store: openTestStore(t), Auth: &Auth{Keys: auth.Keys}})
	post(t, keysOnly.url, Post{Room: "r1", Body: "secret"}, http.StatusCreated, "Authorization", "Bearer "+backendKey)
	for _, tc := range []struct {
		name   string
		app    *running
		header []string
		code   int
		want   string
	}{
		{"nothing", app, nil, 401, "no sioredis_session cookie"},
		{"forged cookie", app, []string{"Cookie", cookie(t, other, "u1", "Ann")}, 401, "bad signature"},
		{"bad key", app, []string{"Authorization", "Bearer " + backendKey + "x"}, 401, "unknown API key"},
		{"key without post", app, []string{"Authorization", "Bearer " + emitOnly}, 403, "may not post"},
		{"signed in", app, []string{"Cookie", cookie(t, sessions, "u1", "Ann")}, 200, `"body":"secret"`},
		{"backend", app, []string{"Authorization", "Bearer " + backendKey}, 200, `"body":"secret"`},
		{"keys only: nothing", keysOnly, nil, 401, "missing API key"},
		{"keys only: a cookie is no key", keysOnly, []string{"Cookie", cookie(t, sessions, "u1", "Ann")}, 401, "missing API key"},
		{"keys only: backend", keysOnly, []string{"Authorization", "Bearer " + backendKey}, 200, `"body":"secret"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := do(t, http.MethodGet, tc.app.url+"/api/messages?room=r1", "", "", tc.header...)
			if code != tc.code || !strings.Contains(string(b), tc.want) {
				t.Fatalf("%d %s; want %d with %s", code, b, tc.code, tc.want)
			}
			if code != http.StatusOK && strings.Contains(string(b), "secret") {
				t.Fatalf("refused, and yet: %s", b)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := client.Options{Query: url.Values{"room": {"r1"}}, NoReconnection: true}
	if s, err := client.Dial(ctx, keysOnly.url+"/", opts, nil); err == nil {
		s.Close()
		t.Fatal("keys only: the live stream accepted a connection without a key")
	}
	opts.Header = http.Header{"Authorization": {"Bearer " + backendKey}}
	s, err := client.Dial(ctx, keysOnly.url+"/", opts, nil)
	if err != nil {
		t.Fatalf("keys only: the live stream refused a backend's key: %v", err)
	}
	s.Close()
}

// TestAuthRateLimit: each signed-in user has a bucket; 429 carries Retry-After.
func TestAuthRateLimit(t *testing.T) {
	auth, sessions := authConfig(t)
	auth.KeyLimit = apiauth.LimitConfig{Rate: 0.25, Burst: 1}
	app := startApp(t, Config{Store: openTestStore(t), Auth: auth})
	ann := []string{"Cookie", cookie(t, sessions, "u1", "Ann")}
	post(t, app.url, Post{Room: "r", Body: "1"}, http.StatusCreated, ann...)
	req, _ := http.NewRequest(http.MethodPost, app.url+"/api/messages", strings.NewReader(`{"room":"r","body":"2"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ann[0], ann[1])
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "4" {
		t.Fatalf("2nd post: %d Retry-After %q; want 429, 4", res.StatusCode, res.Header.Get("Retry-After"))
	}
	post(t, app.url, Post{Room: "r", Body: "bob"}, http.StatusCreated, "Cookie", cookie(t, sessions, "u2", "Bob"))
}

// TestAuthSocketIO: with Sessions, the Socket.IO connection needs the same session cookie; with it, the client
// gets the messages of its room.
func TestAuthSocketIO(t *testing.T) {
	auth, sessions := authConfig(t)
	app := startApp(t, Config{Store: openTestStore(t), Auth: auth})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := client.Options{Query: url.Values{"room": {"room_777"}}, NoReconnection: true}
	if s, err := client.Dial(ctx, app.url+"/", opts, nil); err == nil {
		s.Close()
		t.Fatal("connected without a session cookie")
	} else if !strings.Contains(err.Error(), "session") {
		t.Fatalf("refusal does not say why: %v", err)
	}
	opts.Header = http.Header{"Cookie": {cookie(t, sessions, "u1", "Ann")}}
	s, err := client.Dial(ctx, app.url+"/", opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := make(chan Message, 1)
	client.Handle(s, "message", func(ctx context.Context, s *client.Socket, m Message) { got <- m })
	post(t, app.url, Post{Room: "room_777", Body: "hello"}, http.StatusCreated, "Cookie", opts.Header.Get("Cookie"))
	select {
	case m := <-got:
		if m.Author != "Ann" || m.Body != "hello" {
			t.Fatalf("got %+v", m)
		}
	case <-ctx.Done():
		t.Fatal("the message did not arrive")
	}
}

// TestAnonymousWarns: without Auth, New logs a warning.
func TestAnonymousWarns(t *testing.T) {
	var buf bytes.Buffer
	if _, err := New(Config{Store: openTestStore(t), Logger: slog.New(slog.NewTextHandler(&buf, nil))}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "anonymous mode") {
		t.Fatalf("log: %s", buf.String())
	}
}
