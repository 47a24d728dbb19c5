package client

import (
	"testing"
	"time"
)

// pongStats is what testdata/node-server.js's "pongs" event acknowledges: the pongs its engine has read, and the
// longest time in ms from a ping written to its pong read.
type pongStats struct {
	Pongs      int `json:"pongs"`
	MaxLatency int `json:"maxLatency"`
}

// TestHeartbeat runs the Engine.IO v4 heartbeat against Node's socket.io 4.8 (pingInterval 300 ms, pingTimeout
// 300 ms): the client answers each ping at once, and when the server's engine stops pinging while its transport
// stays open and events keep coming, the client closes the session with "ping timeout" and reconnects.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	n := startNodeServer(t, 0)
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := dial(t, n.URL(), fastOpts(tc.tr...), nil)
			reasons := make(chan string, 10)
			connects := make(chan struct{}, 10)
			s.OnDisconnect(func(reason string) { reasons <- reason })
			s.OnConnect(func() { connects <- struct{}{} })
			ticks := recv[int64](s, "tick")

			// Pongs: over 1.5 s the server pings about five times; each pong must reach it well within
			// pingTimeout.
			time.Sleep(1500 * time.Millisecond)
			st, err := EmitWithAckAs[pongStats](tctx(t), s, "pongs")
			if err != nil {
				t.Fatal(err)
			}
			if st.Pongs < 3 || st.MaxLatency > 150 {
				t.Fatalf("server saw %d pongs, slowest %d ms after its ping; want ≥ 3 within 150 ms", st.Pongs, st.MaxLatency)
			}
			if tr := s.Manager().Transport(); tr != tc.want {
				t.Fatalf("transport %q, want %q", tr, tc.want)
			}
			select {
			case r := <-reasons:
				t.Fatalf("disconnected (%s) while the server pinged", r)
			default:
			}

			// No more pings; events keep coming over the open transport, and must not count as pings.
			id := s.ID()
			stopped := time.Now()
			if err := s.Emit("stop-ping"); err != nil {
				t.Fatal(err)
			}
			var reason string
			select {
			case reason = <-reasons:
			case <-time.After(5 * time.Second):
				t.Fatalf("still connected %v after the server stopped pinging (%d ticks received)", time.Since(stopped), len(ticks))
			}
			elapsed := time.Since(stopped)
			if reason != "ping timeout" {
				t.Fatalf("disconnect reason %q, want \"ping timeout\"", reason)
			}
			// The last ping came at most pingInterval before "stop-ping": the timeout is due between
			// pingTimeout and pingInterval + pingTimeout after it.
			if elapsed < 250*time.Millisecond || elapsed > 2*time.Second {
				t.Fatalf("ping timeout %v after the pings stopped, want about 300-600 ms", elapsed)
			}
			if len(ticks) < 2 {
				t.Fatalf("%d ticks before the timeout: the transport did not stay open", len(ticks))
			}

			// Reconnected: a new session, which answers pings again.
			select {
			case <-connects:
			case <-time.After(10 * time.Second):
				t.Fatal("no reconnection after the ping timeout")
			}
			if s.ID() == id || !s.Connected() {
				t.Fatalf("after reconnection: id %q (was %q), connected %v", s.ID(), id, s.Connected())
			}
			time.Sleep(700 * time.Millisecond)
			st, err = EmitWithAckAs[pongStats](tctx(t), s, "pongs")
			if err != nil || st.Pongs < 1 || st.MaxLatency > 150 {
				t.Fatalf("new session: %+v, %v", st, err)
			}
		})
	}
}
