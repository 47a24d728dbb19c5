package admin

import (
	"container/list"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sioredis/sioredis/socketio"
)

// Defaults of LoginLimit (Node's admin UI has no limit of its own).
const (
	DefaultLoginConcurrency = 1
	DefaultLoginWaiting     = 16
	DefaultFailureDelay     = time.Second
	DefaultMaxFailureDelay  = time.Minute
	DefaultLoginTracked     = 10000
)

// LoginLimit bounds the password checks of the UI's login (Options.Auth), against password guessing. The zero
// value takes the defaults.
type LoginLimit struct {
	// MaxConcurrent bounds the bcrypt checks running at once, each of which takes a core for about 50 to 100 ms
	// at cost 10; the logins beyond it wait their turn. Default DefaultLoginConcurrency (1).
	MaxConcurrent int
	// MaxWaiting bounds the logins waiting for a check; past it a login is refused at once ("too many logins
	// at once"). Default DefaultLoginWaiting (16).
	MaxWaiting int
	// FailureDelay is the back-off after a failed login, kept per client address (Handshake.Address) and per
	// username: until it has passed, a login from that address or for that username is refused without a
	// check ("too many failed logins"), even with the right password. It doubles with each further failure, up
	// to MaxFailureDelay; a successful login forgets the address's and the username's failures, and so does
	// MaxFailureDelay of quiet after the back-off ends. A UI already logged in reconnects with its session
	// meanwhile. Default DefaultFailureDelay (1 s); negative: no back-off.
	FailureDelay time.Duration
	// MaxFailureDelay bounds the back-off. Default DefaultMaxFailureDelay (1 min).
	MaxFailureDelay time.Duration
	// MaxTracked bounds the addresses and the usernames whose failures are remembered; when full, the one
	// that failed least recently is forgotten. Default DefaultLoginTracked (10 000).
	MaxTracked int
}

func (l LoginLimit) withDefaults() (LoginLimit, error) {
	if l.MaxConcurrent < 0 || l.MaxWaiting < 0 || l.MaxFailureDelay < 0 || l.MaxTracked < 0 {
		return l, fmt.Errorf("%w: negative LoginLimit field", ErrConfig)
	}
	if l.MaxConcurrent == 0 {
		l.MaxConcurrent = DefaultLoginConcurrency
	}
	if l.MaxWaiting == 0 {
		l.MaxWaiting = DefaultLoginWaiting
	}
	if l.FailureDelay == 0 {
		l.FailureDelay = DefaultFailureDelay
	}
	if l.MaxFailureDelay == 0 {
		l.MaxFailureDelay = DefaultMaxFailureDelay
	}
	if l.MaxTracked == 0 {
		l.MaxTracked = DefaultLoginTracked
	}
	return l, nil
}

// logins checks the UI's logins: the username and password compared in a time that does not depend on the
// username, bcrypt checks bounded in number, failures backed off per address and per username. Safe for
// concurrent use.
type logins struct {
	auth     *BasicAuth
	userSum  [sha256.Size]byte
	limit    LoginLimit
	checks   chan struct{} // a token per check running
	waiting  atomic.Int64  // logins waiting for a token
	failures failureTable
	log      *slog.Logger
	now      func() time.Time
}

func newLogins(auth *BasicAuth, limit LoginLimit, log *slog.Logger) *logins {
	return &logins{auth: auth, userSum: sha256.Sum256([]byte(auth.Username)), limit: limit, log: log,
		checks: make(chan struct{}, limit.MaxConcurrent), now: time.Now,
		failures: failureTable{max: limit.MaxTracked, byKey: make(map[string]*list.Element)}}
}

// check answers a login of username and password from address: nil when both are right, else the error the UI
// gets.
func (l *logins) check(ctx context.Context, address, username, password string) error {
	sum := sha256.Sum256([]byte(username))
	keys := [2]string{"a" + address, "u" + string(sum[:])}
	if err := l.backedOff(keys); err != nil {
		return err
	}
	if l.waiting.Add(1) > int64(l.limit.MaxWaiting+l.limit.MaxConcurrent) {
		l.waiting.Add(-1)
		return &socketio.ConnectError{Message: "too many logins at once: retry later"}
	}
	select {
	case l.checks <- struct{}{}:
	case <-ctx.Done():
		l.waiting.Add(-1)
		return ctx.Err()
	}
	defer func() { <-l.checks; l.waiting.Add(-1) }()
	if err := l.backedOff(keys); err != nil { // a login that waited behind a failure of the same address or user
		return err
	}
	// The password is checked whatever the username, so that the time taken does not tell a right username.
	userOK := subtle.ConstantTimeCompare(sum[:], l.userSum[:]) == 1
	passOK := bcrypt.CompareHashAndPassword([]byte(l.auth.PasswordHash), []byte(password)) == nil
	if userOK && passOK {
		l.failures.forget(keys[:])
		return nil
	}
	if l.limit.FailureDelay > 0 {
		l.failures.fail(l.now(), keys[:], l.limit.FailureDelay, l.limit.MaxFailureDelay)
	}
	// One line per password checked (the refusals without a check are not logged: they cost nothing), without
	// the username, which may be a mistyped password.
	l.log.Warn("admin: failed login", "address", address)
	return &socketio.ConnectError{Message: "invalid credentials"}
}

// backedOff returns the refusal of a login whose address or username is in its back-off.
func (l *logins) backedOff(keys [2]string) error {
	if l.limit.FailureDelay <= 0 {
		return nil
	}
	if wait := l.failures.wait(l.now(), keys[:], l.limit.MaxFailureDelay); wait > 0 {
		return &socketio.ConnectError{Message: fmt.Sprintf("too many failed logins: retry in %d s", int(math.Ceil(wait.Seconds())))}
	}
	return nil
}

// failureTable keeps the failures of addresses and usernames, at most max of them, the least recently failing
// forgotten first. Safe for concurrent use.
type failureTable struct {
	max   int
	mu    sync.Mutex
	lru   list.List // of *failures, most recent failure first
	byKey map[string]*list.Element
}

type failures struct {
	key   string
	count int
	until time.Time // end of the back-off
}

// wait returns how long the longest back-off of keys lasts from now (0: none). A back-off that ended more
// than quiet ago is forgotten.
func (t *failureTable) wait(now time.Time, keys []string, quiet time.Duration) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		el, ok := t.byKey[k]
		if !ok {
			continue
		}
		f := el.Value.(*failures)
		if now.Sub(f.until) > quiet {
			t.lru.Remove(el)
			delete(t.byKey, k)
			continue
		}
		wait = max(wait, f.until.Sub(now))
	}
	return wait
}

// fail counts a failure of each key: its back-off is delay doubled by each failure before, at most maxDelay.
func (t *failureTable) fail(now time.Time, keys []string, delay, maxDelay time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		var f *failures
		if el, ok := t.byKey[k]; ok {
			f = el.Value.(*failures)
			t.lru.MoveToFront(el)
		} else {
			if t.lru.Len() >= t.max {
				old := t.lru.Back()
				t.lru.Remove(old)
				delete(t.byKey, old.Value.(*failures).key)
			}
			f = &failures{key: k}
			t.byKey[k] = t.lru.PushFront(f)
		}
		f.count++
		d := delay
		for i := 1; i < f.count && d < maxDelay; i++ {
			d *= 2
		}
		f.until = now.Add(min(d, maxDelay))
	}
}

// forget drops the failures of keys.
func (t *failureTable) forget(keys []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if el, ok := t.byKey[k]; ok {
			t.lru.Remove(el)
			delete(t.byKey, k)
		}
	}
}
