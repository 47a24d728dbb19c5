package engineio

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// echoHandler sends every message back and records close reasons.
type echoHandler struct {
	mu     sync.Mutex
	closed map[string]CloseReason
	done   chan string
}

func newEchoHandler() *echoHandler {
	return &echoHandler{closed: make(map[string]CloseReason), done: make(chan string, 4096)}
}

func (h *echoHandler) OnOpen(c *Conn) {}
func (h *echoHandler) OnMessage(c *Conn, m Message) {
	_ = c.Send(Queued, m)
}
func (h *echoHandler) OnClose(c *Conn, reason CloseReason) {
	h.mu.Lock()
	h.closed[c.ID()] = reason
	h.mu.Unlock()
	h.done <- c.ID()
}

func (h *echoHandler) waitClose(t *testing.T, sid string) CloseReason {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		h.mu.Lock()
		r, ok := h.closed[sid]
		h.mu.Unlock()
		if ok {
			return r
		}
		select {
		case <-h.done:
		case <-timeout:
			t.Fatalf("session %s not closed", sid)
		}
	}
}

type env struct {
	t   *testing.T
	srv *Server
	h   *echoHandler
	hs  *httptest.Server
	url string
	cl  *http.Client
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	check := leakcheck.Check(t)
	h := newEchoHandler()
	srv, err := NewServer(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	e := &env{t: t, srv: srv, h: h, hs: hs, url: hs.URL + "/engine.io/?EIO=4", cl: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		hs.Close()
		e.cl.CloseIdleConnections()
		check()
	})
	return e
}

func (e *env) do(method, query, body string, hdr ...string) (int, string, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+query, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.cl.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

type openData struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func (e *env) handshake() string {
	e.t.Helper()
	code, body, _ := e.do("GET", "&transport=polling", "")
	if code != 200 || !strings.HasPrefix(body, "0") {
		e.t.Fatalf("handshake: %d %q", code, body)
	}
	var o openData
	if err := json.Unmarshal([]byte(body[1:]), &o); err != nil {
		e.t.Fatal(err)
	}
	return o.SID
}

func TestHandshake(t *testing.T) {
	e := newEnv(t, Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	code, body, hdr := e.do("GET", "&transport=polling", "")
	if code != 200 || hdr.Get("Content-Type") != "text/plain; charset=UTF-8" {
		t.Fatalf("%d %q", code, hdr.Get("Content-Type"))
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(body[1:]), &raw); err != nil {
		t.Fatal(err)
	}
	var o openData
	_ = json.Unmarshal([]byte(body[1:]), &o)
	if len(raw) != 5 || len(o.SID) != 20 || len(o.Upgrades) != 1 || o.Upgrades[0] != "websocket" ||
		o.PingInterval != 300 || o.PingTimeout != 200 || o.MaxPayload != 1000000 {
		t.Errorf("open packet %s", body)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, Config{})
	sid := e.handshake()
	tests := []struct {
		name   string
		method string
		url    string // appended to /engine.io/?
		status int
		code   ErrorCode
	}{
		{"no EIO", "GET", "x=1&transport=polling", 400, CodeUnsupportedVersion},
		{"EIO=3", "GET", "EIO=3&transport=polling", 400, CodeUnsupportedVersion},
		{"EIO=abc", "GET", "EIO=abc&transport=polling", 400, CodeUnsupportedVersion},
		{"no transport", "GET", "EIO=4", 400, CodeUnknownTransport},
		{"bad transport", "GET", "EIO=4&transport=abc", 400, CodeUnknownTransport},
		{"POST handshake", "POST", "EIO=4&transport=polling", 400, CodeBadHandshakeMethod},
		{"PUT handshake", "PUT", "EIO=4&transport=polling", 400, CodeBadHandshakeMethod},
		{"unknown sid GET", "GET", "EIO=4&transport=polling&sid=nope", 400, CodeUnknownSID},
		{"unknown sid POST", "POST", "EIO=4&transport=polling&sid=nope", 400, CodeUnknownSID},
		{"PUT with sid", "PUT", "EIO=4&transport=polling&sid=" + sid, 400, CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.hs.URL+"/engine.io/?"+tt.url, nil)
			res, err := e.cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			if res.StatusCode != tt.status || ErrorCode(body.Code) != tt.code || body.Message != tt.code.String() {
				t.Errorf("got %d %+v, want %d code %d", res.StatusCode, body, tt.status, tt.code)
			}
		})
	}
}

