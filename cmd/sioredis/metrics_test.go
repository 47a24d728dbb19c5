package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// scrape is one GET /metrics, parsed with the Prometheus text parser.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, base string) scrape {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value returns the value of the sample of name whose labels include labels ("k=v" pairs), summed over the
// samples that match; a histogram gives its count. -1 when there is no such metric.
func (s scrape) value(name string, labels ...string) float64 {
	f := s[name]
	if f == nil {
		return -1
	}
	sum := 0.0
next:
	for _, m := range f.GetMetric() {
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// TestServeMetrics scrapes GET /metrics of a running "sioredis serve" while real Socket.IO clients (the Go
// client: one on long-polling, two on WebSocket) connect, join a room, send and leave.
func TestServeMetrics(t *testing.T) {
	base, _ := startServe(t)
	s := scrapeMetrics(t, base)
	if v := s.value("sioredis_engineio_connections"); v != 0 {
		t.Fatalf("connections before any client: %v", v)
	}
	if s["go_goroutines"] == nil || s["sioredis_emitter_batch_size"] == nil {
		t.Errorf("runtime or library metrics missing: %d families", len(s))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var socks []*client.Socket
	for _, tr := range []client.Transport{client.Polling, client.WebSocket, client.WebSocket} {
		c, err := client.Dial(ctx, base+"/", client.Options{Transports: []client.Transport{tr}, NoReconnection: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := client.EmitWithAckAs[map[string]any](ctx, c, "join", "r1"); err != nil {
			t.Fatal(err)
		}
		socks = append(socks, c)
	}
	res, err := client.EmitWithAckAs[map[string]any](ctx, socks[0], "say", map[string]string{"room": "r1", "text": "hi"})
	if err != nil || res["ok"] != true {
		t.Fatalf("say: %v %v", res, err)
	}
	s = scrapeMetrics(t, base)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sioredis_engineio_connections", []string{"transport=polling"}, 1},
		{"sioredis_engineio_connections", []string{"transport=websocket"}, 2},
		{"sioredis_engineio_connections_opened_total", nil, 3},
		{"sioredis_socketio_sockets", nil, 3},
		{"sioredis_socketio_namespaces", nil, 1},
		{"sioredis_socketio_rooms", nil, 1}, // r1; the sockets' own rooms are not counted
		{"sioredis_socketio_packets_received_total", []string{"type=connect"}, 3},
		{"sioredis_socketio_packets_received_total", []string{"type=event"}, 4}, // 3 joins, 1 say
	} {
		if got := s.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Every client got the message and its acknowledgements: at least 3 × (CONNECT, ack of join) + 3 messages
	// + 1 ack of say.
	if got := s.value("sioredis_socketio_packets_sent_total"); got < 10 {
		t.Errorf("packets sent %v, want at least 10", got)
	}
	if in, bytes := s.value("sioredis_engineio_messages_received_total"), s.value("sioredis_engineio_received_bytes_total"); in < 7 || bytes < 7*5 {
		t.Errorf("messages received %v (%v bytes), want at least 7", in, bytes)
	}
	if out := s.value("sioredis_engineio_sent_bytes_total"); out <= 0 {
		t.Errorf("bytes sent %v", out)
	}

	for _, c := range socks {
		_ = c.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s = scrapeMetrics(t, base)
		conns, sockets, rooms := s.value("sioredis_engineio_connections"), s.value("sioredis_socketio_sockets"), s.value("sioredis_socketio_rooms")
		closed := s.value("sioredis_engineio_disconnects_total") == 3 && s.value("sioredis_socketio_disconnects_total") == 3
		if conns == 0 && sockets == 0 && rooms == 0 && closed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the clients closed: %v connections, %v sockets, %v rooms, disconnects: %v engine.io, %v socket.io", conns, sockets, rooms,
				s.value("sioredis_engineio_disconnects_total"), s.value("sioredis_socketio_disconnects_total"))
		}
	}
	if got := s.value("sioredis_engineio_disconnects_total"); got != 3 {
		t.Errorf("disconnects %v, want 3", got)
	}
	if got := s.value("sioredis_socketio_disconnects_total"); got != 3 {
		t.Errorf("socket disconnects %v, want 3: %v", got, s["sioredis_socketio_disconnects_total"])
	}
}

// TestServeMetricsOff: --metrics=false serves no /metrics.
func TestServeMetricsOff(t *testing.T) {
	base, _ := startServing(t, "serve", "--addr", "127.0.0.1:0", "--metrics=false")
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics with --metrics=false: %d", res.StatusCode)
	}
}

// TestChatMetrics scrapes a chat in a Redis cluster: a POSTed message is published by the emitter (one round
// trip), comes back to the chat's own server through its adapter, and leaves the outbox empty with its lag.
func TestChatMetrics(t *testing.T) {
	r := testenv.StartRedis(t)
	base, _ := startServing(t, "chat", "--addr", "127.0.0.1:0", "--db", t.TempDir()+"/c.db", "--redis", r.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, base+"/?room=r1", client.Options{NoReconnection: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan struct{}, 10)
	c.On("message", func(ctx context.Context, s *client.Socket, args client.Args, _ client.AckFunc) { got <- struct{}{} })
	testenv.WaitFor(t, func() bool { return scrapeMetrics(t, base).value("sioredis_socketio_rooms") == 1 })
	before := scrapeMetrics(t, base)
	posted := time.Now()
	res, err := http.PostForm(base+"/api/messages", url.Values{"room": {"r1"}, "author": {"ann"}, "body": {"hi"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d", res.StatusCode)
	}
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("the client got no message")
	}
	window := time.Since(posted) // the lag lies within: saved after the POST began, published before it arrived
	s := scrapeMetrics(t, base)
	// The lag is measured to the millisecond, not from created_at's whole second (a 14 ms delivery was 0.654 s).
	lagSum := func(s scrape) float64 {
		if f := s["sioredis_chat_publish_lag_seconds"]; f != nil && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetHistogram().GetSampleSum()
		}
		return -1
	}
	if lag := lagSum(s) - lagSum(before); lag <= 0 || lag > window.Seconds() {
		t.Errorf("publish lag %.4f s, want within the %.4f s from the POST to the client's receipt", lag, window.Seconds())
	}
	delta := func(name string, labels ...string) float64 {
		return s.value(name, labels...) - before.value(name, labels...)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sioredis_emitter_published_total", []string{"mode=classic"}, 1},
		{"sioredis_emitter_batch_size", nil, 1},
		{"sioredis_adapter_messages_received_total", []string{"format=classic"}, 1},
		{"sioredis_chat_publish_lag_seconds", nil, 1},
		{"sioredis_emitter_publish_errors_total", nil, 0},
	} {
		if d := delta(c.name, c.labels...); d != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, d, c.want)
		}
	}
	if v := s.value("sioredis_chat_outbox_messages"); v != 0 {
		t.Errorf("outbox depth %v after the publish", v)
	}
	if v := delta("sioredis_emitter_published_bytes_total", "mode=classic"); v < float64(len("hi")+len("r1")) {
		t.Errorf("published bytes moved by %v", v)
	}
}
