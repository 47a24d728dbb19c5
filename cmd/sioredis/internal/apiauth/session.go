package apiauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// DefaultSessionCookie is the default name of the session cookie.
const DefaultSessionCookie = "sioredis_session"

// MinSecretLen is the shortest session secret accepted, in bytes.
const MinSecretLen = 32

// minSecretBits is the least entropy a secret's bytes must show by their frequencies (Shannon's estimate):
// random hexadecimal of MinSecretLen characters shows about 117 bits, and never less than 88 in 200 000 draws.
const minSecretBits = 80

var (
	// ErrSession reports a missing, malformed, forged or expired session cookie.
	ErrSession = errors.New("apiauth: invalid session")
	// ErrWeakSecret reports a session secret that NewSessions refuses (see CheckSecret).
	ErrWeakSecret = errors.New("apiauth: weak session secret")
)

// CheckSecret returns an error wrapping ErrWeakSecret when secret cannot be a random one: shorter than
// MinSecretLen bytes, showing fewer than 80 bits by the frequencies of its bytes (Shannon's estimate; 40 spaces
// show none, "abab…" one a byte), or repeating itself (more than a quarter of its 4-byte sequences seen before
// in it, as in "changeme" four times). It cannot tell a random secret from a well-mixed phrase: it catches
// placeholders and keyboard runs, not every guessable secret.
func CheckSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return fmt.Errorf("%w: %d bytes; give at least %d (e.g. 32 random bytes: openssl rand -base64 32)", ErrWeakSecret, len(secret), MinSecretLen)
	}
	var counts [256]int
	for _, b := range secret {
		counts[b]++
	}
	bits := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(secret))
			bits -= float64(c) * math.Log2(p)
		}
	}
	if bits < minSecretBits {
		return fmt.Errorf("%w: its bytes show about %.0f bits of entropy, want %d or more: give random bytes (openssl rand -base64 32)", ErrWeakSecret, bits, minSecretBits)
	}
	seen := make(map[string]bool, len(secret))
	repeated := 0
	for i := 0; i+4 <= len(secret); i++ {
		w := string(secret[i : i+4])
		if seen[w] {
			repeated++
		}
		seen[w] = true
	}
	if windows := len(secret) - 3; 4*repeated > windows {
		return fmt.Errorf("%w: it repeats itself (%d of its %d 4-byte sequences seen before in it): give random bytes (openssl rand -base64 32)", ErrWeakSecret, repeated, windows)
	}
	return nil
}

// Identity is who a browser user is, as their session cookie says.
type Identity struct {
	// User is a stable id of the user ("sub").
	User string `json:"sub"`
	// Name is the name shown with the user's messages; User when empty.
	Name string `json:"name,omitempty"`
	// Expires is the Unix time after which the session is refused ("exp").
	Expires int64 `json:"exp"`
}

// DisplayName returns Name, or User when Name is empty.
func (id Identity) DisplayName() string {
	if id.Name != "" {
		return id.Name
	}
	return id.User
}

// Sessions signs and verifies session cookies: "v1.PAYLOAD.MAC", PAYLOAD the base64url (unpadded) JSON of an
// Identity, MAC the base64url HMAC-SHA256 of "v1.PAYLOAD" with the secret. Any backend holding the secret can
// issue them (the application's login sets the cookie). Safe for concurrent use.
type Sessions struct {
	secret   []byte
	previous [][]byte // still verified, never signed with: a rotation under way
	// Cookie is the name of the cookie; DefaultSessionCookie by default.
	Cookie string
	now    func() time.Time
}

// NewSessions returns Sessions signing with secret and verifying with it or any of previous: the secrets a
// rotation replaces, accepted until the cookies they signed have expired (or until every backend signs with
// the new one). Each must pass CheckSecret.
func NewSessions(secret []byte, previous ...[]byte) (*Sessions, error) {
	if err := CheckSecret(secret); err != nil {
		return nil, fmt.Errorf("the session secret: %w", err)
	}
	s := &Sessions{secret: bytes.Clone(secret), Cookie: DefaultSessionCookie, now: time.Now}
	for i, p := range previous {
		if err := CheckSecret(p); err != nil {
			return nil, fmt.Errorf("previous session secret %d: %w", i+1, err)
		}
		s.previous = append(s.previous, bytes.Clone(p))
	}
	return s, nil
}

const sessionVersion = "v1."

// Sign returns the cookie value of id. An empty id.User is refused.
func (s *Sessions) Sign(id Identity) (string, error) {
	if id.User == "" {
		return "", fmt.Errorf("%w: no user", ErrSession)
	}
	b, err := json.Marshal(id)
	if err != nil {
		return "", err
	}
	msg := sessionVersion + base64.RawURLEncoding.EncodeToString(b)
	return msg + "." + base64.RawURLEncoding.EncodeToString(s.mac(msg)), nil
}

func (s *Sessions) mac(msg string) []byte { return mac(s.secret, msg) }

func mac(secret []byte, msg string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// signedBy reports whether sig is the MAC of msg with the secret or one of the previous ones.
func (s *Sessions) signedBy(msg string, sig []byte) bool {
	if hmac.Equal(sig, s.mac(msg)) {
		return true
	}
	for _, p := range s.previous {
		if hmac.Equal(sig, mac(p, msg)) {
			return true
		}
	}
	return false
}

// Verify checks a cookie value and returns its identity: ErrSession when it is malformed, its MAC is not that
// of the secret or of a previous one, or it has expired.
func (s *Sessions) Verify(value string) (Identity, error) {
	i := strings.LastIndexByte(value, '.')
	if !strings.HasPrefix(value, sessionVersion) || i < len(sessionVersion) {
		return Identity{}, fmt.Errorf("%w: not a v1 session", ErrSession)
	}
	msg, sig := value[:i], value[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !s.signedBy(msg, got) {
		return Identity{}, fmt.Errorf("%w: bad signature", ErrSession)
	}
	b, err := base64.RawURLEncoding.DecodeString(msg[len(sessionVersion):])
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrSession, err)
	}
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil || id.User == "" {
		return Identity{}, fmt.Errorf("%w: bad payload", ErrSession)
	}
	if s.now().Unix() >= id.Expires {
		return Identity{}, fmt.Errorf("%w: expired", ErrSession)
	}
	return id, nil
}

// FromHeader verifies the session cookie among h's Cookie headers (a request's, or a Socket.IO handshake's).
func (s *Sessions) FromHeader(h http.Header) (Identity, error) {
	r := http.Request{Header: h}
	c, err := r.Cookie(s.Cookie)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: no %s cookie", ErrSession, s.Cookie)
	}
	return s.Verify(c.Value)
}
