package redisadapter_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// lagProxy forwards TCP connections to a backend, each byte lag later, both ways: a replication link to a master
// that is lag away. cutAll closes every connection and drops what is on its way, as when the master's machine dies
// (a process killed on a live machine still has its kernel send what it wrote).
type lagProxy struct {
	ln      net.Listener
	backend string
	lag     time.Duration

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	cut   bool
	wg    sync.WaitGroup
}

func startLagProxy(t *testing.T, backend string, lag time.Duration) *lagProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lagProxy{ln: ln, backend: backend, lag: lag, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", backend)
			p.mu.Lock()
			if err != nil || p.cut {
				p.mu.Unlock()
				_ = c.Close()
				if b != nil {
					_ = b.Close()
				}
				continue
			}
			p.conns[c], p.conns[b] = struct{}{}, struct{}{}
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(b, c)
			go p.pipe(c, b)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cutAll()
		p.wg.Wait()
	})
	return p
}

func (p *lagProxy) addr() string { return p.ln.Addr().String() }

// pipe copies from src to dst, each read written lag after it was read, until either side closes.
func (p *lagProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	type chunk struct {
		at   time.Time
		data []byte
	}
	queue := make(chan chunk, 1<<16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range queue {
			time.Sleep(time.Until(c.at))
			if _, err := dst.Write(c.data); err != nil {
				break
			}
		}
		_ = dst.Close()
		_ = src.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			queue <- chunk{time.Now().Add(p.lag), append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			break
		}
	}
	close(queue)
	<-done
}

// cutAll closes every connection now, dropping what is on its way, and refuses new ones.
func (p *lagProxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		_ = c.Close()
	}
}

// startSentinelGroup starts a master, its replica and three sentinels (testenv.SentinelGroup); with lag > 0, the
// replica follows the master through a lagProxy. The sentinels' failover-timeout is then 60 s: after it, they would
// point the replica at the master itself (+fix-slave-config), around the proxy.
func startSentinelGroup(t *testing.T, lag time.Duration) (*testenv.SentinelGroup, *lagProxy) {
	t.Helper()
	cfg := testenv.SentinelGroupConfig{}
	if lag > 0 {
		cfg.FailoverTimeout = time.Minute
	}
	g := testenv.StartSentinelGroup(t, cfg)
	if lag == 0 {
		return g, nil
	}
	master, replica := g.Nodes()[0], g.Nodes()[1]
	link := startLagProxy(t, master.Addr(), lag)
	host, port, _ := net.SplitHostPort(link.addr())
	rdb := replica.Client(t)
	ctx := context.Background()
	if err := rdb.ReplicaOf(ctx, host, port).Err(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, func() bool {
		info, err := rdb.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up") && strings.Contains(info, "master_port:"+port)
	})
	return g, link
}

