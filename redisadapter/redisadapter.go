// Package redisadapter is a socketio.Cluster over Redis pub/sub that speaks the classic format of
// @socket.io/redis-adapter (createAdapter, versions 7.2 and later): Go servers using it and Node servers using the
// official adapter on the same Redis form one cluster, and the official emitters (or package emitter) reach both.
// NewSharded returns the transport of the sharded format instead (createShardedAdapter, SSUBSCRIBE/SPUBLISH on
// Redis ≥ 7 and Redis Cluster): see ShardedAdapter.
//
// Carried between servers, both ways: broadcasts (to rooms, except rooms, volatile), socketsJoin, socketsLeave,
// disconnectSockets, fetchSockets, broadcasts with acknowledgements (each client's first acknowledgement argument
// is relayed, as the official adapter does), serverSideEmit, and serverSideEmit with acknowledgements. The server
// count is PUBSUB NUMSUB of the namespace's request channel, as Node servers count.
//
// As the official adapter's shared subscriber does, one Adapter holds one subscriber connection whatever the
// number of namespaces: each namespace adds its channels to it (PSUBSCRIBE of its broadcast channels, SUBSCRIBE
// of its request and response channels) when it is created and removes them when it is removed. Publishing uses
// the client's pool.
//
// # While Redis is away
//
// Pub/sub keeps nothing: what is published while a server is not subscribed never reaches it, and Redis says
// nothing of it. A Send that Redis refuses returns an error wrapping ErrAdapter; one that Redis accepts while the
// other servers are still resubscribing is lost for them. The subscription reconnects by itself (package pubsub)
// and logs the gap; Reconnected reports each one, so that a publisher can wait for the cluster to be back.
package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/randid"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/pubsub"
	"github.com/sioredis/sioredis/socketio"
)

// Config configures an Adapter. The zero value is valid.
type Config struct {
	// Prefix is the channel prefix, the official adapter's "key" option. Default "socket.io".
	Prefix string
	// Logger receives the adapter's warnings; default slog.Default().
	Logger *slog.Logger
	// Metrics, if not nil, receives the adapter's observations (messages in and out, Redis errors, losses: see
	// Metrics). Default nil: nothing is observed.
	Metrics Metrics
}

// ErrAdapter wraps the errors of Redis commands.
var ErrAdapter = errors.New("redisadapter: Redis command failed")

// ErrClosed is returned by WaitReady once the Adapter is closed.
var ErrClosed = errors.New("redisadapter: adapter closed")

// Adapter is the socketio.Cluster of one server: set it as socketio.Config.Cluster (one Adapter per Server). Its
// methods are safe for concurrent use.
type Adapter struct {
	rdb redis.UniversalClient
	cfg Config
	uid string
	log *slog.Logger
	obs observer

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the subscription's manager and receiver
	subs   *subscriptions
	links  linkSet[*link]

	ownPatterns atomic.Int32 // links open with their own broadcast pattern, at most maxOwnPatterns
	wide        string       // "P#*", the pattern of every namespace's broadcasts
	widePattern sync.Once    // subscribes wide when the first namespace past maxOwnPatterns opens
}

// maxOwnPatterns is the number of namespaces that get a broadcast pattern of their own; see Open.
const maxOwnPatterns = 16

// broadcastsKey is the subscriptions member of the wide pattern; no namespace has this name.
const broadcastsKey = "\x00broadcasts"

// link is one namespace's part of the Adapter.
type link struct {
	a         *Adapter
	nsp       string
	h         socketio.ClusterHandler
	broadcast string // "P#N#": the namespace's broadcast channel, and the prefix of its rooms' channels
	requests  string // "P-request#N#"
	responses string // "P-response#N#"
	mine      string // "P-response#N#uid#"
	// ownPattern: the link subscribed "P#N#*" (see Open); the broadcasts the wide pattern brings for it are
	// dropped.
	ownPattern bool
	closed     atomic.Bool

	gate handlerGate
}

// handlerGate runs a link's handler one message at a time, and not any more once the link is closed.
type handlerGate struct {
	mu     sync.Mutex // held while the handler runs: close waits for it
	closed bool       // guarded by mu
}

// run calls fn unless the gate is closed.
func (g *handlerGate) run(fn func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		fn()
	}
}

