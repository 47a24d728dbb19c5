package engineio

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// v3Env is an env whose requests are Engine.IO v3 (EIO=3).
func v3Env(t *testing.T, cfg Config) *env {
	cfg.AllowEIO3 = true
	e := newEnv(t, cfg)
	e.url = strings.Replace(e.url, "EIO=4", "EIO=3", 1)
	return e
}

// handshakeV3 opens a v3 long-polling session and returns its sid and open packet.
func (e *env) handshakeV3(query string) (string, openData) {
	e.t.Helper()
	code, body, hdr := e.do("GET", "&transport=polling"+query, "")
	n, packet, ok := strings.Cut(body, ":")
	if code != 200 || !ok || hdr.Get("Content-Type") != "text/plain; charset=UTF-8" || !strings.HasPrefix(packet, "0") {
		e.t.Fatalf("v3 handshake: %d %q", code, body)
	}
	if n != strconv.Itoa(len(packet)) {
		e.t.Fatalf("v3 handshake: length %s for %d bytes", n, len(packet))
	}
	var o openData
	if err := json.Unmarshal([]byte(packet[1:]), &o); err != nil {
		e.t.Fatal(err)
	}
	return o.SID, o
}

func TestEIO3Refused(t *testing.T) {
	e := newEnv(t, Config{})
	for _, q := range []string{"EIO=3", "EIO=2", "x=1"} {
		req := strings.Replace(e.url, "EIO=4", q, 1)
		res, err := e.cl.Get(req + "&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		var answer struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		_ = json.NewDecoder(res.Body).Decode(&answer)
		res.Body.Close()
		if res.StatusCode != 400 || answer.Code != 5 || answer.Message != "Unsupported protocol version" {
			t.Errorf("%s without AllowEIO3: %d %+v", q, res.StatusCode, answer)
		}
	}
}

func TestEIO3Handshake(t *testing.T) {
	e := v3Env(t, Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	sid, o := e.handshakeV3("")
	if len(sid) != 20 || len(o.Upgrades) != 1 || o.Upgrades[0] != "websocket" || o.PingInterval != 300 || o.PingTimeout != 200 {
		t.Errorf("open %+v", o)
	}
	if c := e.srv.Conn(sid); c == nil || c.Protocol() != 3 {
		t.Fatalf("conn %v", c)
	}
	// The session keeps its protocol: a v4 request for it is refused.
	res, err := e.cl.Get(strings.Replace(e.url, "EIO=3", "EIO=4", 1) + "&transport=polling&sid=" + sid)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("v4 request for a v3 session: %d", res.StatusCode)
	}
}

func TestEIO3PollingPayloads(t *testing.T) {
	e := v3Env(t, Config{})
	sid, _ := e.handshakeV3("&b64=1")
	q := "&transport=polling&sid=" + sid
	// Two text messages (UTF-16 lengths) and a base64 binary one in one POST, echoed in one GET.
	if code, body, _ := e.do("POST", q, "2:4a4:4€😀6:b4AQID"); code != 200 || body != "ok" {
		t.Fatalf("POST: %d %q", code, body)
	}
	testWaitQueued(t, e, sid, 3)
	if _, body, hdr := e.do("GET", q, ""); body != "2:4a4:4€😀6:b4AQID" || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Errorf("GET (b64): %q %s", body, hdr.Get("Content-Type"))
	}
	// A malformed payload closes the session.
	if code, _, _ := e.do("POST", q, "5:4a"); code != 400 {
		t.Errorf("bad payload: %d", code)
	}
	if r := e.h.waitClose(t, sid); r != ReasonTransportError {
		t.Errorf("reason %q", r)
	}

	// Without b64, binary goes in the XHR2 framing, and the client may post it so.
	sid, _ = e.handshakeV3("")
	q = "&transport=polling&sid=" + sid
	post := "\x00\x02\xff4a\x01\x04\xff\x04\x01\x02\x03"
	if code, body, _ := e.do("POST", q, post, "Content-Type", "application/octet-stream"); code != 200 || body != "ok" {
		t.Fatalf("binary POST: %d %q", code, body)
	}
	testWaitQueued(t, e, sid, 2)
	if _, body, hdr := e.do("GET", q, ""); body != post || hdr.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("GET (binary): %q %s", body, hdr.Get("Content-Type"))
	}
	// Text alone stays text.
	_, _, _ = e.do("POST", q, "2:4b")
	testWaitQueued(t, e, sid, 1)
	if _, body, _ := e.do("GET", q, ""); body != "2:4b" {
		t.Errorf("GET (text): %q", body)
	}
}

