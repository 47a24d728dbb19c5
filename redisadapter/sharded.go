package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/pubsub"
	"github.com/sioredis/sioredis/socketio"
)

// SubscriptionMode is the subscriptionMode option of the official sharded adapter: which channels a server
// subscribes to, and so which channel a single-room broadcast is published on. Every server of a cluster must use
// the same mode.
type SubscriptionMode string

// The subscription modes.
const (
	// ModeDynamic (the default, as in Node) subscribes to the channel of each public room ("P#N#R#"), a room
	// that is not a socket id, while this server has a socket in it.
	ModeDynamic SubscriptionMode = "dynamic"
	// ModeStatic subscribes to the namespace's channel and this server's response channel only.
	ModeStatic SubscriptionMode = "static"
	// ModeDynamicPrivate subscribes to the channel of every room, socket ids included (adapter 8.3).
	ModeDynamicPrivate SubscriptionMode = "dynamic-private"
)

// ShardedConfig configures a ShardedAdapter. The zero value is valid.
type ShardedConfig struct {
	// Prefix is the channel prefix, the official adapter's "channelPrefix" option. Default "socket.io".
	Prefix string
	// SubscriptionMode is the official adapter's "subscriptionMode" option; default ModeDynamic.
	SubscriptionMode SubscriptionMode
	// Logger receives the adapter's warnings; default slog.Default().
	Logger *slog.Logger
	// Metrics, if not nil, receives the adapter's observations (messages in and out, Redis errors, losses: see
	// Metrics). Default nil: nothing is observed.
	Metrics Metrics
}

// ShardedAdapter is a socketio.Cluster over Redis sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis ≥ 7) that speaks the
// format of createShardedAdapter of @socket.io/redis-adapter 8.3: the ClusterAdapter messages of socket.io-adapter
// on the namespace's channel "P#N#", the answers on the requester's channel "P#N#uid#", and in the dynamic modes a
// channel per room. It works over a standalone Redis and over a Redis Cluster, where the channels spread over the
// masters by slot; set it as socketio.Config.Cluster (one per Server). Its methods are safe for concurrent use.
//
// All its subscriptions share one connection per Redis master that owns some of its channels (one in all on a
// standalone Redis), whatever the number of namespaces and rooms: see package pubsub, which also makes them follow
// a slot that moves to another master. The server count is PUBSUB SHARDNUMSUB of "P#N#", summed over the masters,
// as Node servers count. As for the classic format, what is published while a server is not subscribed is lost for
// it; Reconnected reports each loss.
type ShardedAdapter struct {
	rdb  redis.UniversalClient
	cfg  ShardedConfig
	mode protocol.ShardedMode
	uid  string
	log  *slog.Logger
	obs  observer

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the subscription manager and the receiver
	kick   chan struct{}

	// mu guards the fields below; it is never held during I/O nor while a handler runs.
	mu          sync.Mutex
	links       map[string]*shardLink // by namespace
	routes      map[string]*shardLink // subscribed (or being subscribed) channel -> its link
	sub         *pubsub.Subscription
	wantGen     uint64 // incremented at each change of the wanted channels
	doneGen     uint64 // the wantGen the subscription last matched
	reconnected chan struct{}
}

// shardLink is one namespace's part of a ShardedAdapter.
type shardLink struct {
	a    *ShardedAdapter
	nsp  string
	h    socketio.ClusterHandler
	main string // "P#N#"
	mine string // "P#N#uid#"

	rooms    map[string]struct{} // guarded by a.mu: the rooms whose channel is wanted (dynamic modes)
	ready    chan struct{}       // closed once main and mine are subscribed
	isReady  bool                // guarded by a.mu
	closed   bool                // guarded by a.mu
	handling sync.Mutex          // held while the handler runs: Close waits for it
}

