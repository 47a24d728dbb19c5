package chat

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// pgInstance is one App on a shared PostgreSQL database, with its log.
type pgInstance struct {
	*running
	store *Store
	log   *testenv.Buffer
}

// startPgInstance opens the database at url and runs an App on it; cfg's Store and Logger are set here.
func startPgInstance(t *testing.T, url string, pcfg PostgresConfig, cfg Config) *pgInstance {
	t.Helper()
	in := &pgInstance{store: openTestPostgres(t, url, pcfg), log: &testenv.Buffer{}}
	cfg.Store = in.store
	cfg.Logger = slog.New(slog.NewTextHandler(in.log, nil))
	in.running = startApp(t, cfg)
	return in
}

// get returns the status and the body of a GET.
func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

// leaders returns the instances publishing the outbox.
func leaders(ins []*pgInstance) []int {
	var out []int
	for i, in := range ins {
		if in.relay.leading.Load() {
			out = append(out, i)
		}
	}
	return out
}

// healthy reports whether every instance answers /readyz and /api/status with 200.
func healthy(t *testing.T, ins []*pgInstance) bool {
	for _, in := range ins {
		if code, _, _ := get(t, in.url+"/readyz"); code != http.StatusOK {
			return false
		}
		if code, _, _ := get(t, in.url+"/api/status"); code != http.StatusOK {
			return false
		}
	}
	return true
}