// testWaitQueued waits until session sid has n packets queued.
func testWaitQueued(t *testing.T, e *env, sid string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := e.srv.Conn(sid)
		if c == nil {
			t.Fatal("session closed")
		}
		c.mu.Lock()
		got := len(c.queue)
		c.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d packets queued, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEIO3Heartbeat(t *testing.T) {
	const interval, timeout = 100 * time.Millisecond, 150 * time.Millisecond
	e := v3Env(t, Config{PingInterval: interval, PingTimeout: timeout})
	// A client that pings gets pongs and stays well past PingInterval + PingTimeout.
	sid, _ := e.handshakeV3("")
	q := "&transport=polling&sid=" + sid
	start := time.Now()
	var lastPing time.Time
	for time.Since(start) < 3*(interval+timeout) {
		lastPing = time.Now()
		if code, _, _ := e.do("POST", q, "1:2"); code != 200 {
			t.Fatalf("ping: %d", code)
		}
		if _, body, _ := e.do("GET", q, ""); body != "1:3" {
			t.Fatalf("got %q, want a pong", body)
		}
		time.Sleep(interval)
	}
	if e.srv.Conn(sid) == nil {
		t.Fatal("a pinging client was closed")
	}
	// Once it stops, it is closed after PingInterval + PingTimeout, not before.
	if r := e.h.waitClose(t, sid); r != ReasonPingTimeout {
		t.Errorf("reason %q", r)
	}
	if took := time.Since(lastPing); took < interval+timeout {
		t.Errorf("closed %v after the last ping, want >= %v", took, interval+timeout)
	}
	// A client's close packet: the GET it left pending gets a noop, framed in v3.
	sid, _ = e.handshakeV3("")
	q = "&transport=polling&sid=" + sid
	_, _, _ = e.do("POST", q, "1:1")
	if r := e.h.waitClose(t, sid); r != ReasonTransportClose {
		t.Errorf("close packet: reason %q", r)
	}
	if _, body, _ := e.do("GET", q, ""); body != "1:6" {
		t.Errorf("GET after the client's close: %q, want a v3 noop", body)
	}
	// The server never pings a v3 client, and a pong from it is the wrong direction.
	sid, _ = e.handshakeV3("")
	q = "&transport=polling&sid=" + sid
	_, _, _ = e.do("POST", q, "1:3")
	if r := e.h.waitClose(t, sid); r != ReasonTransportError {
		t.Errorf("pong from a v3 client: reason %q", r)
	}
}

func TestEIO3WebSocket(t *testing.T) {
	e := v3Env(t, Config{})
	ctx := context.Background()
	ws := dialWS(t, e, "&transport=websocket")
	if _, open := readWS(t, ws); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open %q", open)
	}
	_ = ws.Write(ctx, websocket.MessageText, []byte("2"))
	if _, got := readWS(t, ws); got != "3" {
		t.Errorf("pong %q", got)
	}
	// Binary frames start with the packet type.
	_ = ws.Write(ctx, websocket.MessageBinary, []byte{4, 1, 2, 3})
	if typ, got := readWS(t, ws); typ != websocket.MessageBinary || got != "\x04\x01\x02\x03" {
		t.Errorf("binary echo %v %q", typ, got)
	}
	big := append([]byte{4}, strings.Repeat("x", 2000)...)
	_ = ws.Write(ctx, websocket.MessageBinary, big)
	if typ, got := readWS(t, ws); typ != websocket.MessageBinary || got != string(big) {
		t.Errorf("large binary echo %v, %d bytes", typ, len(got))
	}
	// A base64 client sends and gets "b4..." text frames.
	ws64 := dialWS(t, e, "&transport=websocket&b64=1")
	readWS(t, ws64)
	_ = ws64.Write(ctx, websocket.MessageText, []byte("b4AQID"))
	if typ, got := readWS(t, ws64); typ != websocket.MessageText || got != "b4AQID" {
		t.Errorf("base64 echo %v %q", typ, got)
	}
}

func TestEIO3Upgrade(t *testing.T) {
	e := v3Env(t, Config{})
	sid, _ := e.handshakeV3("&b64=1")
	ctx := context.Background()
	ws := dialWS(t, e, "&transport=websocket&sid="+sid)
	_ = ws.Write(ctx, websocket.MessageText, []byte("2probe"))
	if _, got := readWS(t, ws); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	_ = ws.Write(ctx, websocket.MessageText, []byte("5"))
	testWaitTransport(t, e, sid)
	// Upgraded: the WebSocket asked for no base64, so binary is a binary frame.
	_ = ws.Write(ctx, websocket.MessageBinary, []byte{4, 9})
	if typ, got := readWS(t, ws); typ != websocket.MessageBinary || got != "\x04\x09" {
		t.Errorf("binary echo %v %q", typ, got)
	}
}

func testWaitTransport(t *testing.T, e *env, sid string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.Conn(sid) == nil || e.srv.Conn(sid).Transport() != TransportWebSocket {
		if time.Now().After(deadline) {
			t.Fatal("not upgraded")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEIO3PingFlood: the pongs answering a v3 client's pings are bounded by MaxQueuedMessages like any packet.
func TestEIO3PingFlood(t *testing.T) {
	e := v3Env(t, Config{MaxQueuedMessages: 16})
	sid, _ := e.handshakeV3("")
	_, _, _ = e.do("POST", "&transport=polling&sid="+sid, strings.Repeat("1:2", 1000))
	if r := e.h.waitClose(t, sid); r != ReasonSlowClient {
		t.Errorf("reason %q, want %q", r, ReasonSlowClient)
	}
}
