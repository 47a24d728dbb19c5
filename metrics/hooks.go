package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/pubsub"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// engineMetrics implements engineio.Metrics.
type engineMetrics struct {
	conns                              *prometheus.GaugeVec
	opened, closed                     *prometheus.CounterVec
	upgrades, msgsIn, bytesIn, msgsOut prometheus.Counter
	bytesOut, dropped                  prometheus.Counter
}

var _ engineio.Metrics = (*engineMetrics)(nil)

func (e *engineMetrics) ConnOpened(transport string) {
	e.conns.WithLabelValues(transport).Inc()
	e.opened.WithLabelValues(transport).Inc()
}

func (e *engineMetrics) ConnUpgraded(from, to string) {
	e.conns.WithLabelValues(from).Dec()
	e.conns.WithLabelValues(to).Inc()
	e.upgrades.Inc()
}

func (e *engineMetrics) ConnClosed(transport string, reason engineio.CloseReason) {
	e.conns.WithLabelValues(transport).Dec()
	r := "other"
	for _, known := range engineReasons {
		if reason == known {
			r = snake(string(reason))
			break
		}
	}
	e.closed.WithLabelValues(r).Inc()
}

func (e *engineMetrics) MessageReceived(bytes int) {
	e.msgsIn.Inc()
	e.bytesIn.Add(float64(bytes))
}

func (e *engineMetrics) MessagesSent(n, bytes int) {
	e.msgsOut.Add(float64(n))
	e.bytesOut.Add(float64(bytes))
}

func (e *engineMetrics) VolatileDropped(n int) { e.dropped.Add(float64(n)) }

// socketMetrics implements socketio.Metrics.
type socketMetrics struct {
	namespaces, sockets, rooms prometheus.Gauge
	disconnects, packetsIn     *prometheus.CounterVec
	byType                     [len(packetTypes)]prometheus.Counter
	otherType                  prometheus.Counter
	packetsOut, acks           prometheus.Counter
	ackTimeouts                prometheus.Counter
}

var _ socketio.Metrics = (*socketMetrics)(nil)

func (s *socketMetrics) NamespaceCreated() { s.namespaces.Inc() }
func (s *socketMetrics) NamespaceRemoved() { s.namespaces.Dec() }
func (s *socketMetrics) SocketConnected()  { s.sockets.Inc() }

func (s *socketMetrics) SocketDisconnected(reason socketio.DisconnectReason) {
	s.sockets.Dec()
	r := "other"
	for _, known := range socketReasons {
		if reason == known {
			r = snake(string(reason))
			break
		}
	}
	s.disconnects.WithLabelValues(r).Inc()
}

func (s *socketMetrics) RoomCreated() { s.rooms.Inc() }
func (s *socketMetrics) RoomDeleted() { s.rooms.Dec() }

func (s *socketMetrics) PacketReceived(t socketio.PacketType) {
	if int(t) >= 0 && int(t) < len(s.byType) {
		s.byType[t].Inc()
		return
	}
	s.otherType.Inc()
}

func (s *socketMetrics) PacketSent()  { s.packetsOut.Inc() }
func (s *socketMetrics) AckReceived() { s.acks.Inc() }
func (s *socketMetrics) AckTimedOut() { s.ackTimeouts.Inc() }

// adapterMetrics implements redisadapter.Metrics and pubsub.Metrics.
type adapterMetrics struct {
	sent, received, errors, losses, unreceived *prometheus.CounterVec
	notDurable, streamLossVec, streamEntryVec  *prometheus.CounterVec
	streamLosses, streamEntries                [len(streamLosses)]prometheus.Counter
	lost, connectFailed, dropped               prometheus.Counter
	gaps                                       *prometheus.CounterVec
	receivers                                  *prometheus.HistogramVec
}

var (
	_ pubsub.Metrics       = (*adapterMetrics)(nil)
	_ redisadapter.Metrics = (*adapterMetrics)(nil)
)

func (a *adapterMetrics) MessageSent(format string)     { a.sent.WithLabelValues(format).Inc() }
func (a *adapterMetrics) MessageReceived(format string) { a.received.WithLabelValues(format).Inc() }
func (a *adapterMetrics) Receivers(format string, n int) {
	a.receivers.WithLabelValues(format).Observe(float64(n))
	if n == 0 {
		a.unreceived.WithLabelValues(format).Inc()
	}
}
func (a *adapterMetrics) RedisError(format string)    { a.errors.WithLabelValues(format).Inc() }
func (a *adapterMetrics) MessagesLost(format string)  { a.losses.WithLabelValues(format).Inc() }
func (a *adapterMetrics) ConnectionLost()             { a.lost.Inc() }
func (a *adapterMetrics) ConnectFailed()              { a.connectFailed.Inc() }
func (a *adapterMetrics) Gap(reason pubsub.GapReason) { a.gaps.WithLabelValues(reason.String()).Inc() }
func (a *adapterMetrics) Dropped()                    { a.dropped.Inc() }
func (a *adapterMetrics) NotDurable(format string)    { a.notDurable.WithLabelValues(format).Inc() }

func (a *adapterMetrics) StreamEntriesLost(reason redisadapter.StreamLoss, entries int) {
	i := 0 // "other"
	for j, known := range streamLosses {
		if reason == known {
			i = j
			break
		}
	}
	a.streamLosses[i].Inc()
	if entries > 0 {
		a.streamEntries[i].Add(float64(entries))
	}
}

// emitterMetrics implements emitter.Metrics.
type emitterMetrics struct {
	published, bytes, errors, unreceived, notDurable *prometheus.CounterVec
	batch                                            prometheus.Histogram
}

var _ emitter.Metrics = (*emitterMetrics)(nil)

func (e *emitterMetrics) Published(mode emitter.Mode, bytes, receivers int) {
	e.published.WithLabelValues(mode.String()).Inc()
	e.bytes.WithLabelValues(mode.String()).Add(float64(bytes))
	if receivers == 0 {
		e.unreceived.WithLabelValues(mode.String()).Inc()
	}
}

func (e *emitterMetrics) NotDurable(mode emitter.Mode) {
	e.notDurable.WithLabelValues(mode.String()).Inc()
}

func (e *emitterMetrics) PublishFailed(mode emitter.Mode) {
	e.errors.WithLabelValues(mode.String()).Inc()
}
func (e *emitterMetrics) Batch(size int) { e.batch.Observe(float64(size)) }