// TestPostgresOutage stops the PostgreSQL server under three instances for 3 s and for 10 s. While it is down,
// every instance says so: /readyz and /api/status answer 503 with the reason ("database unreachable", no counts),
// a POST and a read of the history answer 503 with Retry-After, and no answer carries the database's address,
// port or user, which go to the logs. Once it is back, every instance is healthy again as soon as a probe finds
// the database answering (ClaimPoll is 5 s here: a relay that waited for it would be 503 for seconds more), one
// of them publishes, and POSTs are published again (201).
func TestPostgresOutage(t *testing.T) {
	pg := testenv.StartPostgres(t)
	rs := testenv.StartRedis(t)
	// What an answer must not say: the database's address and port, its user, the driver's words.
	leaks := []string{pg.Addr(), strconv.Itoa(portOf(t, pg.Addr())), "user=", "dial", "SQLSTATE", "connect:"}
	checkNoLeak := func(t *testing.T, what, body string) {
		t.Helper()
		for _, l := range leaks {
			if strings.Contains(body, l) {
				t.Errorf("%s says %q: %s", what, l, body)
			}
		}
	}
	for _, outage := range []time.Duration{3 * time.Second, 10 * time.Second} {
		t.Run(outage.String(), func(t *testing.T) {
			var ins []*pgInstance
			for range 3 {
				ins = append(ins, startPgInstance(t, pg.URL(), PostgresConfig{ClaimPoll: 5 * time.Second},
					Config{Redis: rs.Client(t), PublishWait: 5 * time.Second}))
			}
			testenv.WaitFor(t, func() bool { return healthy(t, ins) && len(leaders(ins)) == 1 })
			post(t, ins[0].url, Post{Room: "r", Body: "before"}, http.StatusCreated)

			pg.Stop()
			stopped := time.Now()
			testenv.WaitFor(t, func() bool {
				for _, in := range ins {
					if code, _, _ := get(t, in.url+"/readyz"); code != http.StatusServiceUnavailable {
						return false
					}
				}
				return true
			})
			t.Logf("every /readyz 503 %v after the database stopped", time.Since(stopped).Round(time.Millisecond))
			for i, in := range ins {
				code, _, body := get(t, in.url+"/readyz")
				if code != http.StatusServiceUnavailable || body != "not ready: database unreachable\n" {
					t.Errorf("instance %d: /readyz %d %q", i, code, body)
				}
				code, b := do(t, http.MethodGet, in.url+"/api/status", "", "")
				if code != http.StatusServiceUnavailable || string(b) != `{"publisher":"redis","database":"unreachable","ready":false,"error":"database unreachable"}`+"\n" {
					t.Errorf("instance %d: /api/status %d %s", i, code, b)
				}
				body2, _ := jsonBody(Post{Room: "r", Body: "during"})
				res, err := httpClient.Post(in.url+"/api/messages", "application/json", strings.NewReader(body2))
				if err != nil {
					t.Fatal(err)
				}
				pb, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "2" || !strings.Contains(string(pb), "database is unavailable") {
					t.Errorf("instance %d: POST %d Retry-After %q %s", i, res.StatusCode, res.Header.Get("Retry-After"), pb)
				}
				checkNoLeak(t, "POST", string(pb))
				code, h, hist := get(t, in.url+"/api/messages?room=r")
				if code != http.StatusServiceUnavailable || h.Get("Retry-After") != "2" {
					t.Errorf("instance %d: history %d Retry-After %q %s", i, code, h.Get("Retry-After"), hist)
				}
				checkNoLeak(t, "the history", hist)
			}
			time.Sleep(time.Until(stopped.Add(outage)))
			// The details are in the logs.
			if !strings.Contains(ins[0].log.String()+ins[1].log.String()+ins[2].log.String(), pg.Addr()) {
				t.Errorf("no log names the database's address %s", pg.Addr())
			}

			pg.Start()
			back := time.Now()
			for !healthy(t, ins) {
				if time.Since(back) > 10*time.Second {
					for i, in := range ins {
						_, _, body := get(t, in.url+"/api/status")
						t.Logf("instance %d: %s", i, body)
					}
					t.Fatalf("not every instance healthy 10 s after the database came back")
				}
				time.Sleep(20 * time.Millisecond)
			}
			clear := time.Since(back)
			t.Logf("outage of %v: every instance healthy %v after the database came back", outage, clear.Round(time.Millisecond))
			// The probes of healthy wake the relays waiting to reach the database; the rest is load.
			if clear > 2*time.Second {
				t.Errorf("healthy %v after the database came back, want at the first probes (well within ClaimPoll, 5 s)", clear)
			}
			testenv.WaitFor(t, func() bool { return len(leaders(ins)) == 1 })
			for i, in := range ins {
				post(t, in.url, Post{Room: "r", Body: "after " + strconv.Itoa(i)}, http.StatusCreated)
			}
			for i, in := range ins {
				_, _, body := get(t, in.url+"/api/status")
				checkNoLeak(t, "/api/status of instance "+strconv.Itoa(i), body)
			}
		})
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, _ := strings.Cut(addr, ":")
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func jsonBody(p Post) (string, error) {
	b, err := json.Marshal(p)
	return string(b), err
}

// TestStatusHidesRedisErrors: with Redis down, /readyz and /api/status give the reason, not the error of the
// driver, which names the address it failed to dial.
func TestStatusHidesRedisErrors(t *testing.T) {
	rs := testenv.StartRedis(t)
	rdb := rs.Client(t)
	// Time for the driver to fail on its own, with its words, rather than on the readiness check's deadline.
	app := startApp(t, Config{Store: openTestStore(t), Redis: rdb, PublishWait: 100 * time.Millisecond,
		Timeouts: httpserve.Timeouts{Ready: 10 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := app.ClusterReady(ctx); err != nil {
		t.Fatal(err)
	}
	rs.Stop()
	post(t, app.url, Post{Room: "r", Body: "while Redis is down"}, http.StatusAccepted)
	testenv.WaitFor(t, func() bool {
		code, _, _ := get(t, app.url+"/readyz")
		return code == http.StatusServiceUnavailable
	})
	if err := app.Ready(ctx); err == nil || !strings.Contains(err.Error(), rs.Addr()) {
		t.Fatalf("Ready: %v; want the driver's error, with the address, for Go callers and logs", err)
	}
	code, _, body := get(t, app.url+"/readyz")
	if code != http.StatusServiceUnavailable || body != "not ready: "+reasonRedisUnreachable+"\n" && body != "not ready: "+reasonNotSubscribed+"\n" {
		t.Errorf("/readyz with Redis down: %d %q", code, body)
	}
	code, _, body = get(t, app.url+"/api/status")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != http.StatusServiceUnavailable ||
		!slices.Contains([]string{reasonRedisUnreachable, reasonNotSubscribed, reasonPublishFailed}, st.Error) {
		t.Errorf("/api/status with Redis down: %d %s (%v)", code, body, err)
	}
}