func TestPollingEcho(t *testing.T) {
	e := newEnv(t, Config{})
	sid := e.handshake()
	q := "&transport=polling&sid=" + sid
	if code, body, _ := e.do("POST", q, "4hello\x1ebAQIDBA==\x1e4€"); code != 200 || body != "ok" {
		t.Fatalf("POST: %d %q", code, body)
	}
	if code, body, _ := e.do("GET", q, ""); code != 200 || body != "4hello\x1ebAQIDBA==\x1e4€" {
		t.Fatalf("GET: %d %q", code, body)
	}
	// A close packet from the client ends the session.
	if code, _, _ := e.do("POST", q, "1"); code != 200 {
		t.Fatal(code)
	}
	if r := e.h.waitClose(t, sid); r != ReasonTransportClose {
		t.Errorf("reason %q", r)
	}
	// The first GET after the client's close may have been sent before it: it gets a noop; later ones 400.
	if code, body, _ := e.do("GET", q, ""); code != 200 || body != "6" {
		t.Errorf("first GET after close: %d %q, want a noop", code, body)
	}
	if code, _, _ := e.do("GET", q, ""); code != 400 {
		t.Errorf("GET after close: %d", code)
	}
}

func TestPollingProtocolErrors(t *testing.T) {
	e := newEnv(t, Config{MaxHTTPBufferSize: 100})
	t.Run("invalid packet", func(t *testing.T) {
		sid := e.handshake()
		q := "&transport=polling&sid=" + sid
		if code, _, _ := e.do("POST", q, "abc"); code != 400 {
			t.Errorf("POST: %d", code)
		}
		if code, _, _ := e.do("GET", q, ""); code != 400 {
			t.Errorf("GET after: %d", code)
		}
	})
	t.Run("payload too large", func(t *testing.T) {
		sid := e.handshake()
		q := "&transport=polling&sid=" + sid
		if code, _, _ := e.do("POST", q, "4"+strings.Repeat("x", 100)); code != 413 {
			t.Errorf("POST: %d", code)
		}
		if r := e.h.waitClose(t, sid); r != ReasonTransportError {
			t.Errorf("reason %q", r)
		}
	})
	t.Run("concurrent GET", func(t *testing.T) {
		sid := e.handshake()
		q := "&transport=polling&sid=" + sid
		first := make(chan string, 1)
		go func() {
			_, body, _ := e.do("GET", q, "")
			first <- body
		}()
		testenv.WaitFor(t, func() bool {
			c := e.srv.Conn(sid)
			if c == nil {
				return true
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.getActive
		})
		if code, _, _ := e.do("GET", q, ""); code != 400 {
			t.Errorf("second GET: %d", code)
		}
		if body := <-first; body != "1" {
			t.Errorf("first GET got %q, want the close packet", body)
		}
		if code, _, _ := e.do("GET", q, ""); code != 400 {
			t.Errorf("GET after: %d", code)
		}
	})
}

// TestPollingSeparatorFlood (issue 10, D9): a body made only of record separators, 30 at once, costs memory in
// proportion to the bodies, as 30 ordinary bodies of the same size do, not a packet per separator.
func TestPollingSeparatorFlood(t *testing.T) {
	const size, n = 1_000_000, 30
	e := newEnv(t, Config{MaxHTTPBufferSize: size})
	allocated := func(body string, wantCode int) uint64 {
		sids := make([]string, n)
		for i := range sids {
			sids[i] = e.handshake()
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i, sid := range sids {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", e.url+"&transport=polling&sid="+sid, strings.NewReader(body))
				res, err := e.cl.Do(req)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				codes[i] = res.StatusCode
			})
		}
		wg.Wait()
		runtime.ReadMemStats(&after)
		for i, code := range codes {
			if code != wantCode {
				t.Errorf("POST %d: %d, want %d", i, code, wantCode)
			}
		}
		for _, sid := range sids {
			if c := e.srv.Conn(sid); c != nil {
				c.close(ReasonServerShutdown, false)
			}
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	normal := allocated("4"+strings.Repeat("x", size-1), 200)
	flood := allocated(strings.Repeat("\x1e", size), 400) // its first packet is empty: refused
	t.Logf("%d bodies of %d bytes: %d MB allocated for messages, %d MB for separators", n, size, normal>>20, flood>>20)
	if limit := 2*normal + 32<<20; flood > limit {
		t.Errorf("separators cost %d MB, more than twice the %d MB of ordinary bodies (+32 MB)", flood>>20, normal>>20)
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, Config{AllowedOrigins: []string{"https://app.example.com", "*.trusted.test"}, AllowCredentials: true})
	tests := []struct {
		origin string
		status int
		cors   bool
	}{
		{"", 200, false},
		{"https://app.example.com", 200, true},
		{"http://x.trusted.test", 200, true},
		{"https://evil.test", 403, false},
		{e.hs.URL, 200, false}, // same origin
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			var hdr []string
			if tt.origin != "" {
				hdr = []string{"Origin", tt.origin}
			}
			code, _, h := e.do("GET", "&transport=polling", "", hdr...)
			if code != tt.status {
				t.Errorf("status %d, want %d", code, tt.status)
			}
			if got := h.Get("Access-Control-Allow-Origin") == tt.origin && tt.origin != ""; got != tt.cors {
				t.Errorf("CORS header %q", h.Get("Access-Control-Allow-Origin"))
			}
			if tt.cors && h.Get("Access-Control-Allow-Credentials") != "true" {
				t.Error("no Allow-Credentials")
			}
		})
	}
	code, _, h := e.do("OPTIONS", "&transport=polling", "", "Origin", "https://app.example.com",
		"Access-Control-Request-Headers", "x-custom")
	if code != 204 || h.Get("Access-Control-Allow-Headers") != "x-custom" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", code, h)
	}
}

