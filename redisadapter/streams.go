package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/durable"
	"github.com/sioredis/sioredis/internal/randid"
	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/pubsub"
	"github.com/sioredis/sioredis/socketio"
)

// StreamsConfig configures NewStreams. The zero value is valid; each default is the official adapter's, but
// BlockTime's.
type StreamsConfig struct {
	// StreamName is the stream, or the prefix of the streams with StreamCount > 1. Default "socket.io".
	StreamName string
	// StreamCount spreads the namespaces over this many streams, as the adapter 0.3's streamCount does (each
	// namespace to one stream, by the adapter's hash of its name). Default 1.
	StreamCount int
	// ChannelPrefix is the prefix of the pub/sub channels of the messages that are not kept in the stream.
	// Default "socket.io".
	ChannelPrefix string
	// MaxLen trims the stream to about this many entries (XADD MAXLEN ~). Default 10 000.
	MaxLen int64
	// ReadCount is the most entries one XREAD returns. Default 100. After a read whose entries weighed more than
	// MaxEntrySize together, the next read takes one entry, so that one read does not hold many large entries.
	ReadCount int64
	// MaxEntrySize is the largest stream entry this server reads: the bytes of its field names and values
	// together, as Redis holds them (a msgpack body as base64). A larger one, which anyone with write access to
	// Redis can add, is skipped before it is decoded, with an error logged and counted (LossOversized); it is
	// still read once whole, since Redis cannot tell an entry's size without sending it. Default
	// DefaultMaxEntrySize; the official adapter has no limit.
	MaxEntrySize int
	// BlockTime is how long one XREAD waits for entries. Default 1 s (the official adapter's is 5 s); it bounds
	// how long Close waits for a blocked read when the client is not a *redis.Client (whose blocked read Close
	// cuts short).
	BlockTime time.Duration
	// SessionKeyPrefix is the prefix of the keys that keep the sessions of connection state recovery. Default
	// "sio:session:".
	SessionKeyPrefix string
	// Version is the protocol of the streams adapter the cluster runs: StreamsV03 (default) or StreamsV02.
	Version StreamsVersion
	// HeartbeatInterval and HeartbeatTimeout are, with StreamsV02, the adapter's heartbeatInterval (a server
	// that has published nothing for that long sends a heartbeat; default 5 s) and heartbeatTimeout (a server not
	// heard from for that long is no longer counted; default 10 s).
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
	// DurableReplicas, above 0, makes each XADD of this server (broadcasts and cluster commands, and with
	// StreamsV02 every message but the heartbeats, which the next one replaces) wait until that many replicas have
	// the entry: Redis WAIT, on the connection that added it (through the master owning the stream with a
	// ClusterClient), for DurableTimeout at most. Fewer replicas in time is an error wrapping ErrNotDurable,
	// returned by the Send that wrote the entry; the entry is in the stream all the same, and the other servers
	// read it. Replication is asynchronous: without it, an entry acknowledged by a master that dies before its
	// replicas have it is gone after the failover, and nobody is told. Default 0: no waiting, as in the official
	// adapter. Each such write takes the time of a round trip to the replicas more.
	DurableReplicas int
	// DurableTimeout bounds each wait of DurableReplicas. Default 1 s; it must stay below the client's
	// ReadTimeout (3 s by default), which bounds the reply.
	DurableTimeout time.Duration
	// Logger receives the adapter's warnings; default slog.Default().
	Logger *slog.Logger
	// Metrics, if not nil, receives the adapter's observations (messages in and out, Redis errors, losses: see
	// Metrics). Default nil: nothing is observed.
	Metrics Metrics
}

// ErrNotDurable reports an entry written to the stream that fewer replicas than StreamsConfig.DurableReplicas
// acknowledged within DurableTimeout: a failover of the master before they have it would lose it. It is the value
// of emitter.ErrNotDurable too.
var ErrNotDurable = durable.ErrNotDurable

// DefaultMaxEntrySize is StreamsConfig.MaxEntrySize's default: the emitter's default limit on one message's data
// (emitter.DefaultMaxPayload, 8 MiB, base64 counted) and 4 KiB for the entry's other fields (uid, nsp, type).
const DefaultMaxEntrySize = 8<<20 + 4<<10

