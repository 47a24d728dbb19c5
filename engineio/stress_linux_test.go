package engineio

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/internal/wsproto"
)

// TestWebSocketStress runs broadcasts, direct sends, heartbeats, client messages and every kind of close at the
// same time on many connections (under the race detector in CI), then checks that each client that stayed got
// the broadcasts in order without a gap, and that nothing is left behind.
func TestWebSocketStress(t *testing.T) {
	// Pings every 30 ms keep the heartbeat busy; the timeout is far longer than the run, because a pong that is
	// late when the machine is loaded (a CI runner testing packages in parallel, under the race detector) is a
	// real ping timeout, which TestPingTimeout covers, and not what this test checks.
	e := newEnv(t, Config{PingInterval: 30 * time.Millisecond, PingTimeout: 10 * time.Second, MaxQueuedMessages: 100000})
	fds := openFDs(t) + 1 // the poller's instance
	const n = 120
	type client struct {
		r      *rawWS
		sid    string
		stays  bool
		gotSeq []int
		err    error
	}
	clients := make([]*client, n)
	for i := range clients {
		r := dialRaw(t, e, "&transport=websocket")
		clients[i] = &client{r: r, sid: r.open(), stays: i%3 != 0}
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	// Clients: answer pings, echo traffic, record broadcasts; one in three ends its session in some way.
	for i, c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			leaveAfter := 20 + rng.IntN(60)
			// A write error ends the client like a read error: the server may have closed the connection (when it
			// is told to, or at the end), which is a failure only for a client that stays, before the end.
			fail := func(err error) {
				if c.stays && !stop.Load() {
					c.err = err
				}
				_ = c.r.nc.Close()
			}
			for k := 0; ; k++ {
				f, err := c.r.next(3 * time.Second)
				if err != nil {
					fail(err)
					return
				}
				switch {
				case f.payload == "2":
					err = c.r.trySend(wsproto.OpText, true, []byte("3"))
				case strings.HasPrefix(f.payload, "4b"):
					seq, _ := strconv.Atoi(f.payload[2:])
					c.gotSeq = append(c.gotSeq, seq)
				}
				if err == nil && k%5 == 0 {
					err = c.r.trySend(wsproto.OpText, true, fmt.Appendf(nil, "4c%d", k)) // echoed back by the handler
				}
				if err == nil && !c.stays && k == leaveAfter {
					switch i % 4 {
					case 0:
						err = c.r.trySend(wsproto.OpClose, true, nil)
					case 1:
						_ = c.r.nc.Close()
						return
					case 2:
						if conn := e.srv.Conn(c.sid); conn != nil { // nil if the server has closed it already
							conn.Close()
						}
					case 3:
						_ = c.r.trySend(wsproto.OpPing, true, []byte("x"))
						_ = c.r.nc.Close()
						return
					}
				}
				if err != nil {
					fail(err)
					return
				}
			}
		})
	}
	// The server: broadcasts to every open connection, in sequence, from one goroutine...
	const broadcasts = 300
	wg.Go(func() {
		for seq := range broadcasts {
			msgs := []Message{{Data: fmt.Appendf(nil, "b%d", seq)}}
			PrepareMessages(msgs)
			for _, c := range clients {
				if conn := e.srv.Conn(c.sid); conn != nil {
					_ = conn.Send(Queued, msgs...)
				}
			}
			if seq%20 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	})
	// ... and direct sends from another.
	wg.Go(func() {
		for k := range 2000 {
			c := clients[k%n]
			if conn := e.srv.Conn(c.sid); conn != nil {
				d := Queued
				if k%7 == 0 {
					d = Volatile
				}
				_ = conn.Send(d, Message{Data: []byte("d")})
			}
		}
	})
	time.Sleep(1500 * time.Millisecond) // let the heartbeat run a few rounds
	stop.Store(true)
	// End the remaining sessions from the server: the clients' loops end on EOF.
	for _, c := range clients {
		if conn := e.srv.Conn(c.sid); conn != nil {
			conn.Close()
		}
	}
	wg.Wait()

	for i, c := range clients {
		if !c.stays {
			continue
		}
		if c.err != nil {
			e.h.mu.Lock()
			reason := e.h.closed[c.sid]
			e.h.mu.Unlock()
			t.Errorf("client %d lost its session early (server's reason: %q): %v", i, reason, c.err)
			continue
		}
		if len(c.gotSeq) != broadcasts {
			t.Errorf("client %d got %d broadcasts, want %d", i, len(c.gotSeq), broadcasts)
			continue
		}
		for k, seq := range c.gotSeq {
			if seq != k {
				t.Errorf("client %d: broadcast %d came as number %d", i, k, seq)
				break
			}
		}
	}
	testenv.WaitFor(t, func() bool {
		e.srv.mu.Lock()
		p := e.srv.pollr
		e.srv.mu.Unlock()
		return e.srv.Len() == 0 && p != nil && p.Len() == 0 && openFDs(t) <= fds
	})
}
