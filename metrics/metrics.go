// Package metrics exports what sioredis observes as Prometheus metrics. It is the only package of the module
// that imports github.com/prometheus/client_golang: the observed packages (engineio, socketio, redisadapter,
// emitter, pubsub) only declare small Metrics interfaces, nil by default, which cost one nil check per event when
// unset. New registers the collectors on a prometheus.Registerer; its methods return the implementations to set
// in each package's configuration:
//
//	m, _ := metrics.New(prometheus.DefaultRegisterer)
//	cfg := socketio.Config{Cluster: redisadapter.New(rdb, redisadapter.Config{Metrics: m.Adapter()})}
//	m.Instrument(&cfg) // cfg.Metrics and cfg.Engine.Metrics
//	em, _ := emitter.New(rdb, emitter.WithMetrics(m.Emitter()))
//	http.Handle("/metrics", promhttp.Handler())
//
// Names follow the Prometheus conventions (sioredis_<package>_..., counters ending in _total, sizes in bytes,
// times in seconds), and every label has a small fixed set of values (a transport, a reason, a format, a mode, a
// packet type): never a namespace, room or socket id.
//
// Engine.IO connections (engineio.Metrics):
//
//	sioredis_engineio_connections{transport}            gauge: open connections, polling or websocket
//	sioredis_engineio_connections_opened_total{transport}
//	sioredis_engineio_upgrades_total                     polling → websocket
//	sioredis_engineio_disconnects_total{reason}          transport_close, transport_error, ping_timeout,
//	                                                     forced_close, server_shutting_down, slow_client
//	sioredis_engineio_messages_received_total, sioredis_engineio_received_bytes_total
//	sioredis_engineio_messages_sent_total, sioredis_engineio_sent_bytes_total (payloads queued per client)
//	sioredis_engineio_volatile_dropped_total             volatile messages dropped for a client not ready
//
// Socket.IO (socketio.Metrics):
//
//	sioredis_socketio_namespaces, sioredis_socketio_sockets, sioredis_socketio_rooms   gauges (rooms: sockets'
//	                                                     own rooms excepted)
//	sioredis_socketio_disconnects_total{reason}          the socket's disconnect reason, snake_case
//	                                                     (slow_client: too many pending events)
//	sioredis_socketio_packets_received_total{type}       connect, disconnect, event, ack, connect_error,
//	                                                     binary_event, binary_ack
//	sioredis_socketio_packets_sent_total                 events and acks queued for one client
//	sioredis_socketio_acks_received_total, sioredis_socketio_ack_timeouts_total
//
// Cluster transports (redisadapter.Metrics; format is classic, sharded or streams) and their subscriptions
// (pubsub.Metrics):
//
//	sioredis_adapter_messages_sent_total{format}, sioredis_adapter_messages_received_total{format}
//	sioredis_adapter_redis_errors_total{format}, sioredis_adapter_losses_total{format} (gaps, stream losses)
//	sioredis_adapter_receivers{format}                   histogram: Redis subscribers each PUBLISH/SPUBLISH reached
//	sioredis_adapter_unreceived_total{format}            messages published to no subscriber
//	sioredis_adapter_stream_losses_total{reason}         trimmed, reset, rewound, ahead, oversized (StreamLoss)
//	sioredis_adapter_stream_entries_lost_total{reason}   the entries of those losses, where Redis tells how many
//	sioredis_adapter_not_durable_total{format}           entries fewer replicas acknowledged than DurableReplicas
//	sioredis_pubsub_connections_lost_total, sioredis_pubsub_connect_failures_total
//	sioredis_pubsub_gaps_total{reason}                   reconnect, overflow, moved
//	sioredis_pubsub_dropped_total
//
// Emitter (emitter.Metrics; mode is classic, sharded, streams or legacy):
//
//	sioredis_emitter_published_total{mode}, sioredis_emitter_published_bytes_total{mode}
//	sioredis_emitter_publish_errors_total{mode}
//	sioredis_emitter_unreceived_total{mode}              publishes that reached no Redis subscriber (PUBLISH answered 0)
//	sioredis_emitter_not_durable_total{mode}             entries fewer replicas acknowledged than WithDurability asks
//	sioredis_emitter_batch_size                          histogram: commands per round trip to Redis
//
// An outbox (the chat application's, or any other publishing saved messages):
//
//	sioredis_chat_outbox_messages                        gauge: messages saved, not yet published (SetOutboxDepth)
//	sioredis_chat_publishes_held_total                   messages held until the servers were back (PublishHeld)
//	sioredis_chat_publishes_short_total, sioredis_chat_servers_missed_total
//	                                                     messages that reached fewer servers than the cluster had,
//	                                                     and the servers they missed (PublishShort)
//	sioredis_chat_publish_lag_seconds                    histogram: from saved to published (ObservePublishLag;
//	                                                     buckets from 5 ms to 30 min)
package metrics

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/pubsub"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// Metrics holds the collectors of one process, registered by New. Safe for concurrent use; its hooks may be
// shared by several servers, adapters and emitters, whose observations then add up.
type Metrics struct {
	engine  engineMetrics
	socket  socketMetrics
	adapter adapterMetrics
	emit    emitterMetrics

	outboxDepth atomic.Pointer[func() float64]
	publishLag  prometheus.Histogram
	held        prometheus.Counter
	short       prometheus.Counter
	missing     prometheus.Counter
}