// StreamsVersion is a protocol of @socket.io/redis-streams-adapter.
type StreamsVersion uint8

// The protocols of the streams adapter.
const (
	// StreamsV03 is 0.3.x: broadcasts and commands in the stream, the other messages and the answers over pub/sub,
	// the server count by PUBSUB NUMSUB. StreamCount, ChannelPrefix apply.
	StreamsV03 StreamsVersion = iota
	// StreamsV02 is 0.2.x: every message in the stream, answers included, and the server count from the
	// heartbeats of the servers (ClusterAdapterWithHeartbeat). One stream; no pub/sub.
	StreamsV02
)

// StreamsAdapter is a socketio.Cluster over Redis Streams, wire-compatible with @socket.io/redis-streams-adapter
// 0.3: broadcasts, socketsJoin, socketsLeave and disconnectSockets are entries of the namespace's stream (XADD …
// MAXLEN ~), read by every server with XREAD; the messages that need no keeping (broadcasts with
// acknowledgements, serverSideEmit, fetchSockets) and the answers go over pub/sub as msgpack, on "P#N#" and the
// requester's "P#N#uid#"; the server count is PUBSUB NUMSUB of "P#N#". Set it as socketio.Config.Cluster.
//
// Unlike pub/sub, the stream keeps what was written: after Redis restarts (with persistence) or the connection
// drops, each server resumes reading at the last entry it saw, so no broadcast the stream still holds is lost.
// What a server can no longer read is reported (an error logged, Losses, Metrics.StreamEntriesLost) rather than
// skipped silently: entries trimmed away (MaxLen) before it read them, a stream removed or replaced (evicted under
// maxmemory, Redis restarted without persistence), a stream that lost its last entries in a failover, and
// entries over MaxEntrySize; after each, it goes on reading what comes next (see StreamLoss). With
// DurableReplicas, its own writes wait for replicas, so that a failover does not lose them.
//
// With socketio.Config.ConnectionStateRecovery, it carries recovery across the cluster as the official adapter
// does: offsets are stream entry ids, sessions are kept in Redis (SET SessionKeyPrefix+pid, PX), so a client
// recovers on any server, Go or Node. Its methods are safe for concurrent use.
type StreamsAdapter struct {
	rdb redis.UniversalClient
	cfg StreamsConfig
	uid string
	log *slog.Logger
	obs observer

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the readers, the subscription's manager and receiver
	subs   *subscriptions

	losses [numLosses]atomic.Uint64

	links linkSet[*streamLink]

	mu      sync.Mutex               // never held during I/O nor while a handler runs
	readers map[string]*streamReader // by stream key
}

// streamLink is one namespace's part of the StreamsAdapter.
type streamLink struct {
	a       *StreamsAdapter
	nsp     string
	h       socketio.ClusterHandler
	key     string // the stream
	public  string // "P#N#"
	private string // "P#N#uid#"
	reader  *streamReader
	gate    handlerGate

	// StreamsV02: the other servers heard from, and when this one last published.
	nodesMu     sync.Mutex
	nodes       map[string]time.Time
	lastPublish time.Time
}

// NewStreams returns the StreamsAdapter of one server on rdb (standalone, Sentinel or Cluster). Nothing is read
// or subscribed until the first namespace opens; the Server closes it.
func NewStreams(rdb redis.UniversalClient, cfg StreamsConfig) *StreamsAdapter {
	if cfg.StreamName == "" {
		cfg.StreamName = "socket.io"
	}
	if cfg.StreamCount <= 0 {
		cfg.StreamCount = 1
	}
	if cfg.ChannelPrefix == "" {
		cfg.ChannelPrefix = "socket.io"
	}
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = 10000
	}
	if cfg.ReadCount <= 0 {
		cfg.ReadCount = 100
	}
	if cfg.MaxEntrySize <= 0 {
		cfg.MaxEntrySize = DefaultMaxEntrySize
	}
	if cfg.BlockTime <= 0 {
		cfg.BlockTime = time.Second
	}
	if cfg.SessionKeyPrefix == "" {
		cfg.SessionKeyPrefix = "sio:session:"
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 5 * time.Second
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = 10 * time.Second
	}
	if cfg.Version == StreamsV02 {
		cfg.StreamCount = 1
	}
	if cfg.DurableTimeout <= 0 {
		cfg.DurableTimeout = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &StreamsAdapter{rdb: rdb, cfg: cfg, uid: randid.New(), log: cfg.Logger, readers: make(map[string]*streamReader)}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.obs = newObserver(cfg.Metrics, FormatStreams)
	a.subs = startSubscriptions(a.ctx, &a.wg, rdb, a.log, a.obs, a.receive)
	if cfg.Version == StreamsV02 {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.heartbeats()
		}()
	}
	return a
}