// NewSharded returns the sharded transport of one server on rdb (a standalone Redis ≥ 7 or a Redis Cluster
// client). Nothing is subscribed until the first namespace opens; the Server closes it.
func NewSharded(rdb redis.UniversalClient, cfg ShardedConfig) *ShardedAdapter {
	if cfg.Prefix == "" {
		cfg.Prefix = protocol.DefaultPrefix
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	mode := protocol.ShardedDynamic
	switch cfg.SubscriptionMode {
	case ModeStatic:
		mode = protocol.ShardedStatic
	case ModeDynamicPrivate:
		mode = protocol.ShardedDynamicPrivate
	default:
		cfg.SubscriptionMode = ModeDynamic
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	a := &ShardedAdapter{rdb: rdb, cfg: cfg, mode: mode, uid: hex.EncodeToString(b[:]), log: cfg.Logger, obs: newObserver(cfg.Metrics, FormatSharded),
		kick: make(chan struct{}, 1), links: make(map[string]*shardLink), routes: make(map[string]*shardLink),
		reconnected: make(chan struct{})}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.wg.Add(1)
	go a.manage()
	return a
}

// UID returns the server id that the adapter writes in its messages and names its response channels with (16
// hexadecimal characters, as the official adapter's).
func (a *ShardedAdapter) UID() string { return a.uid }

// Open implements socketio.Cluster. The link implements socketio.RoomObserver.
func (a *ShardedAdapter) Open(nsp string, h socketio.ClusterHandler) socketio.ClusterLink {
	main := protocol.ShardedChannel(a.cfg.Prefix, nsp)
	l := &shardLink{a: a, nsp: nsp, h: h, main: main, mine: protocol.BroadcastChannel(a.cfg.Prefix, nsp, []string{a.uid}), rooms: make(map[string]struct{}),
		ready: make(chan struct{})}
	a.mu.Lock()
	if old := a.links[nsp]; old != nil && !old.closed {
		a.mu.Unlock()
		panic("redisadapter: namespace " + nsp + " opened twice")
	}
	a.links[nsp] = l
	a.wantGen++
	a.mu.Unlock()
	a.wake()
	return l
}

func (a *ShardedAdapter) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// WaitReady waits until Redis has confirmed every subscription wanted when it is called (the namespaces opened so
// far and, in the dynamic modes, the channels of their rooms), or until ctx ends.
func (a *ShardedAdapter) WaitReady(ctx context.Context) error {
	a.mu.Lock()
	gen := a.wantGen
	a.mu.Unlock()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		a.mu.Lock()
		done := a.doneGen >= gen
		a.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-a.ctx.Done():
			return ErrClosed
		}
	}
}

// Reconnected returns a channel closed at the next resubscription after a loss (a lost connection, or a slot
// that moved to another master), when a gap is logged.
func (a *ShardedAdapter) Reconnected() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reconnected
}

// Connections returns the number of Redis connections the adapter's subscriptions hold (one per master that owns
// some of its channels), 0 before the first namespace is subscribed.
func (a *ShardedAdapter) Connections() int {
	a.mu.Lock()
	sub := a.sub
	a.mu.Unlock()
	if sub == nil {
		return 0
	}
	return sub.Connections()
}

// Close implements socketio.Cluster: it unsubscribes and waits for the adapter's goroutines.
func (a *ShardedAdapter) Close() error {
	a.cancel()
	a.wg.Wait()
	return nil
}

// looksLikeASocketID is the official adapter's test, on the length in UTF-16 code units.
func looksLikeASocketID(room string) bool { return len(utf16.Encode([]rune(room))) == 20 }

// RoomCreated implements socketio.RoomObserver: in the dynamic modes, the room's channel is subscribed (in the
// background). In ModeDynamic, a room that looks like a socket id (20 characters) is taken for one and left out:
// the Node server asks whether the room is one of its socket ids, which a transport does not know, and the
// publishers of adapter 8.3 never use the channel of such a room in that mode.
func (l *shardLink) RoomCreated(room string) {
	if !l.wantsRoom(room) {
		return
	}
	l.a.mu.Lock()
	if !l.closed {
		l.rooms[room] = struct{}{}
		l.a.wantGen++
	}
	l.a.mu.Unlock()
	l.a.wake()
}

// RoomDeleted implements socketio.RoomObserver: the room's channel is unsubscribed (in the background).
func (l *shardLink) RoomDeleted(room string) {
	if !l.wantsRoom(room) {
		return
	}
	l.a.mu.Lock()
	if _, ok := l.rooms[room]; ok {
		delete(l.rooms, room)
		l.a.wantGen++
	}
	l.a.mu.Unlock()
	l.a.wake()
}

func (l *shardLink) wantsRoom(room string) bool {
	switch l.a.mode {
	case protocol.ShardedDynamicPrivate:
		return true
	case protocol.ShardedDynamic:
		return !looksLikeASocketID(room)
	}
	return false
}

