package engineio

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sioredis/sioredis/internal/wsproto"
)

// rawWS is a minimal WebSocket client speaking frames directly, to send what a library would not (fragments,
// pings, protocol errors) and to stop reading at will.
type rawWS struct {
	t   *testing.T
	nc  net.Conn
	dec wsproto.Decoder
	in  []frameRead
	buf []byte
}

type frameRead struct {
	op      wsproto.Opcode
	payload string
}

func dialRaw(t *testing.T, e *env, query string) *rawWS {
	t.Helper()
	addr := strings.TrimPrefix(e.hs.URL, "http://")
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	key := wsproto.NewKey()
	req, _ := http.NewRequest("GET", "http://"+addr+"/engine.io/?EIO=4"+query, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", key)
	if err := req.Write(nc); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(nc)
	early, err := wsproto.ReadResponse(br, req, key)
	if err != nil {
		t.Fatal(err)
	}
	r := &rawWS{t: t, nc: nc, buf: make([]byte, 64<<10)}
	if err := r.dec.Feed(early, r.collect); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rawWS) collect(op wsproto.Opcode, p []byte) error {
	r.in = append(r.in, frameRead{op, string(p)})
	return nil
}

func (r *rawWS) send(op wsproto.Opcode, fin bool, payload []byte) {
	r.t.Helper()
	if err := r.trySend(op, fin, payload); err != nil {
		r.t.Fatal(err)
	}
}

// trySend is send returning the write's error, for goroutines other than the test's (where t.Fatal would end the
// goroutine without its cleanup) and for clients the server may have closed.
func (r *rawWS) trySend(op wsproto.Opcode, fin bool, payload []byte) error {
	f := wsproto.AppendMaskedFrame(nil, op, payload, [4]byte{1, 2, 3, 4})
	if !fin {
		f[0] &^= 0x80
	}
	_, err := r.nc.Write(f)
	return err
}

// next returns the next frame from the server, or io.EOF when the server closed the connection.
func (r *rawWS) next(timeout time.Duration) (frameRead, error) {
	deadline := time.Now().Add(timeout)
	for len(r.in) == 0 {
		_ = r.nc.SetReadDeadline(deadline)
		n, err := r.nc.Read(r.buf)
		if n > 0 {
			if ferr := r.dec.Feed(r.buf[:n], r.collect); ferr != nil {
				return frameRead{}, ferr
			}
			continue
		}
		if err != nil {
			return frameRead{}, err
		}
	}
	f := r.in[0]
	r.in = r.in[1:]
	return f, nil
}

func (r *rawWS) mustNext() frameRead {
	r.t.Helper()
	f, err := r.next(5 * time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	return f
}

// open reads the open packet and returns the session id.
func (r *rawWS) open() string {
	r.t.Helper()
	f := r.mustNext()
	var o openData
	if f.op != wsproto.OpText || !strings.HasPrefix(f.payload, "0") || json.Unmarshal([]byte(f.payload[1:]), &o) != nil {
		r.t.Fatalf("open packet %v %q", f.op, f.payload)
	}
	return o.SID
}

// closeCode reads frames until the close frame and returns its status code.
func (r *rawWS) closeCode() uint16 {
	r.t.Helper()
	for {
		f := r.mustNext()
		if f.op == wsproto.OpClose {
			code, _, err := wsproto.ParseClose([]byte(f.payload))
			if err != nil {
				r.t.Fatal(err)
			}
			return code
		}
	}
}

// forEachReader runs f with the poller (Linux) and with one reading goroutine per connection.
func forEachReader(t *testing.T, f func(t *testing.T, cfg Config)) {
	t.Run("poller", func(t *testing.T) { f(t, Config{}) })
	t.Run("goroutine", func(t *testing.T) { f(t, Config{noPoller: true}) })
}

func TestWebSocketFrames(t *testing.T) {
	forEachReader(t, func(t *testing.T, cfg Config) {
		e := newEnv(t, cfg)
		r := dialRaw(t, e, "&transport=websocket")
		sid := r.open()

		// A message in three fragments, with a ping between them, answered by a pong first.
		r.send(wsproto.OpText, false, []byte("4frag"))
		r.send(wsproto.OpContinuation, false, []byte("ment"))
		r.send(wsproto.OpPing, true, []byte("p!"))
		r.send(wsproto.OpContinuation, true, []byte("ed €"))
		if f := r.mustNext(); f.op != wsproto.OpPong || f.payload != "p!" {
			t.Fatalf("got %v %q, want the pong", f.op, f.payload)
		}
		if f := r.mustNext(); f.op != wsproto.OpText || f.payload != "4fragmented €" {
			t.Fatalf("echo %v %q", f.op, f.payload)
		}

		// A message far larger than a read buffer, both ways.
		big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 000 bytes
		r.send(wsproto.OpBinary, true, big)
		if f := r.mustNext(); f.op != wsproto.OpBinary || f.payload != string(big) {
			t.Fatalf("big echo: %v, %d bytes", f.op, len(f.payload))
		}

		// Many small messages in one write come back in order.
		var burst []byte
		for i := range 200 {
			burst = wsproto.AppendMaskedFrame(burst, wsproto.OpText, fmt.Appendf(nil, "4m%d", i), [4]byte{9, 8, 7, 6})
		}
		if _, err := r.nc.Write(burst); err != nil {
			t.Fatal(err)
		}
		for i := range 200 {
			if f := r.mustNext(); f.payload != fmt.Sprintf("4m%d", i) {
				t.Fatalf("message %d: %q", i, f.payload)
			}
		}

		// The client's close is answered with the same code, and the connection ends.
		var cp [2]byte
		binary.BigEndian.PutUint16(cp[:], 4001)
		r.send(wsproto.OpClose, true, cp[:])
		if code := r.closeCode(); code != 4001 {
			t.Errorf("close code %d, want 4001", code)
		}
		if _, err := r.next(5 * time.Second); err != io.EOF {
			t.Errorf("after close: %v, want EOF", err)
		}
		if reason := e.h.waitClose(t, sid); reason != ReasonTransportClose {
			t.Errorf("reason %q", reason)
		}
	})
}

func TestWebSocketProtocolErrors(t *testing.T) {
	cases := []struct {
		name string
		send func(r *rawWS)
		code uint16
	}{
		{"unmasked frame", func(r *rawWS) {
			_, _ = r.nc.Write(wsproto.AppendFrame(nil, wsproto.OpText, []byte("4x")))
		}, wsproto.CloseProtocolError},
		{"reserved bits", func(r *rawWS) {
			f := wsproto.AppendMaskedFrame(nil, wsproto.OpText, []byte("4x"), [4]byte{1, 1, 1, 1})
			f[0] |= 0x40
			_, _ = r.nc.Write(f)
		}, wsproto.CloseProtocolError},
		{"invalid UTF-8", func(r *rawWS) { r.send(wsproto.OpText, true, []byte{'4', 0xff, 0xfe}) }, wsproto.CloseInvalidData},
		{"too large", func(r *rawWS) { r.send(wsproto.OpBinary, true, make([]byte, 2000)) }, wsproto.CloseTooBig},
		{"too large in fragments", func(r *rawWS) {
			r.send(wsproto.OpBinary, false, make([]byte, 900))
			r.send(wsproto.OpContinuation, true, make([]byte, 900))
		}, wsproto.CloseTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachReader(t, func(t *testing.T, cfg Config) {
				cfg.MaxHTTPBufferSize = 1000
				e := newEnv(t, cfg)
				r := dialRaw(t, e, "&transport=websocket")
				sid := r.open()
				tc.send(r)
				if code := r.closeCode(); code != tc.code {
					t.Errorf("close code %d, want %d", code, tc.code)
				}
				if reason := e.h.waitClose(t, sid); reason != ReasonTransportError {
					t.Errorf("reason %q", reason)
				}
			})
		})
	}
}

func TestWebSocketGracefulClose(t *testing.T) {
	forEachReader(t, func(t *testing.T, cfg Config) {
		e := newEnv(t, cfg)
		r := dialRaw(t, e, "&transport=websocket")
		sid := r.open()
		c := e.srv.Conn(sid)
		_ = c.Send(Queued, Message{Data: []byte("bye")})
		c.Close()
		if f := r.mustNext(); f.payload != "4bye" {
			t.Fatalf("got %q before the close", f.payload)
		}
		if code := r.closeCode(); code != wsproto.CloseNormal {
			t.Errorf("close code %d", code)
		}
		// The server waits for the client's end of the TCP connection, then closes.
		_ = r.nc.(*net.TCPConn).CloseWrite()
		if _, err := r.next(5 * time.Second); err != io.EOF {
			t.Errorf("after close: %v, want EOF", err)
		}
		if reason := e.h.waitClose(t, sid); reason != ReasonForcedClose {
			t.Errorf("reason %q", reason)
		}
	})
}

// TestWebSocketSlowReader fills the socket of a client that does not read: the packets wait (the flusher hands
// the connection to a goroutine of its own) and all arrive, in order, once the client reads; a client that never
// reads is disconnected when its queue overflows.
func TestWebSocketSlowReader(t *testing.T) {
	forEachReader(t, func(t *testing.T, cfg Config) {
		cfg.MaxQueuedMessages = 64
		e := newEnv(t, cfg)
		r := dialRaw(t, e, "&transport=websocket")
		sid := r.open()
		c := e.srv.Conn(sid)
		chunk := bytes.Repeat([]byte("z"), 256<<10)
		const n = 48 // 12 MiB: far more than the socket buffers hold
		for i := range n {
			data := append(fmt.Appendf(nil, "%03d", i), chunk...)
			if err := c.Send(Queued, Message{Data: data}); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
			if i%8 == 7 {
				time.Sleep(10 * time.Millisecond) // let the writer fill the socket
			}
		}
		for i := range n {
			f := r.mustNext()
			if !strings.HasPrefix(f.payload, fmt.Sprintf("4%03d", i)) || len(f.payload) != 4+len(chunk) {
				t.Fatalf("message %d: %q… (%d bytes)", i, f.payload[:min(8, len(f.payload))], len(f.payload))
			}
		}

		// Now a client that never reads.
		r2 := dialRaw(t, e, "&transport=websocket")
		sid2 := r2.open()
		c2 := e.srv.Conn(sid2)
		var err error
		for i := 0; i < 10000 && err == nil; i++ {
			err = c2.Send(Queued, Message{Data: chunk})
			if i%16 == 15 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("sending to a client that never reads: %v", err)
		}
		if reason := e.h.waitClose(t, sid2); reason != ReasonSlowClient {
			t.Errorf("reason %q", reason)
		}
	})
}

// TestWebSocketPingFlood (issue 10, D3): a client that sends WebSocket pings as fast as it can and never reads
// the pongs is dropped as a slow client once its queue is full; the queue never grows past its bound (before,
// every pong was queued: 836 MB in 3 s).
func TestWebSocketPingFlood(t *testing.T) {
	forEachReader(t, func(t *testing.T, cfg Config) {
		const limit = 64
		cfg.MaxQueuedMessages = limit
		e := newEnv(t, cfg)
		r := dialRaw(t, e, "&transport=websocket")
		sid := r.open()
		c := e.srv.Conn(sid)
		var batch []byte
		for range 64 {
			batch = append(batch, wsproto.AppendMaskedFrame(nil, wsproto.OpPing, bytes.Repeat([]byte("p"), 125), [4]byte{1, 2, 3, 4})...)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		maxQueued, written, off := 0, 0, 0
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && maxQueued <= 4*limit; {
			_ = r.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := r.nc.Write(batch[off:]) // after a timeout, the rest of the frame it cut
			written += n
			off = (off + n) % len(batch)
			c.mu.Lock()
			maxQueued = max(maxQueued, len(c.queue))
			closed := c.state == stateClosed
			c.mu.Unlock()
			var ne net.Error
			if closed || (err != nil && !(errors.As(err, &ne) && ne.Timeout())) {
				break
			}
		}
		runtime.ReadMemStats(&after)
		t.Logf("%d pings sent, at most %d pongs queued, heap %+d KB", written/(len(batch)/64), maxQueued,
			(int64(after.HeapInuse)-int64(before.HeapInuse))>>10)
		if maxQueued > limit {
			t.Errorf("%d pongs queued, more than MaxQueuedMessages (%d)", maxQueued, limit)
		}
		if reason := e.h.waitClose(t, sid); reason != ReasonSlowClient { // fails if the client is still connected
			t.Errorf("reason %q, want %q", reason, ReasonSlowClient)
		}
	})
}

// TestWebSocketTLS runs a session over TLS, where the poller cannot see the decrypted bytes: a goroutine reads.
func TestWebSocketTLS(t *testing.T) {
	e := newEnv(t, Config{})
	hs := httptest.NewTLSServer(e.srv)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	ws, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(hs.URL, "https")+"/engine.io/?EIO=4&transport=websocket",
		&websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ws.CloseNow() }()
	if _, open := readWS(t, ws); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open %q", open)
	}
	_ = ws.Write(ctx, websocket.MessageText, []byte("4over TLS"))
	if _, got := readWS(t, ws); got != "4over TLS" {
		t.Errorf("echo %q", got)
	}
	c := e.srv.Conn(firstSID(e.srv))
	if c == nil || !c.Request().TLS.HandshakeComplete {
		t.Error("the connection's request has no TLS state")
	}
	_ = ws.Close(websocket.StatusNormalClosure, "")
}

