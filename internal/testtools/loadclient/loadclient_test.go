package loadclient

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/socketio"
)

// TestPool runs the client against a real server of package socketio: handshake, pings, events, acknowledgements.
func TestPool(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	srv, err := socketio.NewServer(socketio.Config{Engine: engineio.Config{PingInterval: 50 * time.Millisecond, PingTimeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		s.On("echo", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			vals, _ := args.Values()
			_ = ack(vals...)
		})
		s.On("broadcast", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var n int
			_ = args.Decode(0, &n)
			for i := range n {
				_ = srv.Emit(ctx, "msg", i)
			}
			_ = ack(n)
		})
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := Dial(ctx, hs.URL, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tests := []struct {
		name  string
		event string
		args  []json.RawMessage
		want  string
	}{
		{"echo", "echo", []json.RawMessage{json.RawMessage(`{"a":[1,"x"]}`), json.RawMessage(`2`)}, `[{"a":[1,"x"]},2]`},
		{"no args", "echo", nil, `[]`},
		{"broadcast", "broadcast", []json.RawMessage{json.RawMessage(`3`)}, `[3]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Conn(0).Call(ctx, tt.event, tt.args...)
			if err != nil || string(got) != tt.want {
				t.Fatalf("Call = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
	if err := p.WaitEvents(ctx, 15); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // several pings: the connections must still be up
	if _, err := p.Conn(4).Call(ctx, "echo"); err != nil {
		t.Fatalf("after pings: %v", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := p.Conn(1).Call(short, "unknown-event"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered call: %v", err)
	}
}

func TestDialRefused(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Dial(ctx, hs.URL, 3, 2); err == nil {
		t.Fatal("dial to a server without Socket.IO succeeded")
	}
}

// TestDialWith: the query reaches the server's handshake, and OnEvent sees every EVENT packet.
func TestDialWith(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		_ = s.Emit("hello", s.Handshake().Query.Get("rooms"))
	})
	hs := httptest.NewServer(srv)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var got []string
	p, err := DialWith(ctx, hs.URL, 2, 2, Options{Query: "rooms=room_777", OnEvent: func(c *Conn, packet []byte) {
		mu.Lock()
		got = append(got, string(packet))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.WaitEvents(ctx, 2); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != `42["hello","room_777"]` || got[1] != got[0] {
		t.Fatalf("OnEvent saw %q", got)
	}
}

// TestLocalAddrs checks that the connections come from the source addresses given, in turn.
func TestLocalAddrs(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	from := map[string]int{}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		mu.Lock()
		from[s.Handshake().Address]++ // the bare IP
		mu.Unlock()
	})
	hs := httptest.NewServer(srv)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := DialWith(ctx, hs.URL, 4, 1, Options{LocalAddrs: []net.IP{net.ParseIP("127.0.0.2"), net.ParseIP("127.0.0.3")}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The connection handlers run just after the server's CONNECT answer, which ends Dial.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := from["127.0.0.2"] + from["127.0.0.3"]
		mu.Unlock()
		if n == 4 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if from["127.0.0.2"] != 2 || from["127.0.0.3"] != 2 {
		t.Fatalf("connections by source address: %v, want 2 from each of 127.0.0.2 and 127.0.0.3", from)
	}
}