func dialWS(t *testing.T, e *env, query string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	return ws
}

func readWS(t *testing.T, ws *websocket.Conn) (websocket.MessageType, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return typ, string(b)
}

func TestWebSocketSession(t *testing.T) {
	e := newEnv(t, Config{})
	ws := dialWS(t, e, "&transport=websocket")
	_, open := readWS(t, ws)
	var o openData
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &o) != nil || len(o.Upgrades) != 0 {
		t.Fatalf("open %q", open)
	}
	ctx := context.Background()
	_ = ws.Write(ctx, websocket.MessageText, []byte("4hello €"))
	if _, got := readWS(t, ws); got != "4hello €" {
		t.Errorf("echo %q", got)
	}
	_ = ws.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
	if typ, got := readWS(t, ws); typ != websocket.MessageBinary || got != "\x01\x02\x03" {
		t.Errorf("binary echo %v %q", typ, got)
	}
	_ = ws.Close(websocket.StatusNormalClosure, "")
	if r := e.h.waitClose(t, o.SID); r != ReasonTransportClose {
		t.Errorf("reason %q", r)
	}
}

func TestUpgrade(t *testing.T) {
	e := newEnv(t, Config{})
	sid := e.handshake()
	q := "&transport=polling&sid=" + sid
	pending := make(chan string, 1)
	go func() {
		_, body, _ := e.do("GET", q, "")
		pending <- body
	}()
	ws := dialWS(t, e, "&transport=websocket&sid="+sid)
	ctx := context.Background()
	_ = ws.Write(ctx, websocket.MessageText, []byte("2probe"))
	if _, got := readWS(t, ws); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	if body := <-pending; body != "6" {
		t.Errorf("pending GET got %q, want noop", body)
	}
	_ = ws.Write(ctx, websocket.MessageText, []byte("5"))
	_ = ws.Write(ctx, websocket.MessageText, []byte("4after upgrade"))
	if _, got := readWS(t, ws); got != "4after upgrade" {
		t.Errorf("echo %q", got)
	}
	if c := e.srv.Conn(sid); c == nil || c.Transport() != TransportWebSocket {
		t.Error("not upgraded")
	}
	if code, _, _ := e.do("GET", q, ""); code != 400 {
		t.Errorf("polling GET after upgrade: %d", code)
	}
	// A second WebSocket for the upgraded session completes its handshake and is closed at once, as in the
	// reference server; the session goes on.
	expectClosedWS(t, e, sid)
	_ = ws.Write(ctx, websocket.MessageText, []byte("4still there"))
	if _, got := readWS(t, ws); got != "4still there" {
		t.Errorf("echo after a second WebSocket: %q", got)
	}
}