// UID returns the server id that the adapter writes in its messages.
func (a *StreamsAdapter) UID() string { return a.uid }

// heartbeats runs the heartbeat protocol of StreamsV02 until Close: every second, each namespace that has
// published nothing for HeartbeatInterval sends a HEARTBEAT, and the servers not heard from for HeartbeatTimeout
// are forgotten.
func (a *StreamsAdapter) heartbeats() {
	tick := time.NewTicker(min(time.Second, a.cfg.HeartbeatInterval))
	defer tick.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		for _, l := range a.links.all() {
			l.nodesMu.Lock()
			for uid, seen := range l.nodes {
				if now.Sub(seen) > a.cfg.HeartbeatTimeout {
					delete(l.nodes, uid)
				}
			}
			quiet := now.Sub(l.lastPublish) >= a.cfg.HeartbeatInterval
			l.nodesMu.Unlock()
			if quiet {
				l.heartbeat(a.ctx, protocol.ClusterHeartbeat)
			}
		}
	}
}

// heartbeat publishes a data-less message of type typ (StreamsV02).
func (l *streamLink) heartbeat(ctx context.Context, typ int) {
	if _, err := l.xaddEntry(ctx, typ, nil, false); err != nil && ctx.Err() == nil {
		l.a.log.Warn("redisadapter: heartbeat", "nsp", l.nsp, "err", err)
	}
}

// seen records a message of server uid (StreamsV02).
func (l *streamLink) seen(uid string, typ int) {
	if uid == "" || uid == "emitter" || uid == l.a.uid {
		return
	}
	l.nodesMu.Lock()
	if typ == protocol.ClusterAdapterClose {
		delete(l.nodes, uid)
	} else {
		l.nodes[uid] = time.Now()
	}
	l.nodesMu.Unlock()
}

// Open implements socketio.Cluster.
func (a *StreamsAdapter) Open(nsp string, h socketio.ClusterHandler) socketio.ClusterLink {
	l := &streamLink{
		a:       a,
		nsp:     nsp,
		h:       h,
		key:     protocol.StreamKey(a.cfg.StreamName, nsp, a.cfg.StreamCount),
		public:  protocol.BroadcastChannel(a.cfg.ChannelPrefix, nsp, nil),
		private: protocol.BroadcastChannel(a.cfg.ChannelPrefix, nsp, []string{a.uid}),
		nodes:   make(map[string]time.Time),
	}
	a.links.put(nsp, l)
	a.mu.Lock()
	r := a.readers[l.key]
	if r == nil {
		r = &streamReader{key: l.key, ready: make(chan struct{})}
		a.readers[l.key] = r
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.read(r)
		}()
	}
	l.reader = r
	a.mu.Unlock()
	if a.cfg.Version == StreamsV02 {
		// Announce this server once its reader is placed, so that it reads the other servers' answers.
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			select {
			case <-r.ready:
				l.heartbeat(a.ctx, protocol.ClusterInitialHeartbeat)
			case <-a.ctx.Done():
			}
		}()
		return l
	}
	a.subs.add(nsp, pubsub.Channels(l.public, l.private))
	return l
}

// WaitReady waits until every namespace opened so far reads its stream and Redis has confirmed its pub/sub
// subscriptions, or until ctx ends.
func (a *StreamsAdapter) WaitReady(ctx context.Context) error {
	a.mu.Lock()
	var waits []chan struct{}
	for _, r := range a.readers {
		waits = append(waits, r.ready)
	}
	a.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		case <-a.ctx.Done():
			return ErrClosed
		}
	}
	return a.subs.waitReady(ctx)
}