// failoverClient returns a client of the group's master through the sentinels, without retries: a command that
// fails is reported, not sent again.
func failoverClient(t *testing.T, g *testenv.SentinelGroup) *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: g.MasterName(), SentinelAddrs: g.SentinelAddrs(), MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestStreamsFailoverLoss measures what a failover loses of a burst of broadcasts: an emitter (Streams mode, 8
// goroutines) publishes numbered broadcasts through Sentinel while the master is killed (SIGKILL) after 1500 were
// accepted (testenv.SentinelGroup: three sentinels, quorum 2, down-after 1 s); the sentinels promote the replica, the
// old master comes back as its replica, and the burst goes on until 1000 more were accepted. A Go server (StreamsAdapter, through Sentinel too) and its client get them.
// Without durability, what the master acknowledged and its replica did not have yet is lost: with the replica on
// loopback, nothing in our runs; with the replica 5 ms away and the master's machine gone with what was on its
// way (lagProxy.cutAll), tens to hundreds of entries. Only a reader that had read further than the new master has
// can tell (LossRewound); the others never saw those entries. With WithDurability(1, 1 s), an accepted broadcast is on
// the replica: none is lost.
func TestStreamsFailoverLoss(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lag     time.Duration
		durable bool
	}{
		{"loopback, without durability", 0, false},
		{"loopback, with durability", 0, true},
		{"replica 5 ms away, without durability", 5 * time.Millisecond, false},
		{"replica 5 ms away, with durability", 5 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			durable := tc.durable
			g, link := startSentinelGroup(t, tc.lag)
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			rec := newLossRecorder()
			sa := redisadapter.NewStreams(failoverClient(t, g), redisadapter.StreamsConfig{Metrics: rec, Logger: rec.logger()})
			srv := startGoServerOn(t, "g", socketio.Config{Cluster: sa}, sa.WaitReady)
			clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: srv.url, Rooms: []string{"r"}}})
			opts := []emitter.Option{emitter.WithMode(emitter.Streams)}
			if durable {
				opts = append(opts, emitter.WithDurability(1, time.Second))
			}
			em, err := emitter.New(failoverClient(t, g), opts...)
			if err != nil {
				t.Fatal(err)
			}

			const before, after, workers = 1500, 1000, 8
			var (
				mu                      sync.Mutex
				outcome                 = map[int]string{} // "accepted", "not durable", "failed"
				next                    atomic.Int64
				accepted, acceptedAfter atomic.Int64
				failedOver              atomic.Bool
			)
			var wg sync.WaitGroup
			defer func() {
				cancel()
				wg.Wait()
			}()
			start := time.Now()
			for range workers {
				wg.Go(func() {
					for ctx.Err() == nil && acceptedAfter.Load() < after {
						i := int(next.Add(1) - 1)
						ectx, ecancel := context.WithTimeout(ctx, 3*time.Second)
						_, err := em.To("r").Emit(ectx, "n", i)
						ecancel()
						o := "accepted"
						switch {
						case err == nil:
							accepted.Add(1)
							if failedOver.Load() {
								acceptedAfter.Add(1)
							}
						case errors.Is(err, emitter.ErrNotDurable):
							o = "not durable"
						default:
							o = "failed"
						}
						mu.Lock()
						outcome[i] = o
						mu.Unlock()
						if err != nil {
							time.Sleep(10 * time.Millisecond)
						}
					}
				})
			}
			for accepted.Load() < before {
				time.Sleep(time.Millisecond)
			}
			// The master's machine dies: with its link to the replica, what is on its way there.
			if link != nil {
				link.cutAll()
			}
			old := g.KillMaster()
			killedAt := time.Now()
			g.WaitFailover(old)
			failedOverAt := time.Now()
			failedOver.Store(true)
			g.Rejoin(old) // as the new master's replica: the writes may be durable again
			wg.Wait()
			if ctx.Err() != nil {
				t.Fatal("the burst did not end")
			}
			if _, err := em.To("r").Emit(ctx, "done"); err != nil && !errors.Is(err, emitter.ErrNotDurable) {
				t.Fatal(err)
			}
			if _, err := clients.WaitEvent(ctx, "c", testenv.EventNamed("done")); err != nil {
				t.Fatal(err)
			}

			// What the stream holds now: an accepted broadcast missing there is lost for every server that had
			// not read it before the failover.
			inStream := map[int]bool{}
			entries, err := failoverClient(t, g).XRange(ctx, "socket.io", "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				msg, err := protocol.DecodeStreamEntry(e.Values)
				if err != nil || msg.Event != "n" || len(msg.Args) != 1 {
					continue
				}
				if n, err := strconv.Atoi(fmt.Sprint(msg.Args[0])); err == nil {
					inStream[n] = true
				}
			}
			got := numbers(t, clients, "c", "n")
			received := map[int]bool{}
			twice := 0
			for _, n := range got {
				if received[n] {
					twice++
				}
				received[n] = true
			}
			counts := map[string]int{}
			lost, notDurableLost, failedArrived, gone := 0, 0, 0, 0
			for i, o := range outcome {
				counts[o]++
				if o == "accepted" && !inStream[i] {
					gone++
				}
				switch {
				case o == "accepted" && !received[i]:
					lost++
				case o == "not durable" && !received[i]:
					notDurableLost++
				case o == "failed" && received[i]:
					failedArrived++
				}
			}
			var reported []string
			for r := redisadapter.LossTrimmed; r <= redisadapter.LossOversized; r++ {
				if n, entries := rec.counts(r); n > 0 {
					reported = append(reported, fmt.Sprintf("%v ×%d (%d entries)", r, n, entries))
				}
			}
			t.Logf("%d broadcasts: %d accepted (the first %d at %.0f/s), %d not durable, %d failed; the sentinels agreed on a new master %s after the kill",
				len(outcome), counts["accepted"], before, before/killedAt.Sub(start).Seconds(), counts["not durable"], counts["failed"],
				failedOverAt.Sub(killedAt).Round(100*time.Millisecond))
			t.Logf("%d accepted broadcasts are not in the stream after the failover", gone)
			t.Logf("the Go server's client: %d accepted broadcasts lost, %d not-durable ones lost, %d failed ones received, %d twice; the reader reported %v",
				lost, notDurableLost, failedArrived, twice, reported)
			if twice > 0 {
				t.Errorf("%d broadcasts received twice", twice)
			}
			if durable && (lost > 0 || gone > 0) {
				t.Errorf("with durability, %d accepted broadcasts lost for the Go server, %d not in the stream", lost, gone)
			}
			for _, line := range strings.Split(strings.TrimSpace(rec.logs.String()), "\n") {
				if strings.Contains(line, `"level":"ERROR"`) {
					t.Log(line)
				}
			}
			rec.checkReported(t, sa)
		})
	}
}
