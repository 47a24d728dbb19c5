package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// TestBoundedLabels: reasons and packet types outside the known sets are counted as "other", so no caller can
// grow a label's values.
func TestBoundedLabels(t *testing.T) {
	m, err := New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	e, s := m.EngineIO(), m.SocketIO()
	e.ConnOpened(engineio.TransportPolling)
	e.ConnClosed(engineio.TransportPolling, "made up")
	e.ConnOpened(engineio.TransportWebSocket)
	e.ConnClosed(engineio.TransportWebSocket, engineio.ReasonSlowClient)
	s.SocketConnected()
	s.SocketDisconnected("made up")
	s.PacketReceived(socketio.PacketType(42))
	s.PacketReceived(socketio.PacketEvent)
	a := m.Adapter()
	a.StreamEntriesLost(redisadapter.StreamLoss(200), 3)
	a.StreamEntriesLost(redisadapter.LossTrimmed, 5)
	a.StreamEntriesLost(redisadapter.LossReset, 0)
	for _, c := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.engine.closed.WithLabelValues("other"), 1},
		{m.engine.closed.WithLabelValues("slow_client"), 1},
		{m.socket.disconnects.WithLabelValues("other"), 1},
		{m.socket.packetsIn.WithLabelValues("other"), 1},
		{m.socket.packetsIn.WithLabelValues("event"), 1},
		{m.engine.conns.WithLabelValues("polling"), 0},
		{m.adapter.streamLosses[0], 1},
		{m.adapter.streamEntries[0], 3},
		{m.adapter.streamLosses[1], 1},
		{m.adapter.streamEntries[1], 5},
		{m.adapter.streamLosses[2], 1},
		{m.adapter.streamEntries[2], 0},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%v = %v, want %v", c.c, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.engine.closed); n != len(engineReasons)+1 {
		t.Errorf("%d reasons, want %d", n, len(engineReasons)+1)
	}
	if n := testutil.CollectAndCount(m.adapter.streamLossVec); n != len(streamLosses) {
		t.Errorf("%d stream loss reasons, want %d", n, len(streamLosses))
	}
	if _, err := New(prometheus.NewRegistry()); err != nil {
		t.Errorf("a second registry: %v", err)
	}
}