func firstSID(s *Server) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.conns {
		return id
	}
	return ""
}

// TestPreparedMessages checks that a message prepared once reaches WebSocket and long-polling clients alike.
func TestPreparedMessages(t *testing.T) {
	e := newEnv(t, Config{})
	r := dialRaw(t, e, "&transport=websocket")
	wsSID := r.open()
	pollSID := e.handshake()
	msgs := []Message{{Data: []byte(`2["ev",1]`)}, {Data: []byte{0, 1, 2}, Binary: true}}
	PrepareMessages(msgs)
	for _, sid := range []string{wsSID, pollSID} {
		if err := e.srv.Conn(sid).Send(Queued, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	if f := r.mustNext(); f.op != wsproto.OpText || f.payload != `42["ev",1]` {
		t.Errorf("text %v %q", f.op, f.payload)
	}
	if f := r.mustNext(); f.op != wsproto.OpBinary || f.payload != "\x00\x01\x02" {
		t.Errorf("binary %v %q", f.op, f.payload)
	}
	if _, body, _ := e.do("GET", "&transport=polling&sid="+pollSID, ""); body != "42[\"ev\",1]\x1ebAAEC" {
		t.Errorf("polling %q", body)
	}
}

// TestRequestKept checks what a connection keeps of its handshake request.
func TestRequestKept(t *testing.T) {
	e := newEnv(t, Config{})
	r := dialRaw(t, e, "&transport=websocket&token=abc")
	c := e.srv.Conn(r.open())
	req := c.Request()
	if req.URL.Query().Get("token") != "abc" || req.Method != "GET" || req.Host == "" || req.RemoteAddr == "" {
		t.Errorf("request %+v", req)
	}
	if req.Header.Get("Sec-WebSocket-Key") != "" || req.Header.Get("Upgrade") != "" {
		t.Errorf("handshake headers kept: %v", req.Header)
	}
	if req.ProtoMajor != 1 || req.ProtoMinor != 1 {
		t.Errorf("proto %d.%d", req.ProtoMajor, req.ProtoMinor)
	}
}

// TestRequestInfoRoundTrip checks that the one string of reqInfo gives back every field and header value, long
// ones (a length over one uvarint byte) and repeated ones included, in one allocation.
func TestRequestInfoRoundTrip(t *testing.T) {
	r := httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=websocket", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	long := strings.Repeat("v", 300)
	r.Header.Set("X-Long", long)
	r.Header.Add("X-Twice", "a")
	r.Header.Add("X-Twice", "b")
	r.Header.Set("X-Empty", "")
	r.Header.Set("Upgrade", "websocket") // dropped: the handshake's own
	var ri reqInfo
	if n := testing.AllocsPerRun(10, func() { ri = requestInfo(r) }); n != 1 {
		t.Errorf("requestInfo: %v allocations, want 1", n)
	}
	f := ri.list()
	if want := []string{"GET", "/engine.io/?EIO=4&transport=websocket", "HTTP/1.1", "example.com", "192.0.2.1:1234"}; !slices.Equal(f[:reqHeaderStart], want) {
		t.Errorf("fields %q, want %q", f[:reqHeaderStart], want)
	}
	got := http.Header{}
	for i := reqHeaderStart; i+1 < len(f); i += 2 {
		got[f[i]] = append(got[f[i]], f[i+1])
	}
	want := http.Header{"X-Long": {long}, "X-Twice": {"a", "b"}, "X-Empty": {""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("headers %q, want %q", got, want)
	}
}
