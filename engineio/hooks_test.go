package engineio

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// headerRecorder is a Config with the Headers hooks, recording which responses got each.
type headerRecorder struct {
	mu      sync.Mutex
	initial []string // "METHOD transport sid?" of the requests
	all     []string
}

func (hr *headerRecorder) config() Config {
	desc := func(r *http.Request) string {
		q := r.URL.Query()
		d := r.Method + " " + q.Get("transport")
		if q.Get("sid") != "" {
			d += " sid"
		}
		return d
	}
	return Config{
		InitialHeaders: func(h http.Header, r *http.Request) {
			hr.mu.Lock()
			hr.initial = append(hr.initial, desc(r))
			hr.mu.Unlock()
			h.Set("Set-Cookie", "io=first; Path=/")
		},
		Headers: func(h http.Header, r *http.Request) {
			hr.mu.Lock()
			hr.all = append(hr.all, desc(r))
			hr.mu.Unlock()
			h.Set("X-Engine", "every")
			h.Set("X-Bad\r\nInjected", "no")  // not a token: left out of a 101
			h.Set("X-Bad-Value", "a\r\nb: c") // a line break: left out of a 101 (net/http refuses it too)
		},
	}
}

func (hr *headerRecorder) take() (initial, all []string) {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	initial, all = hr.initial, hr.all
	hr.initial, hr.all = nil, nil
	return
}

// TestHeadersHooks: InitialHeaders sets headers of the response opening a session, Headers of every successful
// response, on long-polling responses and on WebSocket 101s (a session opened on WebSocket, and an upgrade).
func TestHeadersHooks(t *testing.T) {
	hr := &headerRecorder{}
	e := newEnv(t, hr.config())
	check := func(name string, h http.Header, initial bool, wantInitial, wantAll []string) {
		t.Helper()
		gotInitial, gotAll := hr.take()
		if strings.Join(gotInitial, ",") != strings.Join(wantInitial, ",") || strings.Join(gotAll, ",") != strings.Join(wantAll, ",") {
			t.Errorf("%s: hooks called for %q and %q, want %q and %q", name, gotInitial, gotAll, wantInitial, wantAll)
		}
		if h.Get("X-Engine") != "every" {
			t.Errorf("%s: X-Engine %q", name, h.Get("X-Engine"))
		}
		if got := h.Get("Set-Cookie"); (got == "io=first; Path=/") != initial {
			t.Errorf("%s: Set-Cookie %q, want it: %v", name, got, initial)
		}
		for k := range h {
			if strings.Contains(k, "Injected") || k == "B" {
				t.Errorf("%s: injected header %q: %q", name, k, h.Get(k))
			}
		}
		if strings.Contains(name, "101") && h.Get("X-Bad-Value") != "" {
			t.Errorf("%s: a value with a line break was sent: %q", name, h.Get("X-Bad-Value"))
		}
	}

	// Long-polling: the handshake, a POST, a GET.
	code, body, h := e.do("GET", "&transport=polling", "")
	if code != 200 {
		t.Fatalf("handshake %d %s", code, body)
	}
	check("polling handshake", h, true, []string{"GET polling"}, []string{"GET polling"})
	var o openData
	_ = json.Unmarshal([]byte(body[1:]), &o)
	code, _, h = e.do("POST", "&transport=polling&sid="+o.SID, "4hi")
	if code != 200 {
		t.Fatalf("POST %d", code)
	}
	check("polling POST", h, false, nil, []string{"POST polling sid"})
	code, _, h = e.do("GET", "&transport=polling&sid="+o.SID, "")
	if code != 200 {
		t.Fatalf("GET %d", code)
	}
	check("polling GET", h, false, nil, []string{"GET polling sid"})

	// The upgrade of that session: its 101.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"&transport=websocket&sid="+o.SID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	check("upgrade 101", res.Header, false, nil, []string{"GET websocket sid"})

	// A session opened on WebSocket.
	ws2, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.CloseNow()
	check("websocket handshake 101", res.Header, true, []string{"GET websocket"}, []string{"GET websocket"})
	if _, open := readWS(t, ws2); !strings.HasPrefix(open, "0{") {
		t.Errorf("open packet %q", open)
	}

	// Refused requests get neither hook.
	if code, _, _ := e.do("GET", "&transport=polling&sid=nope", ""); code != 400 {
		t.Fatalf("unknown sid: %d", code)
	}
	if initial, all := hr.take(); len(initial)+len(all) != 0 {
		t.Errorf("hooks called for a refused request: %q %q", initial, all)
	}
}

