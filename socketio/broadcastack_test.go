package socketio

import (
	"context"
	"errors"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
)

var ackEvent = regexp.MustCompile(`^42(\d+)\["ping",`)

// answeringClient connects a raw WebSocket client to "/" that acknowledges every "ping" with "local".
func answeringClient(t *testing.T, url string) {
	ws := rawClient(t, url)
	connectRaw(t, ws)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			if string(b) == "2" {
				_ = ws.Write(context.Background(), websocket.MessageText, []byte("3"))
				continue
			}
			if m := ackEvent.FindSubmatch(b); m != nil {
				_ = ws.Write(context.Background(), websocket.MessageText, []byte(`43`+string(m[1])+`["local"]`))
			}
		}
	}()
	t.Cleanup(func() {
		_ = ws.CloseNow()
		wg.Wait()
	})
}

func answers(t *testing.T, res []Args) []string {
	t.Helper()
	out := make([]string, 0, len(res))
	for _, a := range res {
		var s string
		if err := a.Decode(0, &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// TestBroadcastWithAckAcrossServers checks how BroadcastOperator.EmitWithAck adds up the answers of the other
// servers of the cluster: the client counts of every server, whatever their order with the acknowledgements, the Local flag,
// and a timeout with partial answers.
func TestBroadcastWithAckAcrossServers(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	// The other server is scripted: each broadcast with acknowledgements it gets is answered by the next function
	// of remote, with functions standing for its client count and its clients' acknowledgements.
	remote := make(chan func(ctx context.Context, clientCount func(int), ack func(Args)), 1)
	var calls sync.WaitGroup
	var mu sync.Mutex
	requests := 0
	hub := &memHub{}
	cfg := fastHeartbeat()
	cfg.Cluster = hub.node()
	ts := startTestServer(t, cfg, func(*testServer, *Server) {})
	other := hub.script("/", func(l ClusterLink, m *ClusterMessage) {
		if m.Type != ClusterBroadcast || m.RequestID == "" {
			return
		}
		mu.Lock()
		requests++
		mu.Unlock()
		reply := func(r *ClusterMessage) {
			r.To, r.RequestID = m.From, m.RequestID
			_ = l.Send(context.Background(), r)
		}
		fn := <-remote
		calls.Add(1)
		go func() { // as a server answers: from goroutines of its own
			defer calls.Done()
			fn(context.Background(),
				func(n int) { reply(&ClusterMessage{Type: ClusterBroadcastClientCount, ClientCount: n}) },
				func(a Args) {
					var s string
					_ = a.Decode(0, &s)
					reply(&ClusterMessage{Type: ClusterBroadcastAck, Args: []any{s}})
				})
		}()
	})
	t.Cleanup(func() { // runs before the server closes
		calls.Wait()
		_ = other.Close()
	})
	answeringClient(t, ts.URL())
	answeringClient(t, ts.URL())
	ns := ts.Server().Of("/")
	remoteArgs := func(s string) Args {
		a, err := argsOf(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	t.Run("all answer", func(t *testing.T) {
		// The other server's answers come before its count.
		remote <- func(ctx context.Context, clientCount func(int), ack func(Args)) {
			ack(remoteArgs("remote-1"))
			ack(remoteArgs("remote-2"))
			clientCount(2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		res, err := ns.EmitWithAck(ctx, "ping", 1)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(answers(t, res), ","), "local,local,remote-1,remote-2"; got != want {
			t.Fatalf("answers %s, want %s", got, want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("waited %v: not returned when complete", d)
		}
	})

	t.Run("local", func(t *testing.T) {
		mu.Lock()
		before := requests
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := ns.Local().EmitWithAck(ctx, "ping", 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(answers(t, res), ","); got != "local,local" {
			t.Fatalf("answers %s", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if requests != before {
			t.Fatal("a Local broadcast reached the other server")
		}
	})

	t.Run("timeout", func(t *testing.T) {
		// The other server counts 2 clients, of which one answers; its late answer is ignored.
		late := make(chan func(Args), 1)
		remote <- func(ctx context.Context, clientCount func(int), ack func(Args)) {
			clientCount(2)
			ack(remoteArgs("remote-1"))
			late <- ack
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		res, err := ns.EmitWithAck(ctx, "ping", 3)
		if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want ErrAckTimeout and DeadlineExceeded", err)
		}
		if !strings.Contains(err.Error(), "3 acknowledgements of 4 clients (2 of 2 servers counted)") {
			t.Fatalf("error %q", err)
		}
		got := strings.Join(answers(t, res), ",")
		if got != "local,local,remote-1" {
			t.Fatalf("answers %s", got)
		}
		// An answer after the end is ignored (the race detector watches the returned slice).
		(<-late)(remoteArgs("remote-2"))
		if got := strings.Join(answers(t, res), ","); got != "local,local,remote-1" {
			t.Fatalf("answers after a late one: %s", got)
		}
	})

	t.Run("nobody", func(t *testing.T) {
		remote <- func(ctx context.Context, clientCount func(int), ack func(Args)) { clientCount(0) }
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := ns.To("empty-room").EmitWithAck(ctx, "ping", 4)
		if err != nil || len(res) != 0 {
			t.Fatalf("got %d answers, %v", len(res), err)
		}
	})

	t.Run("bad event", func(t *testing.T) {
		if _, err := ns.EmitWithAck(context.Background(), "disconnect"); !errors.Is(err, ErrReservedEvent) {
			t.Fatalf("error %v, want ErrReservedEvent", err)
		}
		if _, err := ns.EmitWithAck(context.Background(), "ping", make(chan int)); !errors.Is(err, ErrUnsupportedValue) {
			t.Fatalf("error %v, want ErrUnsupportedValue", err)
		}
	})
}

// TestWithAckID checks the header rewrite of a broadcast packet given its socket's ack id.
func TestWithAckID(t *testing.T) {
	for _, tc := range []struct {
		nsp  string
		args []any
		want string
	}{
		{"/", []any{1}, `217["e",1]`},
		{"/admin", []any{1}, `2/admin,17["e",1]`},
		{"/", []any{[]byte{1}}, `51-17["e",{"_placeholder":true,"num":0}]`},
		{"/admin", []any{[]byte{1}, []byte{2}}, `52-/admin,17["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
	} {
		msgs, err := newEventPacket(JSONParser{}, tc.nsp, "e", tc.args).messages()
		if err != nil {
			t.Fatal(err)
		}
		got := withAckID(msgs, tc.nsp, 17)
		if string(got[0].Data) != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.nsp, tc.args, got[0].Data, tc.want)
		}
		if len(got) != len(msgs) {
			t.Errorf("%d messages, want %d", len(got), len(msgs))
		}
		want, _ := encodeEvent(tc.nsp, 17, "e", tc.args)
		if string(want[0].Data) != string(got[0].Data) {
			t.Errorf("%q, encodeEvent gives %q", got[0].Data, want[0].Data)
		}
	}
}