// New creates the collectors and registers them on reg; it fails if reg already has collectors of these names
// (call it once per registry).
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{}
	var cs []prometheus.Collector
	add := func(c prometheus.Collector) { cs = append(cs, c) }

	e := &m.engine
	e.conns = prometheus.NewGaugeVec(gaugeOpts("engineio", "connections", "Open Engine.IO connections, by current transport."), []string{"transport"})
	e.opened = prometheus.NewCounterVec(counterOpts("engineio", "connections_opened_total", "Engine.IO connections opened (handshakes), by first transport."), []string{"transport"})
	e.upgrades = prometheus.NewCounter(counterOpts("engineio", "upgrades_total", "Connections upgraded from long-polling to WebSocket."))
	e.closed = prometheus.NewCounterVec(counterOpts("engineio", "disconnects_total", "Engine.IO connections closed, by reason (slow_client: its outgoing queue was full)."), []string{"reason"})
	e.msgsIn = prometheus.NewCounter(counterOpts("engineio", "messages_received_total", "Engine.IO messages received from clients."))
	e.bytesIn = prometheus.NewCounter(counterOpts("engineio", "received_bytes_total", "Payload bytes of the Engine.IO messages received."))
	e.msgsOut = prometheus.NewCounter(counterOpts("engineio", "messages_sent_total", "Engine.IO messages queued for clients, one per client."))
	e.bytesOut = prometheus.NewCounter(counterOpts("engineio", "sent_bytes_total", "Payload bytes of the Engine.IO messages queued for clients."))
	e.dropped = prometheus.NewCounter(counterOpts("engineio", "volatile_dropped_total", "Volatile messages dropped for clients not ready to receive them."))
	for _, t := range []string{engineio.TransportPolling, engineio.TransportWebSocket} {
		e.conns.WithLabelValues(t)
		e.opened.WithLabelValues(t)
	}
	for _, r := range engineReasons {
		e.closed.WithLabelValues(snake(string(r)))
	}
	e.closed.WithLabelValues("other")
	add(e.conns)
	add(e.opened)
	add(e.upgrades)
	add(e.closed)
	add(e.msgsIn)
	add(e.bytesIn)
	add(e.msgsOut)
	add(e.bytesOut)
	add(e.dropped)

	s := &m.socket
	s.namespaces = prometheus.NewGauge(gaugeOpts("socketio", "namespaces", "Socket.IO namespaces, dynamic ones included."))
	s.sockets = prometheus.NewGauge(gaugeOpts("socketio", "sockets", "Connected Socket.IO sockets, over every namespace."))
	s.rooms = prometheus.NewGauge(gaugeOpts("socketio", "rooms", "Rooms with at least one local socket, over every namespace, the sockets' own rooms excepted."))
	s.disconnects = prometheus.NewCounterVec(counterOpts("socketio", "disconnects_total", "Sockets disconnected, by reason."), []string{"reason"})
	s.packetsIn = prometheus.NewCounterVec(counterOpts("socketio", "packets_received_total", "Socket.IO packets received from clients, by type."), []string{"type"})
	s.packetsOut = prometheus.NewCounter(counterOpts("socketio", "packets_sent_total", "Socket.IO events and acknowledgements queued for clients, one per client."))
	s.acks = prometheus.NewCounter(counterOpts("socketio", "acks_received_total", "Acknowledgements received from clients for events sent with one."))
	s.ackTimeouts = prometheus.NewCounter(counterOpts("socketio", "ack_timeouts_total", "EmitWithAck calls whose context ended before every acknowledgement came."))
	for i, name := range packetTypes {
		s.byType[i] = s.packetsIn.WithLabelValues(name)
	}
	s.otherType = s.packetsIn.WithLabelValues("other")
	for _, r := range socketReasons {
		s.disconnects.WithLabelValues(snake(string(r)))
	}
	s.disconnects.WithLabelValues("other")
	add(s.namespaces)
	add(s.sockets)
	add(s.rooms)
	add(s.disconnects)
	add(s.packetsIn)
	add(s.packetsOut)
	add(s.acks)
	add(s.ackTimeouts)

	a := &m.adapter
	formats := []string{redisadapter.FormatClassic, redisadapter.FormatSharded, redisadapter.FormatStreams}
	a.sent = prometheus.NewCounterVec(counterOpts("adapter", "messages_sent_total", "Messages the cluster transport wrote to Redis, by format."), []string{"format"})
	a.received = prometheus.NewCounterVec(counterOpts("adapter", "messages_received_total", "Messages from other servers handed to a namespace, by format."), []string{"format"})
	a.errors = prometheus.NewCounterVec(counterOpts("adapter", "redis_errors_total", "Redis commands of the cluster transport that failed, by format."), []string{"format"})
	a.losses = prometheus.NewCounterVec(counterOpts("adapter", "losses_total", "Times messages may have been lost for this server (pub/sub gaps, stream entries trimmed unread), by format."), []string{"format"})
	a.unreceived = prometheus.NewCounterVec(counterOpts("adapter", "unreceived_total", "Messages the cluster transport published that no Redis subscriber received (PUBLISH or SPUBLISH answered 0), by format."), []string{"format"})
	a.receivers = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "sioredis", Subsystem: "adapter", Name: "receivers",
		Help:    "Redis subscribers each message the cluster transport published reached (this server's own subscription included), by format.",
		Buckets: []float64{0, 1, 2, 3, 4, 6, 8, 12, 16, 32}}, []string{"format"})
	a.notDurable = prometheus.NewCounterVec(counterOpts("adapter", "not_durable_total", "Stream entries of the cluster transport that fewer replicas acknowledged than its durability asks, by format."), []string{"format"})
	for _, f := range formats {
		a.unreceived.WithLabelValues(f)
		a.receivers.WithLabelValues(f)
		a.sent.WithLabelValues(f)
		a.received.WithLabelValues(f)
		a.errors.WithLabelValues(f)
		a.losses.WithLabelValues(f)
		a.notDurable.WithLabelValues(f)
	}
	a.streamLossVec = prometheus.NewCounterVec(counterOpts("adapter", "stream_losses_total", "Losses of stream entries the streams transport found, by reason (trimmed, reset, rewound, ahead, oversized)."), []string{"reason"})
	a.streamEntryVec = prometheus.NewCounterVec(counterOpts("adapter", "stream_entries_lost_total", "Stream entries the streams transport counted lost, by reason (a reset's are not countable)."), []string{"reason"})
	for i, r := range streamLosses {
		name := "other"
		if i > 0 {
			name = r.String()
		}
		a.streamLosses[i] = a.streamLossVec.WithLabelValues(name)
		a.streamEntries[i] = a.streamEntryVec.WithLabelValues(name)
	}
	a.lost = prometheus.NewCounter(counterOpts("pubsub", "connections_lost_total", "Subscribed Redis connections that failed."))
	a.connectFailed = prometheus.NewCounter(counterOpts("pubsub", "connect_failures_total", "Failed attempts to connect and subscribe again."))
	a.gaps = prometheus.NewCounterVec(counterOpts("pubsub", "gaps_total", "Gaps reported to subscribers, by reason."), []string{"reason"})
	a.dropped = prometheus.NewCounter(counterOpts("pubsub", "dropped_total", "Messages dropped by a full subscription buffer (OverflowDrop)."))
	for _, r := range []pubsub.GapReason{pubsub.GapReconnect, pubsub.GapOverflow, pubsub.GapMoved} {
		a.gaps.WithLabelValues(r.String())
	}
	add(a.sent)
	add(a.unreceived)
	add(a.receivers)
	add(a.received)
	add(a.errors)
	add(a.losses)
	add(a.notDurable)
	add(a.streamLossVec)
	add(a.streamEntryVec)
	add(a.lost)
	add(a.connectFailed)
	add(a.gaps)
	add(a.dropped)

	em := &m.emit
	em.published = prometheus.NewCounterVec(counterOpts("emitter", "published_total", "Messages the emitter wrote to Redis, by mode."), []string{"mode"})
	em.bytes = prometheus.NewCounterVec(counterOpts("emitter", "published_bytes_total", "Bytes of the messages the emitter wrote to Redis, by mode."), []string{"mode"})
	em.errors = prometheus.NewCounterVec(counterOpts("emitter", "publish_errors_total", "Emitter publishes that Redis refused or that did not reach it, by mode."), []string{"mode"})
	em.unreceived = prometheus.NewCounterVec(counterOpts("emitter", "unreceived_total", "Emitter publishes that reached no Redis subscriber (PUBLISH or SPUBLISH answered 0), by mode."), []string{"mode"})
	em.notDurable = prometheus.NewCounterVec(counterOpts("emitter", "not_durable_total", "Stream entries that fewer replicas acknowledged than the emitter's durability asks, by mode."), []string{"mode"})
	em.batch = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "sioredis", Subsystem: "emitter", Name: "batch_size",
		Help: "Commands carried by one round trip of the emitter to Redis (automatic pipelining).", Buckets: prometheus.ExponentialBuckets(1, 2, 10)})
	for _, md := range []emitter.Mode{emitter.Classic, emitter.Sharded, emitter.Streams, emitter.Legacy} {
		em.published.WithLabelValues(md.String())
		em.bytes.WithLabelValues(md.String())
		em.errors.WithLabelValues(md.String())
		em.unreceived.WithLabelValues(md.String())
		em.notDurable.WithLabelValues(md.String())
	}
	add(em.published)
	add(em.bytes)
	add(em.errors)
	add(em.unreceived)
	add(em.notDurable)
	add(em.batch)

	add(prometheus.NewGaugeFunc(gaugeOpts("chat", "outbox_messages", "Messages saved and not yet published (the outbox's depth)."), func() float64 {
		if fn := m.outboxDepth.Load(); fn != nil {
			return (*fn)()
		}
		return 0
	}))
	m.publishLag = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "sioredis", Subsystem: "chat", Name: "publish_lag_seconds",
		Help:    "Time from a message saved to its publication (the chat measures it to the millisecond for the messages the publishing instance saved, to the second for the others).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300, 1800}})
	add(m.publishLag)
	m.held = prometheus.NewCounter(counterOpts("chat", "publishes_held_total", "Messages held because they reached fewer servers than the cluster had during a Redis incident, then published again (PublishHeld)."))
	m.short = prometheus.NewCounter(counterOpts("chat", "publishes_short_total", "Messages that reached fewer servers than the cluster had and were not published again to all of them (PublishShort)."))
	m.missing = prometheus.NewCounter(counterOpts("chat", "servers_missed_total", "Servers a short publish missed, summed: each is a server whose clients missed a message (PublishShort)."))
	add(m.held)
	add(m.short)
	add(m.missing)

	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func counterOpts(subsystem, name, help string) prometheus.CounterOpts {
	return prometheus.CounterOpts{Namespace: "sioredis", Subsystem: subsystem, Name: name, Help: help}
}