// Close implements socketio.Cluster: it stops reading and unsubscribes, and waits for the adapter's goroutines.
func (a *StreamsAdapter) Close() error {
	a.cancel()
	a.wg.Wait()
	return nil
}

// receive hands one pub/sub message to its namespace's handler.
func (a *StreamsAdapter) receive(pm pubsub.Message) {
	info := protocol.ParseChannel(a.cfg.ChannelPrefix, pm.Channel)
	l, _ := a.links.get(info.Nsp)
	if l == nil || info.Kind != protocol.ChannelBroadcast || (info.Suffix != "" && info.Suffix != a.uid) {
		return
	}
	payload := []byte(pm.Payload)
	msg, err := protocol.DecodeClusterMessage(payload)
	if err != nil {
		a.log.Warn("redisadapter: ignored a message", "channel", pm.Channel, "err", err)
		return
	}
	if msg.UID == a.uid || (msg.Nsp != "" && msg.Nsp != l.nsp) {
		return
	}
	if m := clusterMessageOf(msg); m != nil {
		a.obs.received()
		l.gate.run(func() { l.h.HandleClusterMessage(m) })
	}
}

// Close implements socketio.ClusterLink.
func (l *streamLink) Close() error {
	if l.a.cfg.Version == StreamsV02 && l.a.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(l.a.ctx, time.Second)
		l.heartbeat(ctx, protocol.ClusterAdapterClose)
		cancel()
	}
	closeLink(&l.gate, &l.a.links, l.a.subs, l.nsp, l)
	return nil
}

// ServerCount implements socketio.ClusterLink: PUBSUB NUMSUB of the namespace's public channel, as the official
// adapter 0.3 counts; with StreamsV02, this server and the others heard from within HeartbeatTimeout.
func (l *streamLink) ServerCount(ctx context.Context) (int, error) {
	if l.a.cfg.Version == StreamsV02 {
		l.nodesMu.Lock()
		defer l.nodesMu.Unlock()
		return 1 + len(l.nodes), nil
	}
	return numSub(ctx, l.a.rdb, l.public)
}

// Send implements socketio.ClusterLink.
func (l *streamLink) Send(ctx context.Context, m *socketio.ClusterMessage) error {
	if m.Type == socketio.ClusterBroadcast && m.RequestID == "" {
		_, err := l.SendBroadcast(ctx, m)
		return err
	}
	uid := l.a.uid
	op := clusterOp(l.nsp, m)
	if l.a.cfg.Version == StreamsV02 {
		return l.sendV02(ctx, m, op)
	}
	enc := protocol.ClusterMsgpack
	var body []byte
	var err error
	channel := l.public
	switch m.Type {
	case socketio.ClusterSocketsJoin, socketio.ClusterSocketsLeave, socketio.ClusterDisconnectSockets:
		_, err = l.xadd(ctx, op)
		return err
	case socketio.ClusterBroadcast:
		body, err = protocol.AppendClusterBroadcastWithAck(nil, enc, uid, m.RequestID, op)
	case socketio.ClusterServerSideEmit:
		if err := siopacket.ValidateServerEvent(m.Event); err != nil {
			return err
		}
		if m.RequestID != "" {
			body, err = protocol.AppendClusterServerSideEmitWithAck(nil, enc, uid, m.RequestID, op)
		} else {
			body, err = protocol.AppendClusterServerSideEmit(nil, enc, uid, op)
		}
	case socketio.ClusterFetchSockets:
		body, err = protocol.AppendClusterFetchSockets(nil, enc, uid, l.nsp, m.RequestID, m.Rooms, m.Except)
	default:
		body, err = clusterResponse(enc, uid, l.nsp, m)
		channel = protocol.BroadcastChannel(l.a.cfg.ChannelPrefix, l.nsp, []string{m.To})
	}
	if err != nil {
		return err
	}
	n, err := publish(ctx, l.a.rdb, channel, body)
	l.a.obs.sent(err)
	if err == nil {
		l.a.obs.published(l.a.log, channel, n)
	}
	return err
}

