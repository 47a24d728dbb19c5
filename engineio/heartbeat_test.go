package engineio

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/internal/wsproto"
)

func TestHeartbeatWebSocket(t *testing.T) {
	const interval, timeout = 60 * time.Millisecond, 40 * time.Millisecond
	e := newEnv(t, Config{PingInterval: interval, PingTimeout: timeout})

	lead := e.srv.hb.lead // pings may come this much early, never late
	// A client that answers every ping keeps its session; pings come no earlier than the interval (less lead).
	last := time.Now() // before the handshake, which schedules the first ping
	r := dialRaw(t, e, "&transport=websocket")
	sid := r.open()
	for i := range 6 {
		f := r.mustNext()
		if f.payload != "2" {
			t.Fatalf("got %q, want a ping", f.payload)
		}
		if gap := time.Since(last); gap < interval-lead {
			t.Errorf("ping %d came %v after the previous event, before the %v interval less %v", i, gap, interval, lead)
		}
		r.send(wsproto.OpText, true, []byte("3"))
		last = time.Now()
	}
	if e.srv.Conn(sid) == nil {
		t.Fatal("session closed although it answered every ping")
	}

	// A client that stops answering is closed one timeout after the ping, not before.
	start := time.Now() // before the handshake, which schedules the first ping
	r2 := dialRaw(t, e, "&transport=websocket")
	sid2 := r2.open()
	if reason := e.h.waitClose(t, sid2); reason != ReasonPingTimeout {
		t.Errorf("reason %q", reason)
	}
	if took := time.Since(start); took < interval-lead+timeout {
		t.Errorf("closed after %v, before interval less lead + timeout (%v)", took, interval-lead+timeout)
	}
}

// TestPingTimeoutOnTime is the reference test suite's check, with its settings: a long-polling client that
// answers no ping has lost its session by PingInterval + PingTimeout after its handshake (its next GET is
// refused), not one tick of the wheel later; the same on WebSocket, where the client sees the close by then.
// Three sessions of each kind, overlapping: one may be late on a machine too busy to run the server's timers
// in time (logged), not two; the wheel used to be late every time.
func TestPingTimeoutOnTime(t *testing.T) {
	const interval, timeout = 300 * time.Millisecond, 200 * time.Millisecond
	const n = 3
	e := newEnv(t, Config{PingInterval: interval, PingTimeout: timeout})
	check := func(kind string, late []string) {
		t.Helper()
		switch len(late) {
		case 0:
		case 1:
			t.Logf("%s: one session of %d late (a busy machine?): %s", kind, n, late[0])
		default:
			t.Errorf("%s: %d sessions of %d late: %q", kind, len(late), n, late)
		}
	}

	var late []string
	sids, opened := make([]string, n), make([]time.Time, n)
	for i := range sids {
		sids[i], opened[i] = e.handshake(), time.Now()
	}
	for i, sid := range sids {
		time.Sleep(time.Until(opened[i].Add(interval + timeout)))
		if code, body, _ := e.do("GET", "&transport=polling&sid="+sid, ""); code != 400 {
			late = append(late, fmt.Sprintf("GET %v after the handshake: %d %q, want 400", interval+timeout, code, body))
		}
	}
	check("long-polling", late)

	late = late[:0]
	rs := make([]*rawWS, n)
	for i := range rs {
		rs[i] = dialRaw(t, e, "&transport=websocket")
		rs[i].open()
		opened[i] = time.Now()
	}
	for i, r := range rs {
		for {
			f, err := r.next(time.Until(opened[i].Add(interval + timeout)))
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				late = append(late, fmt.Sprintf("no close by %v after the handshake", interval+timeout))
				break
			}
			if err != nil || f.op == wsproto.OpClose {
				break // the connection ended (the server closes it without a close frame) or a close frame came
			}
		}
	}
	check("WebSocket", late)
}