// TestConnectionError: every refused request is reported to OnConnectionError with the reference server's code,
// message and context, before the refusal is written.
func TestConnectionError(t *testing.T) {
	var mu sync.Mutex
	var got []*ConnectionError
	e := newEnv(t, Config{
		Transports:     []string{TransportPolling, TransportWebSocket},
		AllowedOrigins: []string{"https://good.example"},
		AllowRequest: func(r *http.Request) error {
			if r.URL.Query().Get("deny") != "" {
				return &RequestError{Status: http.StatusForbidden, Code: CodeForbidden, Message: "denied by test"}
			}
			return nil
		},
		OnConnectionError: func(ce *ConnectionError) {
			mu.Lock()
			got = append(got, ce)
			mu.Unlock()
		},
	})
	sid := e.handshake()
	wsSID := ""
	{
		ws := dialWS(t, e, "&transport=websocket")
		_, open := readWS(t, ws)
		var o openData
		_ = json.Unmarshal([]byte(open[1:]), &o)
		wsSID = o.SID
	}
	tests := []struct {
		name    string
		method  string
		query   string // after /engine.io/?
		header  []string
		code    ErrorCode
		context map[string]any
	}{
		{"unknown transport", "GET", "EIO=4&transport=carrier-pigeon", nil, CodeUnknownTransport, map[string]any{"transport": "carrier-pigeon"}},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", nil, CodeUnknownSID, map[string]any{"sid": "nope"}},
		{"bad handshake method", "POST", "EIO=4&transport=polling", nil, CodeBadHandshakeMethod, map[string]any{"method": "POST"}},
		{"bad method", "PUT", "EIO=4&transport=polling&sid=" + sid, nil, CodeBadRequest, map[string]any{"name": "BAD_METHOD", "method": "PUT"}},
		{"transport mismatch", "GET", "EIO=4&transport=polling&sid=" + wsSID, nil, CodeBadRequest,
			map[string]any{"name": "TRANSPORT_MISMATCH", "transport": "polling", "previousTransport": "websocket"}},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", nil, CodeBadRequest, map[string]any{"name": "TRANSPORT_HANDSHAKE_ERROR"}},
		{"forbidden origin", "GET", "EIO=4&transport=polling", []string{"Origin", "https://evil.example"}, CodeForbidden,
			map[string]any{"name": "ORIGIN_NOT_ALLOWED", "origin": "https://evil.example"}},
		{"allowRequest", "GET", "EIO=4&transport=polling&deny=1", nil, CodeForbidden, map[string]any{"message": "engineio: HTTP 403: denied by test"}},
		{"protocol version", "GET", "EIO=3&transport=polling", nil, CodeUnsupportedVersion, map[string]any{"protocol": "3"}},
		{"protocol mismatch", "GET", "EIO=3&transport=polling&sid=" + sid, nil, CodeBadRequest,
			map[string]any{"name": "PROTOCOL_MISMATCH", "protocol": 3, "previousProtocol": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			req, _ := http.NewRequest(tt.method, e.hs.URL+"/engine.io/?"+tt.query, nil)
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			res, err := e.cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode < 400 {
				t.Fatalf("status %d: not refused", res.StatusCode)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("%d reports, want 1", len(got))
			}
			ce := got[0]
			wantMsg := tt.code.String()
			if tt.name == "allowRequest" {
				wantMsg = "denied by test" // the RequestError's own message, as sent in the body
			}
			if ce.Code != tt.code || ce.Message != wantMsg || ce.Request == nil || ce.Request.Method != tt.method {
				t.Errorf("got code %d %q, want %d %q", ce.Code, ce.Message, tt.code, wantMsg)
			}
			for k, v := range tt.context {
				if ce.Context[k] != v {
					t.Errorf("context[%q] = %v, want %v (context %v)", k, ce.Context[k], v, ce.Context)
				}
			}
		})
	}
}