// sendV02 writes every message to the stream, as the adapter 0.2 does.
func (l *streamLink) sendV02(ctx context.Context, m *socketio.ClusterMessage, op *protocol.Op) error {
	const enc = protocol.ClusterStreamData
	uid := l.a.uid
	var data []byte
	var err error
	typ := 0
	switch m.Type {
	case socketio.ClusterSocketsJoin, socketio.ClusterSocketsLeave, socketio.ClusterDisconnectSockets:
		_, err = l.xadd(ctx, op)
		return err
	case socketio.ClusterServerSideEmit:
		if err := siopacket.ValidateServerEvent(m.Event); err != nil {
			return err
		}
		if m.RequestID == "" {
			_, err = l.xadd(ctx, op)
			return err
		}
		typ = protocol.ClusterServerSideEmit
		data, err = protocol.AppendClusterServerSideEmitWithAck(nil, enc, uid, m.RequestID, op)
	case socketio.ClusterBroadcast: // with a request id
		typ = protocol.ClusterBroadcast
		data, err = protocol.AppendClusterBroadcastWithAck(nil, enc, uid, m.RequestID, op)
	case socketio.ClusterFetchSockets:
		typ = protocol.ClusterFetchSockets
		data, err = protocol.AppendClusterFetchSockets(nil, enc, uid, l.nsp, m.RequestID, m.Rooms, m.Except)
	default:
		typ = map[socketio.ClusterMessageType]int{
			socketio.ClusterFetchSocketsResponse:   protocol.ClusterFetchSocketsResponse,
			socketio.ClusterServerSideEmitResponse: protocol.ClusterServerSideEmitResponse,
			socketio.ClusterBroadcastClientCount:   protocol.ClusterBroadcastClientCount,
			socketio.ClusterBroadcastAck:           protocol.ClusterBroadcastAck,
		}[m.Type]
		data, err = clusterResponse(enc, uid, l.nsp, m)
	}
	if err != nil {
		return err
	}
	_, err = l.xaddEntry(ctx, typ, data, true)
	return err
}

// SendBroadcast implements socketio.ClusterRecovery: the broadcast is an entry of the stream, whose id is its
// offset.
func (l *streamLink) SendBroadcast(ctx context.Context, m *socketio.ClusterMessage) (string, error) {
	return l.xadd(ctx, clusterOp(l.nsp, m))
}

// xadd writes op to the namespace's stream.
func (l *streamLink) xadd(ctx context.Context, op *protocol.Op) (string, error) {
	data, _, err := protocol.AppendStreamData(nil, op)
	if err != nil {
		return "", err
	}
	return l.xaddEntry(ctx, protocol.ClusterType(op), data, true)
}

// xaddEntry writes an entry of type typ whose data is JSON, or msgpack (stored as base64), or absent when nil;
// with durably, it waits for StreamsConfig.DurableReplicas, if any. An entry written without enough replicas
// returns its id and an error wrapping ErrNotDurable (ErrAdapter when WAIT itself failed).
func (l *streamLink) xaddEntry(ctx context.Context, typ int, data []byte, durably bool) (string, error) {
	args := &redis.XAddArgs{Stream: l.key, MaxLen: l.a.cfg.MaxLen, Approx: true,
		Values: protocol.StreamEntry(l.a.uid, l.nsp, typ, protocol.StreamData(data))}
	var id string
	var err, notDurable error
	if n := l.a.cfg.DurableReplicas; durably && n > 0 {
		var master redis.Cmdable
		if master, err = durable.MasterFor(ctx, l.a.rdb, l.key); err == nil {
			var adds []*redis.StringCmd
			adds, _, notDurable = durable.Add(ctx, master, []*redis.XAddArgs{args}, n, l.a.cfg.DurableTimeout)
			id, err = adds[0].Result()
		}
	} else {
		id, err = l.a.rdb.XAdd(ctx, args).Result()
	}
	l.a.obs.sent(err)
	if err != nil {
		return "", fmt.Errorf("%w: XADD %s: %w", ErrAdapter, l.key, err)
	}
	switch {
	case errors.Is(notDurable, ErrNotDurable):
		l.a.obs.notDurable()
		notDurable = fmt.Errorf("redisadapter: XADD %s: entry %s: %w", l.key, id, notDurable)
	case notDurable != nil: // WAIT failed: the entry is in the stream, its replicas unknown
		l.a.obs.failed()
		notDurable = fmt.Errorf("%w: XADD %s: entry %s added, then %w", ErrAdapter, l.key, id, notDurable)
	}
	l.nodesMu.Lock()
	l.lastPublish = time.Now()
	l.nodesMu.Unlock()
	return id, notDurable
}

