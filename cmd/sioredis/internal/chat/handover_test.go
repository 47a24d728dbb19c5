package chat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestHandOverOnStop stops the instance publishing the outbox, twice, as SIGTERM does (Run's context ends): it
// announces that it leaves, lets the outbox go and says so, and another instance publishes within milliseconds,
// although ClaimPoll is a minute (a publisher that died would be replaced only then). Each survivor counts
// the instances that announced leaving (relay.serversLeft), and a POST right after the hand-over is published
// (201).
func TestHandOverOnStop(t *testing.T) {
	pg := testenv.StartPostgres(t)
	var ins []*pgInstance
	for range 3 {
		ins = append(ins, startPgInstance(t, pg.URL(), PostgresConfig{ClaimPoll: time.Minute}, Config{PublishWait: 5 * time.Second}))
	}
	testenv.WaitFor(t, func() bool { return len(leaders(ins)) == 1 })
	waitListening(t, ins)
	live := slices.Clone(ins)
	for round := 1; round <= 2; round++ {
		l := leaders(live)
		if len(l) != 1 {
			t.Fatalf("round %d: %d leaders", round, len(l))
		}
		leaving := live[l[0]]
		live = slices.Delete(live, l[0], l[0]+1)
		nexts := make([]<-chan struct{}, len(live))
		for i, in := range live {
			_, nexts[i] = in.relay.serversLeft()
		}
		start := time.Now()
		stopped := make(chan struct{})
		go func() { leaving.stop(); close(stopped) }()
		var took time.Duration
		for {
			if l := leaders(live); len(l) == 1 {
				took = time.Since(start)
				break
			}
			if time.Since(start) > 10*time.Second {
				for _, in := range ins {
					t.Log(in.log.String())
				}
				t.Fatalf("round %d: no instance took the outbox over 10 s after the publisher stopped (ClaimPoll is a minute)", round)
			}
			time.Sleep(time.Millisecond)
		}
		<-stopped
		t.Logf("round %d: the outbox handed over %v after the publisher was told to stop", round, took.Round(100*time.Microsecond))
		if took > 500*time.Millisecond {
			t.Errorf("round %d: hand-over took %v, want well under a second", round, took)
		}
		for i, in := range live {
			select {
			case <-nexts[i]:
			case <-time.After(5 * time.Second):
				t.Fatalf("round %d: survivor %d never heard that the publisher leaves", round, i)
			}
			if n, _ := in.relay.serversLeft(); n != round {
				t.Errorf("round %d: survivor %d counts %d instances that left", round, i, n)
			}
		}
		t0 := time.Now()
		r := post(t, live[len(live)-1].url, Post{Room: "r", Body: fmt.Sprint("after round ", round)}, http.StatusCreated)
		t.Logf("round %d: a POST to a survivor published in %v", round, time.Since(t0).Round(100*time.Microsecond))
		if r.State != StatePublished {
			t.Errorf("round %d: state %q", round, r.State)
		}
	}
}

// waitListening waits until every instance listens to the database: each has learned that a message posted now
// is published.
func waitListening(t *testing.T, ins []*pgInstance) {
	t.Helper()
	seq := post(t, ins[0].url, Post{Room: "listening", Body: "are you there?"}, 0).Message.Seq
	testenv.WaitFor(t, func() bool {
		for _, in := range ins {
			in.relay.mu.Lock()
			done := in.relay.done
			in.relay.mu.Unlock()
			if done < seq {
				return false
			}
		}
		return true
	})
}

// TestRollingRestart restarts three instances on one PostgreSQL database and one Redis, one after the other, as
// a deployment does (each stopped as by SIGTERM, then replaced a second later by a new one), while a backend posts
// messages one after the other, 10 ms apart, to the instances that are up. A client of a Node.js Socket.IO server
// in the cluster measures each message's delay from its POST to its delivery: none may exceed 1 s, and every
// message answered is delivered, in order.
func TestRollingRestart(t *testing.T) {
	pg := testenv.StartPostgres(t)
	rs := testenv.StartRedis(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The observer, on the Node server: the arrival time of each body.
	var mu sync.Mutex
	sent := map[string]time.Time{}
	arrived := map[string]time.Time{}
	var order []Message
	obs, err := client.Dial(ctx, node.URL()+"/", client.Options{Query: url.Values{"rooms": {"roll"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	client.Handle(obs, "message", func(ctx context.Context, s *client.Socket, m Message) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if _, dup := arrived[m.Body]; !dup {
			arrived[m.Body] = now
			order = append(order, m)
		}
	})
	testenv.WaitFor(t, func() bool {
		socks, err := node.Sockets(ctx, "/")
		return err == nil && len(socks) == 1 && slices.Contains(socks[0].Rooms, "roll")
	})

	cfg := func() Config { return Config{Redis: rs.Client(t)} }
	var liveMu sync.Mutex
	live := []*pgInstance{}
	for range 3 {
		live = append(live, startPgInstance(t, pg.URL(), PostgresConfig{}, cfg()))
	}
	all := slices.Clone(live)
	for _, in := range live {
		if err := in.ClusterReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitListening(t, live)

	// The backend: a message every 10 ms, to the live instances in turn.
	stopPosting := make(chan struct{})
	var posting sync.WaitGroup
	var answers sync.Map // body → HTTP status
	var slowest time.Duration
	posting.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stopPosting:
				return
			case <-time.After(10 * time.Millisecond):
			}
			liveMu.Lock()
			in := live[n%len(live)]
			liveMu.Unlock()
			body := fmt.Sprint("m", n)
			b, _ := jsonBody(Post{Room: "roll", Author: "backend", Body: body})
			start := time.Now()
			mu.Lock()
			sent[body] = start
			mu.Unlock()
			res, err := httpClient.Post(in.url+"/api/messages", "application/json", strings.NewReader(b))
			if err != nil {
				t.Errorf("POST %s: %v", body, err)
				continue
			}
			res.Body.Close()
			answers.Store(body, res.StatusCode)
			slowest = max(slowest, time.Since(start))
		}
	})

	time.Sleep(300 * time.Millisecond)
	for i := range 3 {
		liveMu.Lock()
		old := live[0]
		live = live[1:] // no POST goes to an instance being stopped, as a load balancer drains it
		liveMu.Unlock()
		old.stop()
		time.Sleep(time.Second) // a new process takes about that long to start and connect
		repl := startPgInstance(t, pg.URL(), PostgresConfig{}, cfg())
		all = append(all, repl)
		if err := repl.ClusterReady(ctx); err != nil {
			t.Fatal(err)
		}
		waitListening(t, []*pgInstance{repl})
		liveMu.Lock()
		live = append(live, repl)
		liveMu.Unlock()
		t.Logf("instance %d replaced", i)
		time.Sleep(300 * time.Millisecond)
	}
	close(stopPosting)
	posting.Wait()

	var bodies []string
	answers.Range(func(k, v any) bool {
		if v.(int) != http.StatusCreated && v.(int) != http.StatusAccepted {
			t.Errorf("POST %s answered %d", k, v)
		}
		bodies = append(bodies, k.(string))
		return true
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for _, b := range bodies {
			if _, ok := arrived[b]; !ok {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages answered never delivered", missing, len(bodies))
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var delays []time.Duration
	for _, b := range bodies {
		delays = append(delays, arrived[b].Sub(sent[b]))
	}
	slices.Sort(delays)
	worst := delays[len(delays)-1]
	t.Logf("%d messages across a rolling restart of 3 instances: delay median %v, p99 %v, max %v; slowest POST answer %v",
		len(delays), delays[len(delays)/2].Round(100*time.Microsecond), delays[len(delays)*99/100].Round(100*time.Microsecond),
		worst.Round(100*time.Microsecond), slowest.Round(100*time.Microsecond))
	if worst > time.Second {
		t.Errorf("a message was delayed %v across the rolling restart, want at most 1 s", worst)
	}
	for i := 1; i < len(order); i++ {
		if order[i].Seq <= order[i-1].Seq {
			t.Errorf("message %d arrived after %d", order[i].Seq, order[i-1].Seq)
		}
	}
	// A planned stop is announced: the publish that reaches one server fewer is no loss to report.
	for _, in := range all {
		if log := in.log.String(); strings.Contains(log, "their clients miss it") {
			t.Errorf("a planned stop reported as a loss:\n%s", log)
		}
	}
}