func gaugeOpts(subsystem, name, help string) prometheus.GaugeOpts {
	return prometheus.GaugeOpts{Namespace: "sioredis", Subsystem: subsystem, Name: name, Help: help}
}

// snake turns a reason such as "ping timeout" into a label value, "ping_timeout".
func snake(s string) string { return strings.ReplaceAll(s, " ", "_") }

// EngineIO returns the hooks to set as engineio.Config.Metrics.
func (m *Metrics) EngineIO() engineio.Metrics { return &m.engine }

// SocketIO returns the hooks to set as socketio.Config.Metrics.
func (m *Metrics) SocketIO() socketio.Metrics { return &m.socket }

// Instrument sets cfg.Metrics and cfg.Engine.Metrics.
func (m *Metrics) Instrument(cfg *socketio.Config) {
	cfg.Metrics = m.SocketIO()
	cfg.Engine.Metrics = m.EngineIO()
}

// Adapter returns the hooks to set as the Metrics of redisadapter.Config, ShardedConfig or StreamsConfig; they
// implement pubsub.Metrics too, so the adapter's subscriptions report to them.
func (m *Metrics) Adapter() redisadapter.Metrics { return &m.adapter }

// PubSub returns the hooks to give pubsub.Subscribe with pubsub.WithMetrics.
func (m *Metrics) PubSub() pubsub.Metrics { return &m.adapter }

