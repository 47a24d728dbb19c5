package apiauth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	secretA = "sk_aaaaaaaaaaaaaaaaaaaaaaaa"
	secretB = "sk_bbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestParseKeys(t *testing.T) {
	for _, tc := range []struct {
		name, list string
		err        string // substring; "" for success
		keys       int
	}{
		{"one", "backend " + secretA, "", 1},
		{"comments and blanks", "# keys\n\n  backend " + secretA + "  \n", "", 1},
		{"semicolons", "a " + secretA + "; b " + secretB, "", 2},
		{"scopes", "a " + secretA + " emit /chat /admin", "", 1},
		{"no secret", "backend", "want NAME SECRET", 0},
		{"short secret", "backend short", "fewer than 16", 0},
		{"unknown scope", "a " + secretA + " publish", `unknown scope "publish"`, 0},
		{"name twice", "a " + secretA + "\na " + secretB, `name "a" given twice`, 0},
		{"secret twice", "a " + secretA + "\nb " + secretA, `has the secret of key "a"`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := ParseKeys(strings.NewReader(tc.list))
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrKeyList) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrKeyList with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ks.Len() != tc.keys {
				t.Fatalf("%d keys, want %d", ks.Len(), tc.keys)
			}
		})
	}
}

func TestLoadKeysFileAndEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(file, []byte("a "+secretA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_APIAUTH_KEYS", "b "+secretB+" emit")
	ks, err := LoadKeys(file, "TEST_APIAUTH_KEYS")
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := ks.Lookup(secretB); !ok || k.Name != "b" || !k.Allows(ActionEmit, "/") || k.Allows(ActionSockets, "/") {
		t.Fatalf("key b = %+v, %v", k, ok)
	}
	if _, err := LoadKeys(filepath.Join(t.TempDir(), "missing"), ""); !errors.Is(err, ErrKeyList) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	ks, err := ParseKeys(strings.NewReader("a " + secretA + "\nb " + secretB + " sockets /admin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		header string
		name   string
		err    error
	}{
		{"", "", ErrNoCredentials},
		{"Basic " + secretA, "", ErrNoCredentials},
		{"Bearer ", "", ErrNoCredentials},
		{"Bearer " + secretA + "x", "", ErrBadKey},
		{"Bearer " + secretA[:len(secretA)-1], "", ErrBadKey},
		{"Bearer " + secretA, "a", nil},
		{"bearer " + secretB, "b", nil},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		k, err := ks.Authenticate(r)
		if !errors.Is(err, tc.err) || (err == nil && k.Name != tc.name) {
			t.Errorf("%q: key %v, err %v; want %q, %v", tc.header, k, err, tc.name, tc.err)
		}
	}
	b, _ := ks.Lookup(secretB)
	for _, tc := range []struct {
		action, nsp string
		ok          bool
	}{{ActionSockets, "/admin", true}, {ActionEmit, "/admin", false}, {ActionSockets, "/", false}, {"", "/admin", true}, {ActionSockets, "", true}} {
		if err := b.Check(tc.action, tc.nsp); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrForbidden)) {
			t.Errorf("Check(%q, %q) = %v, want ok=%v", tc.action, tc.nsp, err, tc.ok)
		}
	}
}

func TestWriteAuthError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		hdr  string
	}{{ErrNoCredentials, 401, "WWW-Authenticate"}, {ErrBadKey, 401, "WWW-Authenticate"}, {ErrForbidden, 403, ""}} {
		w := httptest.NewRecorder()
		WriteAuthError(w, tc.err)
		if w.Code != tc.code || (tc.hdr != "" && w.Header().Get(tc.hdr) == "") || !strings.HasPrefix(w.Body.String(), `{"error":"apiauth: `) {
			t.Errorf("%v: %d %v %s", tc.err, w.Code, w.Header(), w.Body)
		}
	}
	w := httptest.NewRecorder()
	WriteRateLimited(w, "key a", 1500*time.Millisecond)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "2" {
		t.Errorf("429: %d %v", w.Code, w.Header())
	}
}