// close returns once no handler runs, and none will.
func (g *handlerGate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// New returns the Adapter of one server on rdb (standalone or Sentinel; a Cluster client works, though a classic
// pub/sub cluster does not spread over its nodes: see NewSharded). Nothing is subscribed until the first
// namespace opens; the Server closes it.
func New(rdb redis.UniversalClient, cfg Config) *Adapter {
	if cfg.Prefix == "" {
		cfg.Prefix = "socket.io"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &Adapter{rdb: rdb, cfg: cfg, uid: randid.New(), log: cfg.Logger, wide: protocol.BroadcastPatternAll(cfg.Prefix)}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.obs = newObserver(cfg.Metrics, FormatClassic)
	a.subs = startSubscriptions(a.ctx, &a.wg, rdb, a.log, a.obs, a.receive)
	return a
}

// UID returns the server id that the Adapter writes in its messages (the official adapter's uid).
func (a *Adapter) UID() string { return a.uid }

// Open implements socketio.Cluster.
func (a *Adapter) Open(nsp string, h socketio.ClusterHandler) socketio.ClusterLink {
	l := &link{
		a:         a,
		nsp:       nsp,
		h:         h,
		broadcast: protocol.BroadcastChannel(a.cfg.Prefix, nsp, nil),
		requests:  protocol.RequestChannel(a.cfg.Prefix, nsp),
		responses: protocol.ResponseChannel(a.cfg.Prefix, nsp),
		mine:      protocol.SpecificResponseChannel(a.cfg.Prefix, nsp, a.uid),
	}
	a.links.put(nsp, l)
	// Redis matches each PUBLISH against every pattern subscribed, so a pattern per namespace, with thousands of
	// dynamic namespaces, would slow every publisher of the Redis. The first maxOwnPatterns namespaces open get the
	// pattern of their own broadcasts (P#N#*, as Node's servers subscribe); past them, one pattern for every
	// namespace of the prefix (P#*) carries the others, and receive drops what it brings for a namespace that has
	// its own, or that this server does not have. (A server past the threshold is thus a subscriber of every
	// namespace's broadcasts: PUBLISH counts it for namespaces it does not serve.) The request and response
	// channels stay per namespace: a channel costs Redis a lookup, not a scan, and the servers are counted by
	// PUBSUB NUMSUB of the request channel.
	opts := []pubsub.Option{pubsub.Channels(l.requests, l.responses, l.mine)}
	if a.ownPatterns.Add(1) <= maxOwnPatterns {
		l.ownPattern = true
		opts = append(opts, pubsub.Patterns(protocol.BroadcastPattern(a.cfg.Prefix, nsp)))
	} else {
		a.ownPatterns.Add(-1)
		a.widePattern.Do(func() { a.subs.add(broadcastsKey, pubsub.Patterns(a.wide)) })
	}
	a.subs.add(nsp, opts...)
	return l
}

// WaitReady waits until Redis has confirmed the subscriptions of every namespace opened so far (they are made in
// the background, retried until Redis answers), or until ctx ends.
func (a *Adapter) WaitReady(ctx context.Context) error { return a.subs.waitReady(ctx) }

// Reconnected returns a channel closed at the next resubscription after a loss of the subscriber connection
// (when a gap is logged): a publisher that saw Redis fail can wait for it, and for ServerCount to be back,
// before publishing again.
func (a *Adapter) Reconnected() <-chan struct{} { return a.subs.reconnectedChan() }

// Close implements socketio.Cluster: it unsubscribes and waits for the Adapter's goroutines.
func (a *Adapter) Close() error {
	a.cancel()
	a.wg.Wait()
	return nil
}

// receive hands one message to its namespace's handler.
func (a *Adapter) receive(m pubsub.Message) {
	info := protocol.ParseChannel(a.cfg.Prefix, m.Channel)
	l, _ := a.links.get(info.Nsp)
	if l == nil || (l.ownPattern && m.Pattern == a.wide) {
		return // a namespace of this prefix that this server does not have, or a copy its own pattern brings too
	}
	msg, err := l.decode(info, m.Channel, []byte(m.Payload))
	if err != nil {
		a.log.Warn("redisadapter: ignored a message", "channel", m.Channel, "err", err)
		return
	}
	if msg != nil {
		a.obs.received()
		l.gate.run(func() { l.h.HandleClusterMessage(msg) })
	}
}

// Close implements socketio.ClusterLink.
func (l *link) Close() error {
	if !l.closed.CompareAndSwap(false, true) {
		return nil
	}
	closeLink(&l.gate, &l.a.links, l.a.subs, l.nsp, l)
	if l.ownPattern {
		l.a.ownPatterns.Add(-1)
	}
	return nil
}

// ServerCount implements socketio.ClusterLink: the subscribers of the request channel, as the official adapter
// counts them (PUBSUB NUMSUB).
func (l *link) ServerCount(ctx context.Context) (int, error) {
	return numSub(ctx, l.a.rdb, l.requests)
}

// numSub returns PUBSUB NUMSUB of channel.
func numSub(ctx context.Context, rdb redis.UniversalClient, channel string) (int, error) {
	res, err := rdb.PubSubNumSub(ctx, channel).Result()
	if err != nil {
		return 0, fmt.Errorf("%w: PUBSUB NUMSUB: %w", ErrAdapter, err)
	}
	return int(res[channel]), nil
}

// publish publishes payload on channel and returns the number of subscribers that received it.
func publish(ctx context.Context, rdb redis.UniversalClient, channel string, payload []byte) (int64, error) {
	n, err := rdb.Publish(ctx, channel, payload).Result()
	if err != nil {
		return 0, fmt.Errorf("%w: publish on %s: %w", ErrAdapter, channel, err)
	}
	return n, nil
}
