package apiauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// DefaultSessionCookie is the default name of the session cookie.
const DefaultSessionCookie = "sioredis_session"

// MinSecretLen is the shortest session secret accepted, in bytes.
const MinSecretLen = 32

// ErrSession reports a missing, malformed, forged or expired session cookie.
var ErrSession = errors.New("apiauth: invalid session")

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
	secret []byte
	// Cookie is the name of the cookie; DefaultSessionCookie by default.
	Cookie string
	now    func() time.Time
}

// NewSessions returns Sessions signing with secret, at least MinSecretLen bytes.
func NewSessions(secret []byte) (*Sessions, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("apiauth: the session secret has %d bytes; give at least %d (e.g. 32 random bytes)", len(secret), MinSecretLen)
	}
	return &Sessions{secret: append([]byte(nil), secret...), Cookie: DefaultSessionCookie, now: time.Now}, nil
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

func (s *Sessions) mac(msg string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// Verify checks a cookie value and returns its identity: ErrSession when it is malformed, its MAC is wrong or
// it has expired.
func (s *Sessions) Verify(value string) (Identity, error) {
	i := strings.LastIndexByte(value, '.')
	if !strings.HasPrefix(value, sessionVersion) || i < len(sessionVersion) {
		return Identity{}, fmt.Errorf("%w: not a v1 session", ErrSession)
	}
	msg, sig := value[:i], value[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(msg)) {
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