// clock is a manual clock for limiters.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLimiter(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := NewLimiter(LimitConfig{Rate: 10, Burst: 5, MaxClients: 2})
	l.now = c.now
	for i := range 5 {
		if ok, _ := l.Allow("a", 1); !ok {
			t.Fatalf("token %d refused within the burst", i)
		}
	}
	ok, wait := l.Allow("a", 1)
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("6th token: ok=%v wait=%v, want refused for 100ms", ok, wait)
	}
	c.t = c.t.Add(100 * time.Millisecond)
	if ok, _ := l.Allow("a", 1); !ok {
		t.Fatal("refused after the refill")
	}
	if ok, _ := l.Allow("b", 3); !ok {
		t.Fatal("b refused: buckets are per client")
	}
	if ok, wait := l.Allow("b", 6); ok || wait != 300*time.Millisecond {
		t.Fatalf("more than the burst: ok=%v wait=%v, want refused until the bucket is full (300ms)", ok, wait)
	}
	// The table is bounded: a third client drops the least recently seen (a).
	l.Allow("c", 1)
	if l.Len() != 2 {
		t.Fatalf("%d buckets, want at most 2", l.Len())
	}
	if ok, _ := l.Allow("a", 5); !ok {
		t.Fatal("a was forgotten and must start again with a full bucket")
	}
	var off *Limiter
	if ok, _ := off.Allow("x", 1e6); !ok {
		t.Fatal("a nil limiter refuses")
	}
	if ok, _ := NewLimiter(LimitConfig{}).Allow("x", 1e6); !ok {
		t.Fatal("a zero-rate limiter refuses")
	}
}

// Secrets of the tests: 32 characters, none repeated.
const (
	testSecret  = "q8Zr3vN0xLw5tYb2mKc7pHs1dFg4jUe9"
	otherSecret = "Wn4kP0s9Lq2Xc7Vb1Mz6Hr3Tj8Fy5Gd0"
)

