// Package apiauth authenticates the backends and browsers that publish through sioredis's HTTP services
// ("sioredis api" and "sioredis chat"): API keys sent as "Authorization: Bearer KEY", signed session cookies for
// browser users, and token-bucket rate limits per key and per client address with a bounded table.
//
// Every error answer is JSON, {"error": "…"}: 401 without a key or with an unknown one (with a
// WWW-Authenticate header), 403 for a key that may not do the action or reach the namespace, 429 with
// Retry-After when a limit is reached.
package apiauth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
)

// Actions a key may be limited to.
const (
	ActionEmit       = "emit"        // POST /v1/emit and /v1/emit/batch
	ActionSockets    = "sockets"     // POST /v1/sockets/join|leave|disconnect
	ActionServerEmit = "server-emit" // POST /v1/server-emit
	ActionPost       = "post"        // the chat's POST /api/messages
)

var knownActions = []string{ActionEmit, ActionSockets, ActionServerEmit, ActionPost}

// MinKeyLen is the shortest secret accepted in a key list: 16 bytes, about 96 bits when random base64.
const MinKeyLen = 16

// Errors of key lists and of authentication, for errors.Is.
var (
	// ErrKeyList reports a malformed key list (file or environment variable).
	ErrKeyList = errors.New("apiauth: invalid key list")
	// ErrNoCredentials reports a request without an "Authorization: Bearer" header.
	ErrNoCredentials = errors.New("apiauth: missing API key: send Authorization: Bearer KEY")
	// ErrBadKey reports a key that is not in the list.
	ErrBadKey = errors.New("apiauth: unknown API key")
	// ErrForbidden reports a known key that may not do an action or reach a namespace.
	ErrForbidden = errors.New("apiauth: forbidden")
)

// Key is one API key of a list: a name for logs and rate limits, the secret's hash, and its scopes.
type Key struct {
	// Name identifies the key in logs and rate limits; never the secret.
	Name string
	// Actions the key may do; empty means every action.
	Actions []string
	// Namespaces the key may reach ("/", "/admin"); empty means every namespace.
	Namespaces []string
	sum        [sha256.Size]byte
}

// Allows reports whether the key may do action in namespace nsp (nsp "" checks the action only, action "" the
// namespace only).
func (k *Key) Allows(action, nsp string) bool {
	if action != "" && len(k.Actions) > 0 && !slices.Contains(k.Actions, action) {
		return false
	}
	if nsp != "" && len(k.Namespaces) > 0 && !slices.Contains(k.Namespaces, nsp) {
		return false
	}
	return true
}

// Check returns nil when the key may do action in namespace nsp, else an ErrForbidden that says why.
func (k *Key) Check(action, nsp string) error {
	if action != "" && len(k.Actions) > 0 && !slices.Contains(k.Actions, action) {
		return fmt.Errorf("%w: key %q may not %s (allowed: %s)", ErrForbidden, k.Name, action, strings.Join(k.Actions, ", "))
	}
	if nsp != "" && len(k.Namespaces) > 0 && !slices.Contains(k.Namespaces, nsp) {
		return fmt.Errorf("%w: key %q may not reach namespace %q (allowed: %s)", ErrForbidden, k.Name, nsp, strings.Join(k.Namespaces, ", "))
	}
	return nil
}

// Keys is a list of API keys. It is immutable once built and safe for concurrent use.
type Keys struct {
	keys []*Key
}

// Len returns the number of keys.
func (ks *Keys) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.keys)
}

// ParseKeys reads a key list: one key per line, "NAME SECRET [SCOPE...]", fields separated by spaces or tabs;
// blank lines and lines starting with "#" are ignored; ";" also ends an entry, so that a list fits in one
// environment variable. A SCOPE starting with "/" is a namespace the key may reach, any other an action
// (emit, sockets, server-emit, post); a key without namespace scopes reaches every namespace, one without
// action scopes may do every action. Names and secrets must be unique; secrets are at least MinKeyLen bytes.
func ParseKeys(r io.Reader) (*Keys, error) {
	ks := &Keys{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		for _, entry := range strings.Split(sc.Text(), ";") {
			if err := ks.add(entry, line); err != nil {
				return nil, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyList, err)
	}
	return ks, nil
}

func (ks *Keys) add(entry string, line int) error {
	entry = strings.TrimSpace(entry)
	if entry == "" || strings.HasPrefix(entry, "#") {
		return nil
	}
	f := strings.Fields(entry)
	if len(f) < 2 {
		return fmt.Errorf("%w: line %d: want NAME SECRET [SCOPE...]", ErrKeyList, line)
	}
	k := &Key{Name: f[0]}
	if len(f[1]) < MinKeyLen {
		return fmt.Errorf("%w: line %d: key %q: the secret has %d bytes, fewer than %d", ErrKeyList, line, k.Name, len(f[1]), MinKeyLen)
	}
	k.sum = sha256.Sum256([]byte(f[1]))
	for _, s := range f[2:] {
		switch {
		case strings.HasPrefix(s, "/"):
			k.Namespaces = append(k.Namespaces, s)
		case slices.Contains(knownActions, s):
			k.Actions = append(k.Actions, s)
		default:
			return fmt.Errorf("%w: line %d: key %q: unknown scope %q (a namespace starting with / or one of %s)",
				ErrKeyList, line, k.Name, s, strings.Join(knownActions, ", "))
		}
	}
	for _, o := range ks.keys {
		if o.Name == k.Name {
			return fmt.Errorf("%w: line %d: key name %q given twice", ErrKeyList, line, k.Name)
		}
		if o.sum == k.sum {
			return fmt.Errorf("%w: line %d: key %q has the secret of key %q", ErrKeyList, line, k.Name, o.Name)
		}
	}
	ks.keys = append(ks.keys, k)
	return nil
}

// LoadKeys reads the key list of file (if not empty) and then that of the environment variable env (if set and
// not empty), as ParseKeys does; the two are joined, and a name or secret in both is an error.
func LoadKeys(file, env string) (*Keys, error) {
	var all bytes.Buffer
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKeyList, err)
		}
		all.Write(b)
		all.WriteByte('\n')
	}
	if env != "" {
		all.WriteString(os.Getenv(env))
	}
	return ParseKeys(&all)
}

// Lookup returns the key whose secret is secret. Every key is compared, in constant time for keys of any
// length (their SHA-256 sums are compared), so the time taken says nothing of which key is closest.
func (ks *Keys) Lookup(secret string) (*Key, bool) {
	if ks == nil {
		return nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	var found *Key
	for _, k := range ks.keys {
		if subtle.ConstantTimeCompare(sum[:], k.sum[:]) == 1 {
			found = k
		}
	}
	return found, found != nil
}

// Authenticate returns the key of r's "Authorization: Bearer KEY" header: ErrNoCredentials without one,
// ErrBadKey for a key not in the list.
func (ks *Keys) Authenticate(r *http.Request) (*Key, error) {
	secret, ok := BearerToken(r)
	if !ok {
		return nil, ErrNoCredentials
	}
	k, ok := ks.Lookup(secret)
	if !ok {
		return nil, ErrBadKey
	}
	return k, nil
}

// BearerToken returns the token of r's "Authorization: Bearer TOKEN" header (the scheme in any case).
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