// The sessions of connection state recovery, as the official adapter keeps them: SET key base64(msgpack({sid, pid,
// rooms, data})) PX maxAge; taken back with GET and DEL.

// PersistSession implements socketio.ClusterRecovery.
func (l *streamLink) PersistSession(ctx context.Context, s socketio.ClusterSession, maxAge time.Duration) error {
	value, err := protocol.AppendStreamSession(protocol.StreamSession{SID: s.SID, PID: s.PID, Rooms: s.Rooms, Data: s.Data})
	if err != nil {
		return err
	}
	key := l.a.cfg.SessionKeyPrefix + s.PID
	if err := l.a.rdb.Set(ctx, key, value, maxAge).Err(); err != nil {
		return fmt.Errorf("%w: SET %s: %w", ErrAdapter, key, err)
	}
	return nil
}

var streamID = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// TakeSession implements socketio.ClusterRecovery.
func (l *streamLink) TakeSession(ctx context.Context, pid, offset string) (socketio.ClusterSession, bool, error) {
	if !streamID.MatchString(offset) {
		return socketio.ClusterSession{}, false, nil
	}
	key := l.a.cfg.SessionKeyPrefix + pid
	var get *redis.StringCmd
	var at *redis.XMessageSliceCmd
	_, err := l.a.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		p.Del(ctx, key)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return socketio.ClusterSession{}, false, fmt.Errorf("%w: GET/DEL %s: %w", ErrAdapter, key, err)
	}
	raw, err := get.Result()
	if errors.Is(err, redis.Nil) {
		return socketio.ClusterSession{}, false, nil
	}
	at = l.a.rdb.XRange(ctx, l.key, offset, offset)
	if entries, err := at.Result(); err != nil {
		return socketio.ClusterSession{}, false, fmt.Errorf("%w: XRANGE: %w", ErrAdapter, err)
	} else if len(entries) == 0 {
		return socketio.ClusterSession{}, false, nil // the offset was trimmed away: nothing to replay from
	}
	ss, err := protocol.DecodeStreamSession(raw)
	if err != nil {
		return socketio.ClusterSession{}, false, fmt.Errorf("redisadapter: session %s: %w", pid, err)
	}
	s := socketio.ClusterSession{PID: pid, SID: ss.SID, Rooms: ss.Rooms, Data: ss.Data}
	return s, true, nil
}

// maxMissedReads bounds the XRANGE calls of one recovery, as the official adapter does (entries added faster than
// they are read would make it loop).
const maxMissedReads = 100

// missedPage is the most entries one XRANGE of MissedSince returns.
const missedPage = 1000

// MissedSince implements socketio.ClusterRecovery: the broadcasts of the namespace in the stream after offset.
func (l *streamLink) MissedSince(ctx context.Context, offset string) ([]*socketio.ClusterMessage, error) {
	var out []*socketio.ClusterMessage
	count := int64(missedPage)
	for range maxMissedReads {
		entries, err := l.a.rdb.XRangeN(ctx, l.key, "("+offset, "+", count).Result()
		if err != nil {
			return out, fmt.Errorf("%w: XRANGE: %w", ErrAdapter, err)
		}
		if len(entries) == 0 {
			break
		}
		size := 0
		for _, e := range entries {
			offset = e.ID
			n := entrySize(e.Values)
			size += n
			if n > l.a.cfg.MaxEntrySize {
				continue // reported by the readers
			}
			msg, err := protocol.DecodeStreamEntry(e.Values)
			if err != nil || msg.Nsp != l.nsp || msg.Type != protocol.ClusterBroadcast {
				// An entry that does not decode was reported by the readers when it was read.
				continue
			}
			if m := clusterMessageOf(msg); m != nil {
				m.Offset = e.ID
				out = append(out, m)
			}
		}
		count = missedPage
		if size > l.a.cfg.MaxEntrySize {
			count = 1 // as the readers do
		}
	}
	return out, nil
}

// CompareOffsets implements socketio.ClusterRecovery.
func (l *streamLink) CompareOffsets(a, b string) int { return compareStreamIDs(a, b) }
