package socketio

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
)

// binaryHeader is the Engine.IO message of a BINARY_EVENT "e" announcing n attachments, each referenced by a placeholder.
func binaryHeader(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `45%d-["e"`, n) // an Engine.IO message (4) holding a BINARY_EVENT (5)
	for i := range n {
		fmt.Fprintf(&b, `,{"_placeholder":true,"num":%d}`, i)
	}
	return b.String() + "]"
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestAttachmentLimits: the attack of issue 10, D8 (connections announcing 100 attachments, sending 99 of
// 999 KB and waiting: RSS 215 → 800 MB, held) is refused at the header, and a packet within the count
// limit is still bounded in bytes and in time. Packets within the limits arrive whole.
func TestAttachmentLimits(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	got := make(chan int, 10)
	reasons := make(chan DisconnectReason, 100)
	setup := func(_ *testServer, srv *Server) {
		srv.Of("/").OnConnection(func(ctx context.Context, s *Socket) {
			s.OnDisconnect(func(r DisconnectReason) { reasons <- r })
			s.On("e", func(ctx context.Context, s *Socket, args Args, ack AckFunc) { got <- len(args.l.Bufs()) })
		})
	}
	ctx := context.Background()
	attachment := make([]byte, 999_000)
	write := func(ws *websocket.Conn, n int) {
		for range n {
			if ws.Write(ctx, websocket.MessageBinary, attachment) != nil {
				return // closed by the server
			}
		}
	}
	wantParseErrors := func(t *testing.T, n int) {
		t.Helper()
		for range n {
			select {
			case r := <-reasons:
				if r != ReasonParseError {
					t.Errorf("disconnected with %q, want %q", r, ReasonParseError)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no disconnection")
			}
		}
	}

	t.Run("more than MaxAttachments", func(t *testing.T) {
		ts := startTestServer(t, Config{}, setup)
		before := heapInUse()
		const conns = 5
		wss := make([]*websocket.Conn, conns)
		for i := range wss {
			wss[i] = rawClient(t, ts.URL())
			connectRaw(t, wss[i])
			_ = wss[i].Write(ctx, websocket.MessageText, []byte(binaryHeader(100)))
			write(wss[i], 99)
		}
		grown := heapInUse() - before
		t.Logf("heap after %d connections sent 99 attachments of 999 KB to a packet announcing 100: %+d MB", conns, grown>>20)
		if grown > 50<<20 {
			t.Errorf("heap grew by %d MB", grown>>20)
		}
		for _, ws := range wss {
			readUntilClosed(t, ws)
		}
		wantParseErrors(t, conns)
	})
	t.Run("MaxAttachmentBytes", func(t *testing.T) {
		ts := startTestServer(t, Config{MaxAttachmentBytes: 2_500_000}, setup)
		ws := rawClient(t, ts.URL())
		connectRaw(t, ws)
		_ = ws.Write(ctx, websocket.MessageText, []byte(binaryHeader(10)))
		write(ws, 10)
		readUntilClosed(t, ws)
		wantParseErrors(t, 1)
	})
	t.Run("AttachmentTimeout", func(t *testing.T) {
		ts := startTestServer(t, Config{AttachmentTimeout: 300 * time.Millisecond}, setup)
		ws := rawClient(t, ts.URL())
		connectRaw(t, ws)
		start := time.Now()
		_ = ws.Write(ctx, websocket.MessageText, []byte(binaryHeader(2)))
		write(ws, 1)
		readUntilClosed(t, ws)
		if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
			t.Errorf("closed after %v, want about the 300 ms timeout", d)
		}
		wantParseErrors(t, 1)
	})
	t.Run("within the limits", func(t *testing.T) {
		ts := startTestServer(t, Config{AttachmentTimeout: 2 * time.Second}, setup)
		ws := rawClient(t, ts.URL())
		connectRaw(t, ws)
		_ = ws.Write(ctx, websocket.MessageText, []byte(binaryHeader(DefaultMaxAttachments)))
		write(ws, DefaultMaxAttachments)
		select {
		case n := <-got:
			if n != DefaultMaxAttachments {
				t.Errorf("the handler got %d attachments", n)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the packet did not arrive")
		}
		time.Sleep(2500 * time.Millisecond) // past the timeout: a completed packet's timer is stopped
		if err := ws.Write(ctx, websocket.MessageText, []byte(`42["e"]`)); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-got:
			if n != 0 {
				t.Errorf("the handler got %d attachments", n)
			}
		case r := <-reasons:
			t.Fatalf("disconnected: %s", r)
		case <-time.After(5 * time.Second):
			t.Fatal("the next packet did not arrive")
		}
	})
}