// TestUpgradeWhileProbing: a WebSocket arriving while another probes the upgrade is accepted and closed too,
// and the first one completes the upgrade.
func TestUpgradeWhileProbing(t *testing.T) {
	e := newEnv(t, Config{})
	sid := e.handshake()
	ws := dialWS(t, e, "&transport=websocket&sid="+sid)
	ctx := context.Background()
	_ = ws.Write(ctx, websocket.MessageText, []byte("2probe"))
	if _, got := readWS(t, ws); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	expectClosedWS(t, e, sid)
	_ = ws.Write(ctx, websocket.MessageText, []byte("5"))
	_ = ws.Write(ctx, websocket.MessageText, []byte("4upgraded"))
	if _, got := readWS(t, ws); got != "4upgraded" {
		t.Errorf("echo %q", got)
	}
}

// TestUpgradeGETBeforeUpgradePacket: once a WebSocket has probed, a GET that comes before the client's "upgrade"
// packet (the client sent it first, on the other connection, and the GET overtook it) waits a moment for it: the
// upgrade done, it gets 400 like any GET after the upgrade; without the upgrade packet, a noop.
func TestUpgradeGETBeforeUpgradePacket(t *testing.T) {
	e := newEnv(t, Config{})
	probed := func() (string, *websocket.Conn) {
		sid := e.handshake()
		ws := dialWS(t, e, "&transport=websocket&sid="+sid)
		_ = ws.Write(context.Background(), websocket.MessageText, []byte("2probe"))
		if _, got := readWS(t, ws); got != "3probe" {
			t.Fatalf("probe answer %q", got)
		}
		return sid, ws
	}

	sid, ws := probed()
	got := make(chan int, 1)
	go func() {
		code, _, _ := e.do("GET", "&transport=polling&sid="+sid, "")
		got <- code
	}()
	// Once the GET is held, the upgrade packet.
	c := e.srv.Conn(sid)
	for held := false; !held; {
		select {
		case code := <-got:
			t.Fatalf("GET while probed answered at once (%d), not held for the upgrade packet", code)
		case <-time.After(time.Millisecond):
		}
		c.mu.Lock()
		held = c.getActive
		c.mu.Unlock()
	}
	_ = ws.Write(context.Background(), websocket.MessageText, []byte("5"))
	if code := <-got; code != 400 {
		t.Errorf("GET overtaking the upgrade packet: %d, want 400", code)
	}

	sid, _ = probed()
	start := time.Now()
	if code, body, _ := e.do("GET", "&transport=polling&sid="+sid, ""); code != 200 || body != "6" {
		t.Errorf("GET while probed: %d %q, want a noop", code, body)
	}
	if took := time.Since(start); took < probeGETWait {
		t.Errorf("noop after %v, before %v", took, probeGETWait)
	}
}

// expectClosedWS dials a WebSocket for session sid and expects a completed handshake, then a normal close.
func expectClosedWS(t *testing.T, e *env, sid string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws2, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"&transport=websocket&sid="+sid, nil)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("second WebSocket: handshake refused (HTTP %d): %v", status, err)
	}
	defer ws2.CloseNow()
	if _, _, err := ws2.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("second WebSocket: read %v, want a normal close", err)
	}
}

// TestPollingAbortedGET: a client that gives up its pending GET ends the session (the reference server does);
// the next GET is refused.
func TestPollingAbortedGET(t *testing.T) {
	e := newEnv(t, Config{})
	sid := e.handshake()
	q := "&transport=polling&sid=" + sid
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+q, nil)
	if err != nil {
		t.Fatal(err)
	}
	aborted := make(chan error, 1)
	go func() {
		res, err := e.cl.Do(req)
		if err == nil {
			res.Body.Close()
		}
		aborted <- err
	}()
	waitGET(t, e, sid)
	cancel()
	if err := <-aborted; !errors.Is(err, context.Canceled) {
		t.Fatalf("aborted GET: %v", err)
	}
	if r := e.h.waitClose(t, sid); r != ReasonTransportError {
		t.Errorf("reason %q", r)
	}
	if code, _, _ := e.do("GET", q, ""); code != 400 {
		t.Errorf("GET after the aborted one: %d, want 400", code)
	}
}