// TestCheckSecret: secrets that cannot be random are refused, those that may be are taken.
func TestCheckSecret(t *testing.T) {
	for _, weak := range []string{
		"", "short", strings.Repeat(" ", 40), strings.Repeat("ab", 20), strings.Repeat("a", 31) + "b",
		strings.Repeat("changeme", 4), strings.Repeat("0123456789", 4), strings.Repeat("password", 4) + "1",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
	} {
		if err := CheckSecret([]byte(weak)); !errors.Is(err, ErrWeakSecret) {
			t.Errorf("%q: %v, want ErrWeakSecret", weak, err)
		}
	}
	for _, ok := range []string{testSecret, otherSecret, "my-super-secret-session-key-2024",
		"2b7e151628aed2a6abf7158809cf4f3c", "Xq3ll0Zk3Jd5x1Pv+Q8cU0oYtF2Wb6sN9rE4hG7mA1k="} {
		if err := CheckSecret([]byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for range 2000 { // random hexadecimal and base64 of the shortest length accepted
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		for _, s := range []string{hex.EncodeToString(b[:16]), base64.StdEncoding.EncodeToString(b)} {
			if err := CheckSecret([]byte(s)); err != nil {
				t.Fatalf("random %q: %v", s, err)
			}
		}
	}
}

// TestSessionRotation: Sessions given previous secrets verify the cookies they signed, sign with the new one
// only, and refuse a cookie of any other secret; a weak previous secret is refused.
func TestSessionRotation(t *testing.T) {
	old, err := NewSessions([]byte(otherSecret))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := NewSessions([]byte(testSecret), []byte(otherSecret))
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := NewSessions([]byte(testSecret))
	id := Identity{User: "u1", Expires: time.Now().Add(time.Hour).Unix()}
	fromOld, _ := old.Sign(id)
	fromRotated, _ := rotated.Sign(id)
	if got, err := rotated.Verify(fromOld); err != nil || got.User != "u1" {
		t.Errorf("a cookie of the previous secret: %+v, %v", got, err)
	}
	if _, err := fresh.Verify(fromOld); !errors.Is(err, ErrSession) {
		t.Errorf("without the previous secret, its cookie: %v, want ErrSession", err)
	}
	if _, err := old.Verify(fromRotated); !errors.Is(err, ErrSession) {
		t.Errorf("a rotated Sessions signs with a previous secret: %v", err)
	}
	if _, err := NewSessions([]byte(testSecret), []byte(strings.Repeat(" ", 40))); !errors.Is(err, ErrWeakSecret) {
		t.Errorf("a weak previous secret: %v, want ErrWeakSecret", err)
	}
}

func TestSessions(t *testing.T) {
	if _, err := NewSessions([]byte("short")); err == nil {
		t.Fatal("a short secret is accepted")
	}
	s, err := NewSessions([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Unix(1000, 0)}
	s.now = c.now
	v, err := s.Sign(Identity{User: "u1", Name: "Ann", Expires: 2000})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Verify(v)
	if err != nil || id.User != "u1" || id.DisplayName() != "Ann" {
		t.Fatalf("Verify = %+v, %v", id, err)
	}
	other, _ := NewSessions([]byte(otherSecret))
	forged, _ := other.Sign(Identity{User: "u1", Expires: 2000})
	payload, sig, _ := strings.Cut(strings.TrimPrefix(v, "v1."), ".")
	_ = payload
	for name, bad := range map[string]string{
		"other secret": forged, "empty": "", "no version": strings.TrimPrefix(v, "v1."),
		"payload changed": "v1.eyJzdWIiOiJ1MiIsImV4cCI6MjAwMH0." + sig, "truncated mac": v[:len(v)-2],
	} {
		if _, err := s.Verify(bad); !errors.Is(err, ErrSession) {
			t.Errorf("%s: %v, want ErrSession", name, err)
		}
	}
	c.t = time.Unix(2000, 0)
	if _, err := s.Verify(v); !errors.Is(err, ErrSession) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: %v", err)
	}
	c.t = time.Unix(1000, 0)
	h := http.Header{"Cookie": {"other=1; " + DefaultSessionCookie + "=" + v}}
	if id, err := s.FromHeader(h); err != nil || id.User != "u1" {
		t.Errorf("FromHeader = %+v, %v", id, err)
	}
	if _, err := s.FromHeader(http.Header{}); !errors.Is(err, ErrSession) {
		t.Errorf("no cookie: %v", err)
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add("a " + secretA + " emit /x; b " + secretB)
	f.Add("# c\n\nx")
	f.Fuzz(func(t *testing.T, list string) {
		ks, err := ParseKeys(strings.NewReader(list))
		if err != nil {
			if !errors.Is(err, ErrKeyList) {
				t.Fatalf("error not ErrKeyList: %v", err)
			}
			return
		}
		for _, k := range ks.keys {
			if k.Name == "" {
				t.Fatal("key without a name")
			}
		}
	})
}

func FuzzVerifySession(f *testing.F) {
	s, _ := NewSessions([]byte(testSecret))
	v, _ := s.Sign(Identity{User: "u", Expires: 1 << 40})
	f.Add(v)
	f.Add("v1..")
	f.Fuzz(func(t *testing.T, value string) {
		id, err := s.Verify(value)
		if err == nil && value != v {
			// Only values this secret signed verify; re-signing must give a valid value too.
			if again, _ := s.Sign(id); again == "" {
				t.Fatalf("verified %q but cannot sign %+v", value, id)
			}
		}
		if err != nil && !errors.Is(err, ErrSession) {
			t.Fatalf("error not ErrSession: %v", err)
		}
	})
}