// TestHeartbeatWheel drives the wheel directly: stale entries (rescheduled or canceled connections) never fire,
// and events due on a later lap of the wheel wait for it.
func TestHeartbeatWheel(t *testing.T) {
	e := newEnv(t, Config{PingInterval: time.Hour, PingTimeout: time.Hour})
	h := newHeartbeat(Config{PingInterval: 80 * time.Millisecond, PingTimeout: 80 * time.Millisecond})
	defer h.close()
	conns := make([]*Conn, 4)
	for i := range conns {
		c, err := e.srv.newConn(httptestRequest(), TransportWebSocket, false)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.close(ReasonServerShutdown, false)
		}
	})
	h.schedule(conns[0], 20*time.Millisecond, true, &e.srv.wg)
	h.schedule(conns[1], 20*time.Millisecond, true, &e.srv.wg)
	h.cancel(conns[1])
	h.schedule(conns[2], 20*time.Millisecond, true, &e.srv.wg)
	h.schedule(conns[2], 60*time.Millisecond, true, &e.srv.wg)  // rescheduled later
	h.schedule(conns[3], 150*time.Millisecond, true, &e.srv.wg) // beyond one lap of the wheel (100 ms)
	start := time.Now()
	testenv.WaitFor(t, func() bool { return conns[0].closedReason() == ReasonPingTimeout })
	if conns[1].closedReason() != "" || conns[2].closedReason() != "" {
		t.Fatal("a canceled or rescheduled entry fired")
	}
	testenv.WaitFor(t, func() bool { return conns[2].closedReason() == ReasonPingTimeout })
	if took := time.Since(start); took < 60*time.Millisecond {
		t.Errorf("rescheduled entry fired after %v, before its 60ms", took)
	}
	if conns[1].closedReason() != "" {
		t.Error("the canceled entry fired")
	}
	testenv.WaitFor(t, func() bool { return conns[3].closedReason() == ReasonPingTimeout })
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("second-lap entry fired after %v, before its 150ms", took)
	}
}

func httptestRequest() *http.Request { return httptest.NewRequest("GET", "/engine.io/?EIO=4", nil) }

// closedReason returns the reason of a closed connection, or "".
func (c *Conn) closedReason() CloseReason {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateClosed {
		return ""
	}
	return c.reason
}

// TestPongWaitExtendedOnce checks the reference server's rule (engine.io 6.6.11 and later): a client that sends
// another packet while the server waits for its pong gets one more PingTimeout from that packet, once per ping.
// The pong never comes: the session is closed with a ping timeout no earlier than a timeout after the first packet
// (without the rule: a timeout after the ping, before that), and a second packet does not extend it again.
func TestPongWaitExtendedOnce(t *testing.T) {
	const interval, timeout = 300 * time.Millisecond, 600 * time.Millisecond
	for _, transport := range []string{TransportWebSocket, TransportPolling} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t, Config{PingInterval: interval, PingTimeout: timeout})
			var sid string
			var send func(packet string)
			if transport == TransportWebSocket {
				r := dialRaw(t, e, "&transport=websocket")
				sid = r.open()
				if f := r.mustNext(); f.payload != "2" {
					t.Fatalf("got %q, want a ping", f.payload)
				}
				send = func(packet string) { r.send(wsproto.OpText, true, []byte(packet)) }
			} else {
				sid = e.handshake()
				q := "&transport=polling&sid=" + sid
				if code, body, _ := e.do("GET", q, ""); code != 200 || body != "2" {
					t.Fatalf("GET: %d %q, want a ping", code, body)
				}
				send = func(packet string) {
					if code, body, _ := e.do("POST", q, packet); code != 200 {
						t.Errorf("POST: %d %q", code, body)
					}
				}
			}
			pinged := time.Now()
			time.Sleep(time.Until(pinged.Add(interval)))
			first := time.Now()
			send("4late but alive") // the first packet after the ping: one more timeout from here
			time.Sleep(time.Until(pinged.Add(interval + timeout/2)))
			second := time.Now()
			send("4still no pong") // no second extension
			if r := e.h.waitClose(t, sid); r != ReasonPingTimeout {
				t.Fatalf("reason %q", r)
			}
			closed := time.Now()
			if closed.Sub(first) < timeout {
				t.Errorf("closed %v after the first packet following the ping, before the %v timeout it restarts",
					closed.Sub(first).Round(time.Millisecond), timeout)
			}
			// Extended twice, the close would come a timeout after the second packet; it comes a timeout after the
			// first (timeout/2 earlier), give or take the machine's timer latency.
			if closed.Sub(second) >= timeout-timeout/8 {
				t.Errorf("closed %v after the second packet: the wait was extended again",
					closed.Sub(second).Round(time.Millisecond))
			}
		})
	}
}