// Emitter returns the hooks to give emitter.New with emitter.WithMetrics.
func (m *Metrics) Emitter() emitter.Metrics { return &m.emit }

// SetOutboxDepth sets the function that sioredis_chat_outbox_messages calls at each scrape (it should return
// quickly: a count of the messages not yet published); nil removes it (the gauge is then 0).
func (m *Metrics) SetOutboxDepth(fn func() float64) {
	if fn == nil {
		m.outboxDepth.Store(nil)
		return
	}
	m.outboxDepth.Store(&fn)
}

// PublishHeld counts a message held because it reached fewer servers than the cluster had, until they were back.
func (m *Metrics) PublishHeld() { m.held.Inc() }

// PublishShort counts a message that reached missing fewer servers than the cluster had and was not published
// again to them: their clients missed it.
func (m *Metrics) PublishShort(missing int) {
	m.short.Inc()
	m.missing.Add(float64(missing))
}

// ObservePublishLag records the time one message spent between saved and published.
func (m *Metrics) ObservePublishLag(d time.Duration) { m.publishLag.Observe(d.Seconds()) }

var engineReasons = []engineio.CloseReason{engineio.ReasonTransportClose, engineio.ReasonTransportError, engineio.ReasonPingTimeout,
	engineio.ReasonForcedClose, engineio.ReasonServerShutdown, engineio.ReasonSlowClient}

var socketReasons = []socketio.DisconnectReason{socketio.ReasonServerNamespaceDisconnect, socketio.ReasonClientNamespaceDisconnect,
	socketio.ReasonServerShuttingDown, socketio.ReasonPingTimeout, socketio.ReasonTransportClose, socketio.ReasonTransportError,
	socketio.ReasonParseError, socketio.ReasonForcedClose, socketio.ReasonForcedServerClose, socketio.ReasonSlowClient}

// streamLosses are the label values of redisadapter.StreamLoss; index 0 stands for any other ("other").
var streamLosses = [...]redisadapter.StreamLoss{0, redisadapter.LossTrimmed, redisadapter.LossReset, redisadapter.LossRewound,
	redisadapter.LossAhead, redisadapter.LossOversized}

// packetTypes are the label values of the Socket.IO packet types, indexed by type.
var packetTypes = [...]string{"connect", "disconnect", "event", "ack", "connect_error", "binary_event", "binary_ack"}