// manage keeps the subscription in line with the wanted channels, until Close.
func (a *ShardedAdapter) manage() {
	defer a.wg.Done()
	subscribed := make(map[string]bool)
	defer func() {
		a.mu.Lock()
		sub := a.sub
		a.mu.Unlock()
		if sub != nil {
			_ = sub.Close()
		}
	}()
	for delay := 100 * time.Millisecond; ; {
		select {
		case <-a.ctx.Done():
			return
		case <-a.kick:
		}
		for a.sync(subscribed) != nil {
			select {
			case <-a.ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, 5*time.Second)
		}
		delay = 100 * time.Millisecond
	}
}

// sync subscribes the wanted channels not subscribed yet and unsubscribes those no longer wanted; subscribed
// belongs to the manager.
func (a *ShardedAdapter) sync(subscribed map[string]bool) error {
	a.mu.Lock()
	gen := a.wantGen
	want := make(map[string]*shardLink)
	for nsp, l := range a.links {
		if l.closed {
			delete(a.links, nsp)
			continue
		}
		want[l.main], want[l.mine] = l, l
		for r := range l.rooms {
			want[l.main+r+"#"] = l
		}
	}
	a.routes = want
	sub := a.sub
	a.mu.Unlock()
	var add, remove []string
	for ch := range want {
		if !subscribed[ch] {
			add = append(add, ch)
		}
	}
	for ch := range subscribed {
		if want[ch] == nil {
			remove = append(remove, ch)
		}
	}
	if len(remove) > 0 {
		if err := sub.Remove(a.ctx, pubsub.ShardedChannels(remove...)); err != nil && !errors.Is(err, pubsub.ErrStopped) {
			a.log.Warn("redisadapter: unsubscribing", "err", err)
		}
		for _, ch := range remove {
			delete(subscribed, ch)
		}
	}
	if len(add) > 0 {
		if sub == nil {
			// The self-check matters off a Cluster (a Sentinel-backed client): a planned failover leaves the
			// connection on the demoted master. On a Cluster, pubsub does not check the nodes' connections.
			s, err := pubsub.Subscribe(a.ctx, a.rdb, append([]pubsub.Option{pubsub.ShardedChannels(add...), pubsub.WithLogger(a.log),
				pubsub.WithSelfCheck(subscriptionSelfCheck)}, a.obs.pubsubOptions()...)...)
			if err != nil {
				if a.ctx.Err() == nil {
					a.log.Warn("redisadapter: subscribing", "err", err)
				}
				return err
			}
			a.mu.Lock()
			a.sub = s
			a.mu.Unlock()
			a.wg.Add(1)
			go a.receive(s)
		} else if err := sub.Add(a.ctx, pubsub.ShardedChannels(add...)); err != nil {
			if a.ctx.Err() == nil {
				a.log.Warn("redisadapter: subscribing", "err", err)
			}
			return err
		}
		for _, ch := range add {
			subscribed[ch] = true
		}
	}
	a.mu.Lock()
	for _, l := range a.links {
		if !l.closed && !l.isReady && subscribed[l.main] && subscribed[l.mine] {
			l.isReady = true
			close(l.ready)
		}
	}
	a.doneGen = max(a.doneGen, gen)
	again := a.wantGen != gen
	a.mu.Unlock()
	if again {
		a.wake()
	}
	return nil
}

// receive hands what arrives to the links' handlers, in order, until the subscription stops.
func (a *ShardedAdapter) receive(sub *pubsub.Subscription) {
	defer a.wg.Done()
	for m := range sub.C() {
		if m.Kind == pubsub.KindGap {
			a.log.Warn("redisadapter: messages may have been lost", "reason", m.Gap.Reason.String(),
				"down_for", m.Gap.Duration, "channels", len(m.Gap.ShardedChannels), "err", m.Gap.Err)
			a.obs.lost()
			a.mu.Lock()
			close(a.reconnected)
			a.reconnected = make(chan struct{})
			a.mu.Unlock()
			continue
		}
		a.mu.Lock()
		l := a.routes[m.Channel]
		if l != nil && l.closed {
			l = nil
		}
		a.mu.Unlock()
		if l == nil {
			continue // a channel being unsubscribed
		}
		msg, err := l.decode([]byte(m.Payload))
		if err != nil {
			a.log.Warn("redisadapter: ignored a message", "channel", m.Channel, "err", err)
			continue
		}
		if msg != nil {
			a.obs.received()
			l.handle(msg)
		}
	}
}

// handle runs the handler, unless the link is closed.
func (l *shardLink) handle(m *socketio.ClusterMessage) {
	l.handling.Lock()
	defer l.handling.Unlock()
	l.a.mu.Lock()
	closed := l.closed
	l.a.mu.Unlock()
	if !closed {
		l.h.HandleClusterMessage(m)
	}
}

