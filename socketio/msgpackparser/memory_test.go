package msgpackparser_test

import (
	"context"
	"encoding/binary"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/socketio"
	"github.com/sioredis/sioredis/socketio/msgpackparser"
)

// nilsPacket is an EVENT "e" of the msgpack parser carrying n nils: as n arguments, or nested, as one array.
func nilsPacket(n int, nested bool) []byte {
	b := []byte{0x83, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a'}
	if nested {
		b = binary.BigEndian.AppendUint32(append(b, 0x92, 0xa1, 'e', 0xdd), uint32(n))
	} else {
		b = append(binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n+1)), 0xa1, 'e')
	}
	for range n {
		b = append(b, 0xc0)
	}
	return append(b, 0xa3, 'n', 's', 'p', 0xa1, '/')
}

// TestMemoryProportionalToInput (issue 21, row 8): messages of 1 MB made of nils (990 000 msgpack nils, 200 000
// JSON nulls), as arguments or in one array, cost the server memory in proportion to their size: at most
// maxPerByte bytes allocated per byte received, all included (the WebSocket read, the decoding, the handler's
// Args). The msgpack parser used to build a Go value per nil and copy each argument's JSON (54 bytes per byte
// nested, 100 as arguments, with a 2.4 GB peak for 20 connections sending 5 each), the default parser a
// json.RawMessage per argument (32).
func TestMemoryProportionalToInput(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	const maxPerByte = 25
	tests := []struct {
		name    string
		msgpack bool
		nested  bool
	}{
		{"msgpack, arguments", true, false},
		{"msgpack, nested", true, true},
		{"json, arguments", false, false},
		{"json, nested", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := socketio.Config{}
			connect, typ := []byte("40"), websocket.MessageText
			msg := []byte("42[\"e\"" + strings.Repeat(",null", 199_990) + "]")
			if tt.nested {
				msg = []byte("42[\"e\",[null" + strings.Repeat(",null", 199_988) + "]]")
			}
			if tt.msgpack {
				cfg.Parser = msgpackparser.Parser{}
				connect = []byte{0x82, 0xa4, 't', 'y', 'p', 'e', 0x00, 0xa3, 'n', 's', 'p', 0xa1, '/'}
				typ, msg = websocket.MessageBinary, nilsPacket(990_000, tt.nested)
			}
			var got atomic.Int64
			srv, err := socketio.NewServer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
				s.On("e", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
					if args.Len() > 0 {
						got.Add(1)
					}
				})
			})
			hs := httptest.NewServer(srv)
			t.Cleanup(func() {
				_ = srv.Close()
				hs.Close()
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			ws.SetReadLimit(-1)
			if _, _, err := ws.Read(ctx); err != nil { // open
				t.Fatal(err)
			}
			if err := ws.Write(ctx, typ, connect); err != nil {
				t.Fatal(err)
			}
			if _, _, err := ws.Read(ctx); err != nil { // CONNECT
				t.Fatal(err)
			}
			go func() { // pings, until closed
				for {
					if _, _, err := ws.Read(ctx); err != nil {
						return
					}
				}
			}()
			const n = 5
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range n {
				if err := ws.Write(ctx, typ, msg); err != nil {
					t.Fatal(err)
				}
			}
			for got.Load() < n {
				if ctx.Err() != nil {
					t.Fatalf("%d events of %d arrived", got.Load(), n)
				}
				time.Sleep(5 * time.Millisecond)
			}
			runtime.ReadMemStats(&after)
			perByte := float64(after.TotalAlloc-before.TotalAlloc) / float64(n*len(msg))
			t.Logf("%d messages of %d bytes: %.1f bytes allocated per byte received", n, len(msg), perByte)
			if perByte > maxPerByte {
				t.Errorf("%.1f bytes allocated per byte received, more than %d", perByte, maxPerByte)
			}
		})
	}
}
