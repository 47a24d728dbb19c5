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
	"time"

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

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the subscription manager and the receiver
	kick   chan struct{}  // wakes the manager: links opened or closed

	// mu guards the fields below; it is never held during I/O nor while a handler runs.
	mu          sync.Mutex
	links       map[string]*link // by namespace
	sub         *pubsub.Subscription
	reconnected chan struct{} // closed and replaced at each resubscription after a gap
}

// link is one namespace's part of the Adapter.
type link struct {
	a         *Adapter
	nsp       string
	h         socketio.ClusterHandler
	broadcast string // "P#N#": the namespace's broadcast channel, and the prefix of its rooms' channels
	pattern   string // "P#N#*"
	requests  string // "P-request#N#"
	responses string // "P-response#N#"
	mine      string // "P-response#N#uid#"

	ready      chan struct{} // closed once Redis has confirmed the link's subscriptions
	subscribed bool          // guarded by a.mu: the manager has subscribed it
	closed     bool          // guarded by a.mu
	handling   sync.Mutex    // held while the handler runs: Close waits for it
}

// New returns the Adapter of one server on rdb (standalone or Sentinel; a Cluster client works, though a classic
// pub/sub cluster does not spread over its nodes: see the sharded format). Nothing is subscribed until the first
// namespace opens; the Server closes it.
func New(rdb redis.UniversalClient, cfg Config) *Adapter {
	if cfg.Prefix == "" {
		cfg.Prefix = "socket.io"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &Adapter{rdb: rdb, cfg: cfg, uid: randid.New(), log: cfg.Logger, kick: make(chan struct{}, 1),
		links: make(map[string]*link), reconnected: make(chan struct{})}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.wg.Add(1)
	go a.manage()
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
		pattern:   protocol.BroadcastPattern(a.cfg.Prefix, nsp),
		requests:  protocol.RequestChannel(a.cfg.Prefix, nsp),
		responses: protocol.ResponseChannel(a.cfg.Prefix, nsp),
		mine:      protocol.SpecificResponseChannel(a.cfg.Prefix, nsp, a.uid),
		ready:     make(chan struct{}),
	}
	a.mu.Lock()
	if old := a.links[nsp]; old != nil && !old.closed {
		a.mu.Unlock()
		panic("redisadapter: namespace " + nsp + " opened twice")
	}
	a.links[nsp] = l
	a.mu.Unlock()
	a.wake()
	return l
}

func (a *Adapter) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// WaitReady waits until Redis has confirmed the subscriptions of every namespace opened so far (they are made in
// the background, retried until Redis answers), or until ctx ends.
func (a *Adapter) WaitReady(ctx context.Context) error {
	a.mu.Lock()
	var waits []chan struct{}
	for _, l := range a.links {
		waits = append(waits, l.ready)
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
	return nil
}

// Reconnected returns a channel closed at the next resubscription after a loss of the subscriber connection
// (when a gap is logged): a publisher that saw Redis fail can wait for it, and for ServerCount to be back,
// before publishing again.
func (a *Adapter) Reconnected() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reconnected
}

// Close implements socketio.Cluster: it unsubscribes and waits for the Adapter's goroutines.
func (a *Adapter) Close() error {
	a.cancel()
	a.wg.Wait()
	return nil
}

// channels returns the subscriptions of l.
func (l *link) subscriptions() []pubsub.Option {
	return []pubsub.Option{pubsub.Patterns(l.pattern), pubsub.Channels(l.requests, l.responses, l.mine)}
}

// manage keeps the subscription in line with the open links: it subscribes the first ones (retrying until Redis
// answers), adds those opened later and removes those closed, until Close.
func (a *Adapter) manage() {
	defer a.wg.Done()
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
		for a.sync() != nil {
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

// sync subscribes the links not yet subscribed and unsubscribes the closed ones.
func (a *Adapter) sync() error {
	a.mu.Lock()
	sub := a.sub
	var add, remove []*link
	for nsp, l := range a.links {
		switch {
		case l.closed:
			delete(a.links, nsp)
			if l.subscribed {
				remove = append(remove, l)
			}
		case !l.subscribed:
			add = append(add, l)
		}
	}
	a.mu.Unlock()
	for _, l := range remove {
		if err := sub.Remove(a.ctx, l.subscriptions()...); err != nil && !errors.Is(err, pubsub.ErrStopped) {
			a.log.Warn("redisadapter: unsubscribing", "nsp", l.nsp, "err", err)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if sub == nil {
		var opts []pubsub.Option
		for _, l := range add {
			opts = append(opts, l.subscriptions()...)
		}
		opts = append(opts, pubsub.WithLogger(a.log))
		s, err := pubsub.Subscribe(a.ctx, a.rdb, opts...)
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
	} else {
		for _, l := range add {
			if err := sub.Add(a.ctx, l.subscriptions()...); err != nil {
				return err
			}
		}
	}
	a.mu.Lock()
	for _, l := range add {
		if !l.closed {
			l.subscribed = true
			close(l.ready)
		}
	}
	a.mu.Unlock()
	return nil
}

// receive hands what arrives to the links' handlers, in order, until the subscription stops.
func (a *Adapter) receive(sub *pubsub.Subscription) {
	defer a.wg.Done()
	for m := range sub.C() {
		if m.Kind == pubsub.KindGap {
			a.log.Warn("redisadapter: messages may have been lost", "reason", m.Gap.Reason.String(),
				"down_for", m.Gap.Duration, "err", m.Gap.Err)
			a.mu.Lock()
			close(a.reconnected)
			a.reconnected = make(chan struct{})
			a.mu.Unlock()
			continue
		}
		info := protocol.ParseChannel(a.cfg.Prefix, m.Channel)
		a.mu.Lock()
		l := a.links[info.Nsp]
		if l != nil && l.closed {
			l = nil
		}
		a.mu.Unlock()
		if l == nil {
			continue // a namespace of this prefix that this server does not have
		}
		msg, err := l.decode(info, m.Channel, []byte(m.Payload))
		if err != nil {
			a.log.Warn("redisadapter: ignored a message", "channel", m.Channel, "err", err)
			continue
		}
		if msg != nil {
			l.handle(msg)
		}
	}
}

// handle runs the handler, unless the link is closed.
func (l *link) handle(m *socketio.ClusterMessage) {
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
func (l *link) Close() error {
	l.a.mu.Lock()
	l.closed = true
	l.a.mu.Unlock()
	l.handling.Lock() // a handler running returns first
	l.handling.Unlock()
	l.a.wake()
	return nil
}

// ServerCount implements socketio.ClusterLink: the subscribers of the request channel, as the official adapter
// counts them (PUBSUB NUMSUB).
func (l *link) ServerCount(ctx context.Context) (int, error) {
	res, err := l.a.rdb.PubSubNumSub(ctx, l.requests).Result()
	if err != nil {
		return 0, fmt.Errorf("%w: PUBSUB NUMSUB: %w", ErrAdapter, err)
	}
	return int(res[l.requests]), nil
}

func (l *link) publish(ctx context.Context, channel string, payload []byte) error {
	if err := l.a.rdb.Publish(ctx, channel, payload).Err(); err != nil {
		return fmt.Errorf("%w: publish on %s: %w", ErrAdapter, channel, err)
	}
	return nil
}