// Close implements socketio.ClusterLink.
func (l *shardLink) Close() error {
	l.a.mu.Lock()
	l.closed = true
	l.a.wantGen++
	l.a.mu.Unlock()
	l.handling.Lock() // a handler running returns first
	l.handling.Unlock()
	l.a.wake()
	return nil
}

// ServerCount implements socketio.ClusterLink: the subscribers of "P#N#" (PUBSUB SHARDNUMSUB), summed over the
// masters of a Redis Cluster, as the official adapter counts them.
func (l *shardLink) ServerCount(ctx context.Context) (int, error) {
	if cc, ok := l.a.rdb.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		total := 0
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			res, err := c.PubSubShardNumSub(ctx, l.main).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			total += int(res[l.main])
			mu.Unlock()
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("%w: PUBSUB SHARDNUMSUB: %w", ErrAdapter, err)
		}
		return total, nil
	}
	res, err := l.a.rdb.PubSubShardNumSub(ctx, l.main).Result()
	if err != nil {
		return 0, fmt.Errorf("%w: PUBSUB SHARDNUMSUB: %w", ErrAdapter, err)
	}
	return int(res[l.main]), nil
}

// Send implements socketio.ClusterLink. Messages go to "P#N#", except a broadcast without acknowledgements to
// exactly one room, which goes to the room's channel in the dynamic modes (in ModeDynamic, unless the room looks
// like a socket id), as the official adapter's computeChannel decides; responses go to the requester's
// "P#N#<m.To>#".
func (l *shardLink) Send(ctx context.Context, m *socketio.ClusterMessage) error {
	const enc = protocol.ClusterJSONUnlessBinary
	uid, nsp := l.a.uid, l.nsp
	op := clusterOp(nsp, m)
	var body []byte
	var err error
	channel := l.main
	switch m.Type {
	case socketio.ClusterBroadcast:
		if m.RequestID != "" {
			body, err = protocol.AppendClusterBroadcastWithAck(nil, enc, uid, m.RequestID, op)
			break
		}
		body, err = protocol.AppendClusterMessage(nil, uid, op)
		channel = protocol.ShardedBroadcastChannel(l.a.cfg.Prefix, nsp, l.a.mode, m.Rooms)
	case socketio.ClusterSocketsJoin, socketio.ClusterSocketsLeave, socketio.ClusterDisconnectSockets:
		body, err = protocol.AppendClusterMessage(nil, uid, op)
	case socketio.ClusterFetchSockets:
		body, err = protocol.AppendClusterFetchSockets(nil, enc, uid, nsp, m.RequestID, m.Rooms, m.Except)
	case socketio.ClusterServerSideEmit:
		if err := siopacket.ValidateServerEvent(m.Event); err != nil {
			return err
		}
		if m.RequestID != "" {
			body, err = protocol.AppendClusterServerSideEmitWithAck(nil, enc, uid, m.RequestID, op)
		} else {
			body, err = protocol.AppendClusterMessage(nil, uid, op)
		}
	default:
		if m.To == "" {
			return fmt.Errorf("redisadapter: a %s without a requester", m.Type)
		}
		channel = protocol.BroadcastChannel(l.a.cfg.Prefix, nsp, []string{m.To})
		body, err = clusterResponse(enc, uid, nsp, m)
	}
	if err != nil {
		return err
	}
	n, err := l.a.rdb.SPublish(ctx, channel, body).Result()
	l.a.obs.sent(err)
	if err != nil {
		return fmt.Errorf("%w: spublish on %s: %w", ErrAdapter, channel, err)
	}
	l.a.obs.published(l.a.log, channel, n)
	return nil
}

// decode returns the ClusterMessage of payload, or nil for what this server ignores: its own messages, those
// of other namespaces, heartbeats and unknown types.
func (l *shardLink) decode(payload []byte) (*socketio.ClusterMessage, error) {
	msg, err := protocol.DecodeClusterMessage(payload)
	if err != nil {
		return nil, err
	}
	if msg.UID == l.a.uid || msg.Nsp != l.nsp {
		return nil, nil
	}
	m := clusterMessageOf(msg)
	if m == nil {
		return nil, nil
	}
	if m.RequestID == "" && (m.Type.IsResponse() || m.Type == socketio.ClusterFetchSockets) {
		return nil, errors.New("a fetchSockets request or a response without requestId")
	}
	return m, nil
}
