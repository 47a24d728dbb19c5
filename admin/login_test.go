package admin_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sioredis/sioredis/admin"
	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
)

// login connects a UI from the loopback address ip (127.0.0.2, ...: the server sees each as a client address
// of its own) with username and password, and returns how long the server took to answer and the error's
// message ("" when logged in).
func login(t *testing.T, url, ip, username, password string) (time.Duration, string) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	m, err := client.NewManager(url, client.Options{NoReconnection: true, Transports: []client.Transport{client.Polling},
		HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := m.Socket("/admin", map[string]string{"username": username, "password": password})
	start := time.Now()
	err = s.Connect(ctx)
	took := time.Since(start)
	var ce *client.ConnectError
	switch {
	case err == nil:
		return took, ""
	case errors.As(err, &ce):
		return took, ce.Message
	}
	t.Fatalf("login from %s: %v", ip, err)
	return 0, ""
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// TestLoginTakesAsLongForAnyUsername: a wrong username is answered after the same bcrypt check as the right
// one with a wrong password, so the time of the answer does not tell which usernames exist.
func TestLoginTakesAsLongForAnyUsername(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), 8) // about 20 ms a check (seconds with -race)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = bcrypt.CompareHashAndPassword(h, []byte("x"))
	check := time.Since(start)
	_, url := startServer(t, admin.Options{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: string(h)},
		LoginLimit: admin.LoginLimit{FailureDelay: -1}})
	var right, wrong []time.Duration
	for range 3 {
		d, msg := login(t, url, "127.0.0.2", "admin", "guess")
		right = append(right, d)
		if msg != "invalid credentials" {
			t.Fatalf("right username, wrong password: %q", msg)
		}
		d, msg = login(t, url, "127.0.0.2", "nobody", "guess")
		wrong = append(wrong, d)
		if msg != "invalid credentials" {
			t.Fatalf("wrong username: %q", msg)
		}
	}
	r, w := median(right), median(wrong)
	t.Logf("median answer: right username %v, wrong username %v (one bcrypt check here: %v)", r, w, check)
	if w < check/2 || w < r/3 {
		t.Errorf("a wrong username is answered in %v, the right one in %v: the time tells the username", w, r)
	}
}

// TestLoginBackOff: after a failed login, the address and the username are refused at once, without a check,
// even with the right password, until the back-off has passed; another address with another username is
// checked meanwhile; a success forgets the failures.
func TestLoginBackOff(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	const delay = 1500 * time.Millisecond
	_, url := startServer(t, admin.Options{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: hash(t, "s3cret")},
		LoginLimit: admin.LoginLimit{FailureDelay: delay}})
	before := time.Now()
	if _, msg := login(t, url, "127.0.0.2", "admin", "guess"); msg != "invalid credentials" {
		t.Fatalf("first failure: %q", msg)
	}
	failed := time.Now() // the failure was counted between before and now
	for _, tc := range []struct{ ip, user, password, want string }{
		{"127.0.0.2", "admin", "s3cret", "too many failed logins"},  // the address backs off
		{"127.0.0.2", "other", "guess", "too many failed logins"},   // whatever the username
		{"127.0.0.3", "admin", "s3cret", "too many failed logins"},  // the username backs off, from any address
		{"127.0.0.4", "other", "guess", "invalid credentials"},      // checked
		{"127.0.0.4", "another", "guess", "too many failed logins"}, // now that address backs off too
	} {
		if _, msg := login(t, url, tc.ip, tc.user, tc.password); !strings.HasPrefix(msg, tc.want) {
			t.Errorf("%s %s/%s within the back-off: %q, want %q", tc.ip, tc.user, tc.password, msg, tc.want)
		}
	}
	if time.Since(before) > delay {
		t.Fatalf("the attempts took %v, longer than the back-off: re-run on a less loaded machine", time.Since(before))
	}
	time.Sleep(time.Until(failed.Add(delay + 50*time.Millisecond)))
	if _, msg := login(t, url, "127.0.0.2", "admin", "s3cret"); msg != "" {
		t.Fatalf("the right password after the back-off: %q", msg)
	}
	if _, msg := login(t, url, "127.0.0.3", "admin", "s3cret"); msg != "" {
		t.Errorf("the username's failures are not forgotten after a success: %q", msg)
	}
}

// TestLoginChecksBounded: with MaxConcurrent 1 and MaxWaiting 1, of six logins arriving together (from six
// addresses, so that no back-off applies) at most two are checked; the others are refused at once.
func TestLoginChecksBounded(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.DefaultCost) // about 70 ms a check: the logins overlap
	if err != nil {
		t.Fatal(err)
	}
	_, url := startServer(t, admin.Options{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: string(h)},
		LoginLimit: admin.LoginLimit{MaxConcurrent: 1, MaxWaiting: 1, FailureDelay: -1}})
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			_, msg := login(t, url, "127.0.0."+strconv.Itoa(2+i), "user"+strconv.Itoa(i), "guess")
			mu.Lock()
			answers[msg]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if answers["invalid credentials"] > 2 || answers["invalid credentials"]+answers["too many logins at once: retry later"] != 6 {
		t.Errorf("answers %v: want at most 2 checked (invalid credentials), the others refused at once", answers)
	}
}