// TestPollingCloseWhileGETPending: a close packet posted while a GET waits ends the session; the GET gets a
// noop (the client asked for the close, it needs no close packet), the next GET is refused.
func TestPollingCloseWhileGETPending(t *testing.T) {
	e := newEnv(t, Config{})
	sid := e.handshake()
	q := "&transport=polling&sid=" + sid
	pending := make(chan string, 1)
	go func() {
		_, body, _ := e.do("GET", q, "")
		pending <- body
	}()
	waitGET(t, e, sid)
	if code, body, _ := e.do("POST", q, "1"); code != 200 || body != "ok" {
		t.Errorf("POST close: %d %q", code, body)
	}
	if body := <-pending; body != "6" {
		t.Errorf("pending GET got %q, want a noop", body)
	}
	if r := e.h.waitClose(t, sid); r != ReasonTransportClose {
		t.Errorf("reason %q", r)
	}
	if code, _, _ := e.do("GET", q, ""); code != 400 {
		t.Errorf("GET after close: %d, want 400", code)
	}
}

// TestPollingClientCloseGrace: the noop for a GET overtaken by the client's close packet is given only within
// clientClosedGrace of the close; later, the session is just unknown.
func TestPollingClientCloseGrace(t *testing.T) {
	e := newEnv(t, Config{})
	sid := e.handshake()
	q := "&transport=polling&sid=" + sid
	if code, _, _ := e.do("POST", q, "1"); code != 200 {
		t.Fatal(code)
	}
	time.Sleep(clientClosedGrace + 50*time.Millisecond)
	if code, body, _ := e.do("GET", q, ""); code != 400 {
		t.Errorf("GET %v after the close: %d %q, want 400", clientClosedGrace, code, body)
	}
	e.srv.byClient.mu.Lock()
	defer e.srv.byClient.mu.Unlock()
	if len(e.srv.byClient.sids) != 0 || len(e.srv.byClient.order) != 0 {
		t.Errorf("expired entries kept: %d, %d", len(e.srv.byClient.sids), len(e.srv.byClient.order))
	}
}

// waitGET waits until session sid has a long-polling GET pending.
func waitGET(t *testing.T, e *env, sid string) {
	t.Helper()
	testenv.WaitFor(t, func() bool {
		c := e.srv.Conn(sid)
		if c == nil {
			return true
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.getActive
	})
}

func TestPingTimeout(t *testing.T) {
	e := newEnv(t, Config{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
	sid := e.handshake()
	if code, body, _ := e.do("GET", "&transport=polling&sid="+sid, ""); code != 200 || body != "2" {
		t.Fatalf("GET: %d %q, want a ping", code, body)
	}
	if r := e.h.waitClose(t, sid); r != ReasonPingTimeout {
		t.Errorf("reason %q", r)
	}
	// Answering pings keeps the session.
	sid = e.handshake()
	q := "&transport=polling&sid=" + sid
	for range 4 {
		if _, body, _ := e.do("GET", q, ""); body != "2" {
			t.Fatalf("got %q", body)
		}
		if code, _, _ := e.do("POST", q, "3"); code != 200 {
			t.Fatal(code)
		}
	}
	if e.srv.Conn(sid) == nil {
		t.Error("session closed although it answered")
	}
}

func TestSlowClient(t *testing.T) {
	e := newEnv(t, Config{MaxQueuedMessages: 4})
	sid := e.handshake()
	c := e.srv.Conn(sid)
	if err := c.Send(Volatile, Message{Data: []byte("v")}); !errors.Is(err, ErrDropped) {
		t.Errorf("volatile with no GET pending: %v", err)
	}
	for i := range 4 {
		if err := c.Send(Queued, Message{Data: []byte{'a' + byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send(Queued, Message{Data: []byte("x")}); !errors.Is(err, ErrClosed) {
		t.Errorf("overflow: %v", err)
	}
	if r := e.h.waitClose(t, sid); r != ReasonSlowClient {
		t.Errorf("reason %q", r)
	}
}

func TestGracefulClose(t *testing.T) {
	e := newEnv(t, Config{})
	sid := e.handshake()
	c := e.srv.Conn(sid)
	_ = c.Send(Queued, Message{Data: []byte("bye")})
	c.Close()
	q := "&transport=polling&sid=" + sid
	if _, body, _ := e.do("GET", q, ""); body != "4bye" {
		t.Errorf("first GET %q", body)
	}
	if _, body, _ := e.do("GET", q, ""); body != "1" {
		t.Errorf("second GET %q", body)
	}
	if r := e.h.waitClose(t, sid); r != ReasonForcedClose {
		t.Errorf("reason %q", r)
	}
}
