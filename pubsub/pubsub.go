package pubsub

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/clusterreload"
)

// Sentinel errors, tested with errors.Is.
var (
	// ErrNoSubscriptions is returned by Subscribe when no channel, pattern
	// or sharded channel was given.
	ErrNoSubscriptions = errors.New("pubsub: nothing to subscribe to")
	// ErrNotConfirmed wraps the error of a subscription that Redis did not
	// confirm within the confirmation timeout (see WithConfirmTimeout).
	ErrNotConfirmed = errors.New("pubsub: subscription not confirmed")
	// ErrUnhealthy is the cause of a gap when a connection did not answer a
	// health-check PING (see WithHealthCheck).
	ErrUnhealthy = errors.New("pubsub: no reply to the health-check PING")
	// ErrStale is the cause of a gap when a connection no longer received
	// what is published (see WithSelfCheck).
	ErrStale = errors.New("pubsub: the connection no longer receives what is published")
	// ErrUnsupportedClient is returned by Subscribe for a *redis.Ring,
	// which spreads channels over independent servers.
	ErrUnsupportedClient = errors.New("pubsub: Ring clients are not supported")
	// ErrUnsubscribed is the cause of a gap when Redis ended a subscription
	// by itself, as it does for sharded channels whose slot moved to
	// another node.
	ErrUnsubscribed = errors.New("pubsub: Redis ended the subscription")
	// ErrNotAddable is returned by Add and Remove for channels or patterns
	// when the Subscription was created without any channel or pattern
	// (sharded channels can always be added).
	ErrNotAddable = errors.New("pubsub: channels and patterns can only be added to a subscription created with some")
	// ErrStopped is returned by Add once the subscription has stopped.
	ErrStopped = errors.New("pubsub: subscription stopped")
)

// Kind tells what a Message carries.
type Kind uint8

// Message kinds.
const (
	// KindMessage is a message published to a subscribed channel.
	KindMessage Kind = iota + 1
	// KindGap reports that messages may have been lost; Message.Gap says
	// why.
	KindGap
)

// String returns "message" or "gap".
func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindGap:
		return "gap"
	}
	return "unknown"
}

// Message is one item delivered by a Subscription. It is a plain value; the
// Gap it may point to is never modified after delivery.
type Message struct {
	Kind Kind
	// Channel is the channel the message was published to.
	Channel string
	// Pattern is the subscribed pattern that matched Channel, for pattern
	// subscriptions.
	Pattern string
	// Sharded reports a message of a sharded channel (SPUBLISH).
	Sharded bool
	// Payload is the message as published.
	Payload string
	// Gap describes the loss, for KindGap.
	Gap *Gap
}

// GapReason says why messages may have been lost.
type GapReason uint8

// Gap reasons.
const (
	// GapReconnect: the connection was lost; the subscription reconnected
	// and subscribed again. Whatever was published in between is lost.
	GapReconnect GapReason = iota + 1
	// GapOverflow: the buffer was full and messages were dropped (policy
	// OverflowDrop).
	GapOverflow
	// GapMoved: Redis ended the subscription of sharded channels whose slot
	// moved to another node of the cluster (Gap.ShardedChannels); they were
	// subscribed again on the slot's new owner. Whatever was published on
	// them in between is lost.
	GapMoved
)

// String returns "reconnect", "overflow" or "moved".
func (r GapReason) String() string {
	switch r {
	case GapReconnect:
		return "reconnect"
	case GapOverflow:
		return "overflow"
	case GapMoved:
		return "moved"
	}
	return "unknown"
}

// Gap describes a loss of messages.
type Gap struct {
	Reason GapReason
	// Since is when the loss began: when the connection failed, or when the
	// first message was dropped.
	Since time.Time
	// Duration is how long the subscription was not receiving
	// (GapReconnect): from the failure to the confirmation of the new
	// subscription.
	Duration time.Duration
	// Err is what ended the connection (GapReconnect).
	Err error
	// Attempts is the number of connection attempts it took to subscribe
	// again (GapReconnect).
	Attempts int
	// Dropped is the number of messages dropped (GapOverflow).
	Dropped uint64
	// Channels, Patterns and ShardedChannels are the subscriptions of the
	// connection that was lost (GapReconnect).
	Channels, Patterns, ShardedChannels []string
}

// Overflow is the policy applied when the buffer of a Subscription is full.
type Overflow uint8

// Overflow policies (see the package documentation).
const (
	// OverflowBlock stops reading from Redis until there is room.
	OverflowBlock Overflow = iota
	// OverflowDrop drops the message and counts it.
	OverflowDrop
)

// selfCheckChannel returns the channel of WithSelfCheck for the connection of g ("" when it is not checked).
func (s *Subscription) selfCheckChannel(g *group) string {
	switch {
	case s.selfChannel == "":
		return ""
	case !g.shard:
		return s.selfChannel
	case s.cluster == nil:
		return s.selfChannel + "/s"
	}
	return "" // a cluster node's sharded channels: a failover ends their connection
}

// selfChannelPrefix begins the private channel of WithSelfCheck.
const selfChannelPrefix = "__sioredis:pubsub:selfcheck:"

// Defaults of the options.
const (
	DefaultBufferSize     = 256
	DefaultMinBackoff     = 50 * time.Millisecond
	DefaultMaxBackoff     = 2 * time.Second
	DefaultHealthCheck    = 15 * time.Second
	DefaultConfirmTimeout = 10 * time.Second
)

type config struct {
	channels, patterns, sharded []string
	bufferSize                  int
	overflow                    Overflow
	minBackoff, maxBackoff      time.Duration
	healthCheck                 time.Duration
	selfCheck                   time.Duration
	confirmTimeout              time.Duration
	logger                      *slog.Logger
	metrics                     Metrics
}

// Option configures Subscribe.
type Option func(*config)

// Channels subscribes to channels (SUBSCRIBE). It may be given several
// times.
func Channels(channels ...string) Option {
	return func(c *config) { c.channels = append(c.channels, channels...) }
}

// Patterns subscribes to glob-style patterns (PSUBSCRIBE).
func Patterns(patterns ...string) Option {
	return func(c *config) { c.patterns = append(c.patterns, patterns...) }
}

// ShardedChannels subscribes to sharded channels (SSUBSCRIBE, Redis ≥ 7).
func ShardedChannels(channels ...string) Option {
	return func(c *config) { c.sharded = append(c.sharded, channels...) }
}

// WithBufferSize sets how many messages may wait for the consumer (default
// 256; at least 1).
func WithBufferSize(n int) Option { return func(c *config) { c.bufferSize = max(n, 1) } }

// WithOverflow sets what happens when the buffer is full (default
// OverflowBlock).
func WithOverflow(p Overflow) Option { return func(c *config) { c.overflow = p } }

// WithBackoff sets the delays between reconnection attempts: min after the
// first failed attempt, doubling up to max, with ±20% jitter (defaults
// 50 ms and 2 s).
func WithBackoff(minDelay, maxDelay time.Duration) Option {
	return func(c *config) {
		c.minBackoff = max(minDelay, time.Millisecond)
		c.maxBackoff = max(maxDelay, c.minBackoff)
	}
}

// WithHealthCheck sets how long a connection may stay silent before a PING
// is sent on it; without an answer within the same delay the connection is
// treated as lost. Zero disables the check (default 15 s).
func WithHealthCheck(interval time.Duration) Option {
	return func(c *config) { c.healthCheck = max(interval, 0) }
}

// WithSelfCheck makes the connection of the channels and patterns prove,
// every interval, that it still receives what is published: it publishes a
// token on a private channel it subscribes to, through the Subscription's
// client as any publisher would, and a token that does not come back within
// twice the interval (its PUBLISH having succeeded) is followed by a PING;
// the PING answered while the token is still missing ends the connection,
// reported as a gap caused by ErrStale, and it reconnects. It catches what a
// health-check PING cannot: a connection to a node that publishers no
// longer reach, such as a master that a planned Sentinel failover demoted to
// a replica, which keeps its subscribers and answers their PINGs. A slow or
// cut link (where neither comes back, and TCP may still deliver everything
// when it heals) is left to the health check. The cost is one PUBLISH per
// interval and connection. Zero disables it (default). The sharded channels'
// connections on a Redis Cluster are not checked: a failover ends them (their
// node closes, or unsubscribes them as it loses their slot); off a Cluster,
// the token is a sharded channel (SPUBLISH).
func WithSelfCheck(interval time.Duration) Option {
	return func(c *config) { c.selfCheck = max(interval, 0) }
}

// WithConfirmTimeout bounds the wait for Redis to confirm a subscription, at
// Subscribe and at each reconnection (default 10 s). Opening the connection
// is bounded by the client's own dial and read timeouts as well.
func WithConfirmTimeout(d time.Duration) Option { return func(c *config) { c.confirmTimeout = d } }

// WithLogger sets the logger that reports lost connections and
// re-subscriptions (default: none).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Subscription receives the messages of its channels, patterns and sharded
// channels until its context is done or Close is called. Its methods are
// safe for concurrent use; the channel returned by C is meant for one
// consumer (several would share the messages between them).
type Subscription struct {
	cfg     config
	client  redis.UniversalClient
	cluster *redis.ClusterClient // client, when it is a Cluster client
	parent  context.Context
	life    context.Context // ends with the subscription
	cancel  context.CancelFunc
	out     chan Message
	done    chan struct{}
	wg      sync.WaitGroup // the goroutines of the connections and the moves

	plain *group // the connection of the channels and patterns; nil without any
	// selfChannel is the private channel of WithSelfCheck ("" without it): the plain connection subscribes to
	// it, and the sharded channels' connection off a Cluster to selfChannel+"/s" as a sharded channel.
	selfChannel string

	// smu guards shards, transit and dead; it is taken before a group's mu.
	smu     sync.Mutex
	shards  map[string]*group // the connections of the sharded channels, by node address ("" off a Cluster)
	transit map[string]bool   // sharded channels on their way from one group to another (see move)
	dead    bool              // life has ended: no goroutine may start

	stopped   atomic.Bool // set before out is closed
	dropped   atomic.Uint64
	unsent    atomic.Uint64 // drops not yet reported by a gap
	dropSince atomic.Int64  // UnixNano of the first unreported drop
}

// subscriber opens the PubSub of a connection: the Subscription's client, or the client of one node of a
// cluster.
type subscriber interface {
	Subscribe(ctx context.Context, channels ...string) *redis.PubSub
}

// group is the set of subscriptions that share one connection: the
// channels and patterns (the plain group), or the sharded channels of one
// node (a shard group). Its sets change with Add and Remove, under mu.
type group struct {
	shard  bool
	node   string     // the address of the node of a shard group on a cluster
	client subscriber // what opens the connection
	stop   context.CancelFunc
	// attempts counts the failed connections before this group, for a shard group that took over the
	// channels of one that could not connect.
	attempts int

	mu       sync.Mutex
	channels []string
	patterns []string
	sharded  []string
	moved    map[string]lost            // sharded channel -> the loss to report once it is subscribed again
	ps       *redis.PubSub              // the connection while it is up; nil while (re)connecting
	waiting  map[string][]chan struct{} // "subscribe ch" / "psubscribe p" / "ssubscribe s" -> Add calls waiting for Redis's confirmation
	leaving  map[string]int             // "unsubscribe ch" / ... -> confirmations of Remove still expected
}

// lost describes why a sharded channel is being subscribed again.
type lost struct {
	reason GapReason
	since  time.Time
	err    error
}

// subscriptions returns a copy of the channels, patterns and sharded channels of g.
func (g *group) subscriptions() (channels, patterns, sharded []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.channels), slices.Clone(g.patterns), slices.Clone(g.sharded)
}

// confirm releases the Add calls waiting for key ("subscribe ch"); g.mu is held.
func (g *group) confirmLocked(key string) {
	for _, w := range g.waiting[key] {
		close(w)
	}
	delete(g.waiting, key)
}

// Subscribe subscribes to what the options name and returns once Redis has
// confirmed every subscription. The subscription lives until ctx is done or
// Close is called. The error is ErrNoSubscriptions or ErrUnsupportedClient,
// or wraps ErrNotConfirmed, the context's error or the error of Redis.
func Subscribe(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Subscription, error) {
	cfg := config{
		bufferSize:     DefaultBufferSize,
		minBackoff:     DefaultMinBackoff,
		maxBackoff:     DefaultMaxBackoff,
		healthCheck:    DefaultHealthCheck,
		confirmTimeout: DefaultConfirmTimeout,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.channels)+len(cfg.patterns)+len(cfg.sharded) == 0 {
		return nil, ErrNoSubscriptions
	}
	if _, isRing := client.(*redis.Ring); isRing {
		return nil, ErrUnsupportedClient
	}
	lifeCtx, cancel := context.WithCancel(ctx)
	s := &Subscription{
		cfg:     cfg,
		client:  client,
		parent:  ctx,
		life:    lifeCtx,
		cancel:  cancel,
		out:     make(chan Message, cfg.bufferSize),
		done:    make(chan struct{}),
		shards:  make(map[string]*group),
		transit: make(map[string]bool),
	}
	s.cluster, _ = client.(*redis.ClusterClient)
	var groups []*group
	if cfg.selfCheck > 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		s.selfChannel = selfChannelPrefix + hex.EncodeToString(b[:])
	}
	if len(cfg.channels)+len(cfg.patterns) > 0 {
		s.plain = &group{client: client, channels: slices.Clone(cfg.channels), patterns: slices.Clone(cfg.patterns)}
		groups = append(groups, s.plain)
	}
	seen := make(map[string]bool, len(cfg.sharded))
	for _, ch := range cfg.sharded {
		if seen[ch] {
			continue
		}
		seen[ch] = true
		node, c, err := s.owner(ctx, ch, "", false)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("pubsub: subscribe: %w", err)
		}
		g := s.shards[node]
		if g == nil {
			g = &group{shard: true, node: node, client: c}
			s.shards[node] = g
			groups = append(groups, g)
		}
		g.sharded = append(g.sharded, ch)
	}
	type started struct {
		ps    *redis.PubSub
		early []Message
	}
	conns := make([]started, 0, len(groups))
	for _, g := range groups {
		ps, early, err := s.connect(lifeCtx, g)
		if err != nil {
			if ps != nil {
				_ = ps.Close()
			}
			for _, c := range conns {
				_ = c.ps.Close()
			}
			cancel()
			return nil, fmt.Errorf("pubsub: subscribe: %w", err)
		}
		conns = append(conns, started{ps, early})
	}
	// One count for the life of the subscription, so that shard groups can come and go.
	s.wg.Add(1)
	go func() {
		<-lifeCtx.Done()
		s.smu.Lock()
		s.dead = true
		s.smu.Unlock()
		s.wg.Done()
	}()
	s.smu.Lock()
	for i, g := range groups {
		s.startLocked(g, conns[i].ps, conns[i].early)
	}
	s.smu.Unlock()
	go func() {
		s.wg.Wait()
		s.stopped.Store(true)
		close(s.out)
		cancel()
		close(s.done)
	}()
	return s, nil
}

// startLocked starts the goroutine of g, on ps when it is connected already; s.smu is held and s is not dead.
func (s *Subscription) startLocked(g *group, ps *redis.PubSub, early []Message) {
	if g.shard && s.shards[g.node] != g { // emptied by a move while Subscribe was connecting
		if ps != nil {
			_ = ps.Close()
		}
		return
	}
	ctx, stop := context.WithCancel(s.life)
	g.stop = stop
	s.wg.Add(1)
	go s.run(ctx, g, ps, early)
}

// owner returns the node whose connection carries sharded channel ch, and the client that opens it: the
// master of its slot on a cluster (hint, when it is a master, after a MOVED answer; the cluster's slots are
// read again first when reload is set), the Subscription's client otherwise.
func (s *Subscription) owner(ctx context.Context, ch, hint string, reload bool) (string, subscriber, error) {
	if s.cluster == nil {
		return "", s.client, nil
	}
	if reload || hint != "" {
		var mu sync.Mutex
		masters := make(map[string]*redis.Client)
		err := s.cluster.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
			mu.Lock()
			masters[c.Options().Addr] = c
			mu.Unlock()
			return nil
		})
		if err != nil {
			return "", nil, err
		}
		if c := masters[hint]; c != nil {
			return hint, c, nil
		}
	}
	c, err := s.cluster.MasterForKey(ctx, ch)
	if err != nil {
		return "", nil, err
	}
	return c.Options().Addr, c, nil
}

// C returns the channel of messages and gaps. It is closed when the
// subscription has stopped.
func (s *Subscription) C() <-chan Message { return s.out }

// Done is closed once the subscription has stopped and released everything.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Close stops the subscription and waits until its goroutines and
// connections are gone; C is then closed (messages already buffered can
// still be read from it). It may be called several times, and after the
// context is done.
func (s *Subscription) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Err returns nil while the subscription runs and after Close, and the
// error of the context given to Subscribe when that ended it. It is set
// before C is closed.
func (s *Subscription) Err() error {
	if !s.stopped.Load() {
		return nil
	}
	return s.parent.Err()
}

// Dropped returns how many messages the OverflowDrop policy has dropped.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Connections returns the number of Redis connections the subscription
// holds or is opening: one for its channels and patterns, and one per node
// that owns some of its sharded channels (one in all off a cluster).
func (s *Subscription) Connections() int {
	s.smu.Lock()
	defer s.smu.Unlock()
	n := len(s.shards)
	if s.plain != nil {
		n++
	}
	return n
}

// Add subscribes to more channels, patterns and sharded channels, and
// returns once Redis has confirmed them, as Subscribe does: nothing
// published on them afterwards is missed. Those already subscribed are left
// as they are. Channels and patterns go to the connection of the
// subscription's channels and patterns (ErrNotAddable when it was created
// without any); sharded channels to the connection of their node, opened
// when it is the first of that node. While a connection is down, they are
// subscribed with the others at the reconnection, and Add waits for it. When
// ctx ends first, the error wraps ctx.Err() and the subscriptions stay
// requested (Remove withdraws them).
func (s *Subscription) Add(ctx context.Context, opts ...Option) error {
	c, err := s.changeOf(opts)
	if err != nil {
		return err
	}
	var waits []chan struct{}
	if len(c.channels)+len(c.patterns) > 0 {
		waits = s.plain.addPlain(ctx, c.channels, c.patterns)
	}
	if len(c.sharded) > 0 {
		w, err := s.addSharded(ctx, c.sharded, nil)
		if err != nil {
			return fmt.Errorf("pubsub: add: %w", err)
		}
		waits = append(waits, w...)
	}
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return fmt.Errorf("pubsub: add: %w", ctx.Err())
		case <-s.done:
			return ErrStopped
		}
	}
	return nil
}

// addPlain adds channels and patterns to the plain group g and returns what to wait for.
func (g *group) addPlain(ctx context.Context, channels, patterns []string) []chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	var waits []chan struct{}
	newChannels := g.addLocked(&g.channels, "subscribe", channels, &waits)
	newPatterns := g.addLocked(&g.patterns, "psubscribe", patterns, &waits)
	if g.ps != nil {
		// A failed write means a broken connection: the reconnection
		// subscribes them with the others.
		if len(newChannels) > 0 {
			_ = g.ps.Subscribe(ctx, newChannels...)
		}
		if len(newPatterns) > 0 {
			_ = g.ps.PSubscribe(ctx, newPatterns...)
		}
	}
	return waits
}

// addLocked adds names to list, with a waiter for each that is not confirmed yet, and returns those that are
// new; g.mu is held.
func (g *group) addLocked(list *[]string, kind string, names []string, waits *[]chan struct{}) (added []string) {
	if g.waiting == nil {
		g.waiting = make(map[string][]chan struct{})
	}
	for _, n := range names {
		key := kind + " " + n
		if slices.Contains(*list, n) {
			if _, unconfirmed := g.waiting[key]; !unconfirmed {
				continue
			}
		} else {
			*list = append(*list, n)
			added = append(added, n)
		}
		w := make(chan struct{})
		g.waiting[key] = append(g.waiting[key], w)
		*waits = append(*waits, w)
	}
	return added
}

// shardOfLocked returns the shard group that has sharded channel ch; s.smu is held.
func (s *Subscription) shardOfLocked(ch string) *group {
	for _, g := range s.shards {
		g.mu.Lock()
		has := slices.Contains(g.sharded, ch)
		g.mu.Unlock()
		if has {
			return g
		}
	}
	return nil
}

// addSharded adds sharded channels to the groups of their nodes, handing them the waiters and losses in carry
// (channels that move), and returns what to wait for.
func (s *Subscription) addSharded(ctx context.Context, names []string, carry map[string]moving) ([]chan struct{}, error) {
	type target struct {
		client subscriber
		names  []string
	}
	byNode := make(map[string]*target)
	for _, n := range names {
		node, c, err := s.owner(ctx, n, carry[n].hint, carry[n].reload)
		if err != nil {
			return nil, err
		}
		t := byNode[node]
		if t == nil {
			t = &target{client: c}
			byNode[node] = t
		}
		t.names = append(t.names, n)
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.dead {
		return nil, ErrStopped
	}
	var waits []chan struct{}
	for node, t := range byNode {
		var fresh []string
		for _, n := range t.names {
			if _, moving := carry[n]; moving {
				if !s.transit[n] { // removed while it moved: its Add calls return, as Remove's do
					for _, w := range carry[n].waiters {
						close(w)
					}
					continue
				}
				delete(s.transit, n)
			}
			if g := s.shardOfLocked(n); g != nil && g.node != node {
				// Already subscribed on another node (Add of a channel that moved meanwhile): its group keeps it.
				g.mu.Lock()
				g.addLocked(&g.sharded, "ssubscribe", []string{n}, &waits)
				if m, ok := carry[n]; ok {
					g.adoptLocked(n, m)
				}
				g.mu.Unlock()
				continue
			}
			fresh = append(fresh, n)
		}
		if len(fresh) == 0 {
			continue
		}
		g := s.shards[node]
		start := g == nil
		if start {
			g = &group{shard: true, node: node, client: t.client}
			s.shards[node] = g
		}
		g.mu.Lock()
		added := g.addLocked(&g.sharded, "ssubscribe", fresh, &waits)
		for _, n := range fresh {
			if m, ok := carry[n]; ok {
				g.adoptLocked(n, m)
			}
		}
		if g.ps != nil && len(added) > 0 {
			for _, batch := range bySlot(added, s.cluster != nil) {
				_ = g.ps.SSubscribe(ctx, batch...)
			}
		}
		g.mu.Unlock()
		if start {
			s.startLocked(g, nil, nil)
		}
	}
	return waits, nil
}

// adoptLocked takes what sharded channel n brings from the group it left: while n waits for its confirmation in
// g, the Add calls waiting for it and the loss to report; when g has it confirmed already, they are done. g.mu is
// held.
func (g *group) adoptLocked(n string, m moving) {
	key := "ssubscribe " + n
	g.attempts = max(g.attempts, m.attempts)
	if _, pending := g.waiting[key]; !pending {
		for _, w := range m.waiters {
			close(w)
		}
		return
	}
	g.waiting[key] = append(g.waiting[key], m.waiters...)
	if m.loss.reason != 0 {
		if g.moved == nil {
			g.moved = make(map[string]lost)
		}
		g.moved[n] = m.loss
	}
}

// moving is what a sharded channel takes from the group it leaves to the next one.
type moving struct {
	waiters  []chan struct{}
	loss     lost // reason 0: none to report (not subscribed yet when it moved)
	hint     string
	reload   bool
	attempts int
}

// move takes sharded channels out of g, which lost them (Redis unsubscribed them, answered MOVED, or the
// connection failed), and subscribes them again on the owner of their slot, from a goroutine of its own. The
// loss, when the channels were subscribed, is reported once they are subscribed again. It stops g when nothing
// is left in it.
func (s *Subscription) move(g *group, names []string, loss lost, hint string, attempts int) {
	s.smu.Lock()
	defer s.smu.Unlock()
	carry := make(map[string]moving)
	g.mu.Lock()
	for _, n := range names {
		i := slices.Index(g.sharded, n)
		if i < 0 {
			continue
		}
		g.sharded = slices.Delete(g.sharded, i, i+1)
		key := "ssubscribe " + n
		m := moving{waiters: g.waiting[key], hint: hint, reload: true, attempts: attempts}
		delete(g.waiting, key)
		if prev, ok := g.moved[n]; ok {
			m.loss = prev
			delete(g.moved, n)
		} else if len(m.waiters) == 0 { // it was subscribed: the move loses what comes meanwhile
			m.loss = loss
		}
		carry[n] = m
		s.transit[n] = true
	}
	empty := len(g.sharded) == 0
	g.mu.Unlock()
	if empty && s.shards[g.node] == g {
		delete(s.shards, g.node)
		if g.stop != nil {
			g.stop()
		}
	}
	if len(carry) == 0 || s.dead {
		return
	}
	moved := slices.Collect(maps.Keys(carry))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if attempts > 0 || hint != "" {
			select {
			case <-time.After(s.backoff(max(attempts, 1))):
			case <-s.life.Done():
				return
			}
		}
		for try := 1; ; try++ {
			_, err := s.addSharded(s.life, moved, carry)
			if err == nil || s.life.Err() != nil || errors.Is(err, ErrStopped) {
				return
			}
			s.cfg.logger.Warn("pubsub: finding the node of sharded channels", "channels", len(moved), "err", err)
			select {
			case <-time.After(s.backoff(try)):
			case <-s.life.Done():
				return
			}
		}
	}()
}

// Remove unsubscribes from channels, patterns and sharded channels (channels
// and patterns: ErrNotAddable when the subscription was created without
// any). It does not wait for Redis: a message already on its way may still
// be delivered. A node's connection is closed once it has no sharded channel
// left.
func (s *Subscription) Remove(ctx context.Context, opts ...Option) error {
	c, err := s.changeOf(opts)
	if err != nil {
		return err
	}
	if len(c.channels)+len(c.patterns) > 0 {
		s.plain.removePlain(ctx, c.channels, c.patterns)
	}
	if len(c.sharded) == 0 {
		return nil
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	for _, n := range c.sharded {
		delete(s.transit, n)
		g := s.shardOfLocked(n)
		if g == nil {
			continue
		}
		g.mu.Lock()
		gone := g.removeLocked(&g.sharded, "ssubscribe", []string{n})
		delete(g.moved, n)
		empty := len(g.sharded) == 0
		if !empty && g.ps != nil && len(gone) > 0 {
			if g.leaving == nil {
				g.leaving = make(map[string]int)
			}
			g.leaving["sunsubscribe "+n]++
			_ = g.ps.SUnsubscribe(ctx, gone...)
		}
		g.mu.Unlock()
		if empty {
			delete(s.shards, g.node)
			if g.stop != nil {
				g.stop()
			}
		}
	}
	return nil
}

// removeLocked removes names from list and returns those it had; g.mu is held.
func (g *group) removeLocked(list *[]string, kind string, names []string) (removed []string) {
	for _, n := range names {
		if i := slices.Index(*list, n); i >= 0 {
			*list = slices.Delete(*list, i, i+1)
			removed = append(removed, n)
			g.confirmLocked(kind + " " + n) // an Add still waiting returns
		}
	}
	return removed
}

// removePlain removes channels and patterns from the plain group g.
func (g *group) removePlain(ctx context.Context, channels, patterns []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	goneChannels := g.removeLocked(&g.channels, "subscribe", channels)
	gonePatterns := g.removeLocked(&g.patterns, "psubscribe", patterns)
	if g.ps == nil {
		return // the reconnection subscribes what is left
	}
	if g.leaving == nil {
		g.leaving = make(map[string]int)
	}
	if len(goneChannels) > 0 {
		for _, c := range goneChannels {
			g.leaving["unsubscribe "+c]++
		}
		_ = g.ps.Unsubscribe(ctx, goneChannels...)
	}
	if len(gonePatterns) > 0 {
		for _, p := range gonePatterns {
			g.leaving["punsubscribe "+p]++
		}
		_ = g.ps.PUnsubscribe(ctx, gonePatterns...)
	}
}

// changeOf returns what the options of Add or Remove name.
func (s *Subscription) changeOf(opts []Option) (config, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if len(c.channels)+len(c.patterns) > 0 && s.plain == nil {
		return c, ErrNotAddable
	}
	if s.stopped.Load() {
		return c, ErrStopped
	}
	return c, nil
}

// bySlot splits sharded channels into the batches one SSUBSCRIBE or SUNSUBSCRIBE may carry: the channels of one
// slot each on a cluster, all of them otherwise.
func bySlot(channels []string, cluster bool) [][]string {
	if !cluster {
		return [][]string{channels}
	}
	slots := make(map[uint16][]string)
	var order []uint16
	for _, c := range channels {
		sl := Slot(c)
		if _, ok := slots[sl]; !ok {
			order = append(order, sl)
		}
		slots[sl] = append(slots[sl], c)
	}
	out := make([][]string, len(order))
	for i, sl := range order {
		out[i] = slots[sl]
	}
	return out
}

// movedSlot parses a MOVED answer of Redis Cluster: "MOVED <slot> <host:port>".
func movedSlot(err error) (slot uint16, addr string, ok bool) {
	var rerr redis.Error
	if err == nil || !errors.As(err, &rerr) {
		return 0, "", false
	}
	f := strings.Fields(rerr.Error())
	if len(f) != 3 || f[0] != "MOVED" {
		return 0, "", false
	}
	n, perr := strconv.ParseUint(f[1], 10, 16)
	if perr != nil {
		return 0, "", false
	}
	return uint16(n), f[2], true
}

// inSlot returns the sharded channels of g in slot; g.mu is not held.
func (g *group) inSlot(slot uint16) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, c := range g.sharded {
		if Slot(c) == slot {
			out = append(out, c)
		}
	}
	return out
}

// connect opens a connection for g, subscribes and waits for every
// confirmation. Messages that arrive meanwhile (on subscriptions already
// confirmed) are returned, to be delivered first, after a gap for the sharded
// channels that moved to g. On error the returned PubSub, if any, must be
// closed.
func (s *Subscription) connect(ctx context.Context, g *group) (*redis.PubSub, []Message, error) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.confirmTimeout)
	defer cancel()
	ps := g.client.Subscribe(cctx) // no channels: no I/O yet
	// A read blocked on the confirmations ends when cctx does.
	closed := make(chan struct{})
	stop := context.AfterFunc(cctx, func() {
		_ = ps.Close()
		close(closed)
	})
	defer func() {
		if !stop() {
			<-closed
		}
	}()
	fail := func(err error) (*redis.PubSub, []Message, error) {
		// A dead node: the cluster's map names the one that took its slots once it is read again (the
		// sharded channels' owner is looked up with a reload already).
		clusterreload.After(s.client, err)
		// Once a context has ended, what go-redis reports is only a
		// consequence (often "client is closed").
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case cctx.Err() != nil:
			err = fmt.Errorf("%w within %v: %w", ErrNotConfirmed, s.cfg.confirmTimeout, err)
		}
		return ps, nil, err
	}
	channels, patterns, sharded := g.subscriptions()
	pending := make(map[string]bool)
	for _, c := range channels {
		pending["subscribe "+c] = true
	}
	for _, p := range patterns {
		pending["psubscribe "+p] = true
	}
	for _, c := range sharded {
		pending["ssubscribe "+c] = true
	}
	if len(channels) > 0 {
		if err := ps.Subscribe(cctx, channels...); err != nil {
			return fail(err)
		}
	}
	if len(patterns) > 0 {
		if err := ps.PSubscribe(cctx, patterns...); err != nil {
			return fail(err)
		}
	}
	if len(sharded) > 0 {
		for _, batch := range bySlot(sharded, s.cluster != nil) {
			if err := ps.SSubscribe(cctx, batch...); err != nil {
				return fail(err)
			}
		}
	}
	switch self := s.selfCheckChannel(g); {
	case self == "":
	case g.shard:
		pending["ssubscribe "+self] = true
		if err := ps.SSubscribe(cctx, self); err != nil {
			return fail(err)
		}
	default:
		pending["subscribe "+self] = true
		if err := ps.Subscribe(cctx, self); err != nil {
			return fail(err)
		}
	}
	var early []Message
	for len(pending) > 0 {
		reply, err := ps.Receive(cctx)
		if slot, addr, ok := movedSlot(err); ok && g.shard && s.cluster != nil {
			// This node does not own the slot (the cluster's map was stale): its channels go to the owner.
			gone := g.inSlot(slot)
			for _, c := range gone {
				delete(pending, "ssubscribe "+c)
			}
			s.move(g, gone, lost{}, addr, g.attempts)
			continue
		}
		if err != nil {
			return fail(err)
		}
		switch r := reply.(type) {
		case *redis.Subscription:
			delete(pending, r.Kind+" "+r.Channel)
		case *redis.Message:
			if self := s.selfCheckChannel(g); self == "" || r.Channel != self {
				early = append(early, g.message(r))
			}
		}
	}
	if gap := g.online(ctx, ps, channels, patterns, sharded, s.cluster != nil); gap != nil {
		early = append([]Message{{Kind: KindGap, Gap: gap}}, early...)
	}
	return ps, early, nil
}

// online records ps as the connection of g, subscribed to channels,
// patterns and sharded channels, and brings it up to date with what Add and
// Remove changed meanwhile (their confirmations come to receive). It returns
// the gap of the sharded channels that moved to g and are now subscribed.
func (g *group) online(ctx context.Context, ps *redis.PubSub, channels, patterns, sharded []string, cluster bool) *Gap {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ps = ps
	g.leaving = nil
	g.attempts = 0
	for _, c := range channels {
		g.confirmLocked("subscribe " + c)
	}
	for _, p := range patterns {
		g.confirmLocked("psubscribe " + p)
	}
	var gap *Gap
	for _, c := range sharded {
		if !slices.Contains(g.sharded, c) {
			continue // moved or removed meanwhile
		}
		g.confirmLocked("ssubscribe " + c)
		if l, ok := g.moved[c]; ok {
			delete(g.moved, c)
			gap = l.merge(gap, c)
		}
	}
	sync := func(had, want []string, kind string, sub, unsub func(context.Context, ...string) error, split bool) {
		var more, less []string
		for _, n := range want {
			if !slices.Contains(had, n) {
				more = append(more, n)
			}
		}
		for _, n := range had {
			if !slices.Contains(want, n) {
				less = append(less, n)
			}
		}
		if len(more) > 0 {
			for _, b := range bySlot(more, split) {
				_ = sub(ctx, b...)
			}
		}
		if len(less) > 0 {
			if g.leaving == nil {
				g.leaving = make(map[string]int)
			}
			for _, n := range less {
				g.leaving["un"+kind+" "+n]++
			}
			for _, b := range bySlot(less, split) {
				_ = unsub(ctx, b...)
			}
		}
	}
	if g.shard {
		sync(sharded, g.sharded, "ssubscribe", ps.SSubscribe, ps.SUnsubscribe, cluster)
	} else {
		sync(channels, g.channels, "subscribe", ps.Subscribe, ps.Unsubscribe, false)
		sync(patterns, g.patterns, "psubscribe", ps.PSubscribe, ps.PUnsubscribe, false)
	}
	return gap
}

// merge adds channel c, lost as l describes, to gap (a new one when nil).
func (l lost) merge(gap *Gap, c string) *Gap {
	if gap == nil {
		gap = &Gap{Reason: l.reason, Since: l.since, Err: l.err}
	}
	if l.since.Before(gap.Since) {
		gap.Since = l.since
	}
	gap.Duration = time.Since(gap.Since)
	gap.ShardedChannels = append(gap.ShardedChannels, c)
	return gap
}

// offline records that the connection of g is down.
func (g *group) offline() {
	g.mu.Lock()
	g.ps = nil
	g.mu.Unlock()
}

// message converts a go-redis message received on a connection of g.
func (g *group) message(m *redis.Message) Message {
	payload := m.Payload
	if m.PayloadSlice != nil {
		payload = strings.Join(m.PayloadSlice, "")
	}
	return Message{Kind: KindMessage, Channel: m.Channel, Pattern: m.Pattern, Sharded: g.shard, Payload: payload}
}

// deliverAll hands early messages and gaps to the consumer; false when ctx is done.
func (s *Subscription) deliverAll(ctx context.Context, msgs []Message) bool {
	for _, m := range msgs {
		ok := false
		if m.Kind == KindGap {
			ok = s.deliverGap(ctx, m.Gap)
		} else {
			ok = s.deliver(ctx, m)
		}
		if !ok {
			return false
		}
	}
	return true
}

// run delivers the messages of one connection, and reconnects it until ctx
// is done. A shard group of a cluster does not reconnect by itself: its
// channels go to the owners of their slots as the cluster then says (the
// node may have failed over), through new groups.
func (s *Subscription) run(ctx context.Context, g *group, ps *redis.PubSub, early []Message) {
	defer s.wg.Done()
	onCluster := g.shard && s.cluster != nil
	channels, patterns, sharded := g.subscriptions()
	log := s.cfg.logger.With("channels", len(channels), "patterns", len(patterns), "sharded", len(sharded), "node", g.node)
	if ps == nil { // a shard group opened by Add or by a move
		for attempts := 1; ps == nil; attempts++ {
			var err error
			ps, early, err = s.connect(ctx, g)
			if err == nil {
				break
			}
			if ps != nil {
				_ = ps.Close()
				ps = nil
			}
			if ctx.Err() != nil {
				return
			}
			if onCluster {
				_, _, names := g.subscriptions()
				log.Debug("pubsub: connection to a node failed", "err", err)
				s.move(g, names, lost{reason: GapReconnect, since: time.Now(), err: err}, "", g.attempts+1)
				<-ctx.Done()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.backoff(attempts)):
			}
		}
	}
	for {
		if !s.deliverAll(ctx, early) {
			_ = ps.Close()
			return
		}
		cause := s.receive(ctx, g, ps)
		g.offline()
		_ = ps.Close()
		if ctx.Err() != nil {
			return
		}
		lostAt := time.Now()
		log.Warn("pubsub: connection lost, reconnecting", "err", cause)
		if m := s.cfg.metrics; m != nil {
			m.ConnectionLost()
		}
		if onCluster {
			_, _, names := g.subscriptions()
			s.move(g, names, lost{reason: GapReconnect, since: lostAt, err: cause}, "", 0)
			<-ctx.Done()
			return
		}
		attempts := 0
		for {
			attempts++
			var err error
			ps, early, err = s.connect(ctx, g)
			if err == nil {
				break
			}
			if ps != nil {
				_ = ps.Close()
			}
			if ctx.Err() != nil {
				return
			}
			delay := s.backoff(attempts)
			log.Debug("pubsub: reconnection failed", "attempt", attempts, "err", err, "retry_in", delay)
			if m := s.cfg.metrics; m != nil {
				m.ConnectFailed()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
		}
		channels, patterns, sharded := g.subscriptions()
		gap := &Gap{
			Reason: GapReconnect, Since: lostAt, Duration: time.Since(lostAt), Err: cause, Attempts: attempts,
			Channels: channels, Patterns: patterns, ShardedChannels: sharded,
		}
		log.Info("pubsub: subscribed again", "down_for", gap.Duration, "attempts", attempts)
		if !s.deliverGap(ctx, gap) {
			_ = ps.Close()
			return
		}
	}
}

// receive reads from ps until the connection fails or ctx is done, and
// returns the cause.
func (s *Subscription) receive(ctx context.Context, g *group, ps *redis.PubSub) error {
	// go-redis does not abandon a blocked read when its context ends:
	// closing the PubSub does.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = ps.Close()
		close(closed)
	})
	defer func() {
		if !stop() {
			<-closed
		}
	}()
	onCluster := g.shard && s.cluster != nil
	pinged := false
	// WithSelfCheck: the tokens published on self; waiting is when the oldest one not yet back was sent (zero
	// when every token came back), tokenPing when a PING was sent because it is late (zero when none).
	self := s.selfCheckChannel(g)
	timeout := s.cfg.healthCheck
	var lastToken, waiting, tokenPing time.Time
	if self != "" {
		timeout = s.cfg.selfCheck
		if h := s.cfg.healthCheck; h > 0 {
			timeout = min(h, timeout)
		}
		lastToken = time.Now() // the connection was just confirmed
	}
	lastHeard := time.Now()
	for {
		if self != "" {
			now := time.Now()
			if !waiting.IsZero() && tokenPing.IsZero() && now.Sub(waiting) > 2*s.cfg.selfCheck {
				// Late: the node may no longer get the publishes, or the link may be slow (a partition, whose
				// bytes TCP still delivers when it heals). A PING answered while the token is missing tells.
				if err := ps.Ping(ctx); err != nil {
					return err
				}
				tokenPing = now
			}
			if now.Sub(lastToken) >= s.cfg.selfCheck {
				lastToken = now
				pctx, cancel := context.WithTimeout(ctx, s.cfg.selfCheck)
				var err error
				if g.shard {
					err = s.client.SPublish(pctx, self, "1").Err()
				} else {
					err = s.client.Publish(pctx, self, "1").Err()
				}
				cancel()
				// A failed PUBLISH says nothing of this connection (the health check watches it).
				if err == nil && waiting.IsZero() {
					waiting = now
				}
			}
		}
		reply, err := ps.ReceiveTimeout(ctx, timeout)
		if slot, addr, ok := movedSlot(err); ok && onCluster {
			// The answer to an SSUBSCRIBE of Add sent to a node that no longer owns the slot.
			s.move(g, g.inSlot(slot), lost{}, addr, 1)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !isTimeout(err) {
				return err
			}
			if s.cfg.healthCheck <= 0 || time.Since(lastHeard) < s.cfg.healthCheck {
				continue // a self-check's wake-up
			}
			if pinged {
				return fmt.Errorf("%w within %v", ErrUnhealthy, s.cfg.healthCheck)
			}
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			pinged = true
			lastHeard = time.Now()
			continue
		}
		pinged = false
		lastHeard = time.Now()
		switch r := reply.(type) {
		case *redis.Message:
			if self != "" && r.Channel == self {
				waiting, tokenPing = time.Time{}, time.Time{}
				continue
			}
			if !s.deliver(ctx, g.message(r)) {
				return ctx.Err()
			}
		case *redis.Pong:
			if !tokenPing.IsZero() && !waiting.IsZero() && waiting.Before(tokenPing) {
				// The node answers this connection, but what was published before the PING did not reach it.
				return fmt.Errorf("%w: a token published on %s more than %v ago did not come back, and the node answered a PING", ErrStale, self, 2*s.cfg.selfCheck)
			}
		case *redis.Subscription:
			ok, gap := g.acknowledge(r.Kind, r.Channel)
			if gap != nil && !s.deliverGap(ctx, gap) {
				return ctx.Err()
			}
			if ok {
				continue
			}
			if onCluster && r.Kind == "sunsubscribe" {
				// The slot moved: Redis ended the subscription; it follows the slot to its new owner.
				s.cfg.logger.Info("pubsub: sharded channel moved", "channel", r.Channel, "from", g.node)
				s.move(g, []string{r.Channel}, lost{reason: GapMoved, since: time.Now(), err: ErrUnsubscribed}, "", 0)
				continue
			}
			return fmt.Errorf("%w: %s %s", ErrUnsubscribed, r.Kind, r.Channel)
		}
	}
}

// acknowledge takes Redis's confirmation of a subscription change made on the
// live connection, and reports false for an unsubscription that nobody
// asked for. A sharded channel that moved to g and is now subscribed comes
// with its gap.
func (g *group) acknowledge(kind, channel string) (bool, *Gap) {
	key := kind + " " + channel
	g.mu.Lock()
	defer g.mu.Unlock()
	if !strings.HasSuffix(kind, "unsubscribe") {
		g.confirmLocked(key)
		if l, ok := g.moved[channel]; ok && kind == "ssubscribe" {
			delete(g.moved, channel)
			return true, l.merge(nil, channel)
		}
		return true, nil
	}
	if g.leaving[key] > 0 {
		if g.leaving[key]--; g.leaving[key] == 0 {
			delete(g.leaving, key)
		}
		return true, nil
	}
	if !slices.Contains(g.sharded, channel) && kind == "sunsubscribe" {
		return true, nil // no longer ours: removed or moved meanwhile
	}
	return false, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// backoff is the delay after the given number of failed attempts.
func (s *Subscription) backoff(attempts int) time.Duration {
	d := s.cfg.minBackoff
	for i := 1; i < attempts && d < s.cfg.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.maxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// deliver hands a message to the consumer according to the overflow
// policy. It returns false when ctx is done.
func (s *Subscription) deliver(ctx context.Context, m Message) bool {
	if s.cfg.overflow == OverflowBlock {
		select {
		case s.out <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if n := s.unsent.Load(); n > 0 {
		gap := &Gap{Reason: GapOverflow, Since: time.Unix(0, s.dropSince.Load()), Dropped: n}
		select {
		case s.out <- Message{Kind: KindGap, Gap: gap}:
			s.unsent.Add(^(n - 1)) // subtract the drops just reported
			if m := s.cfg.metrics; m != nil {
				m.Gap(GapOverflow)
			}
		default:
			s.drop()
			return ctx.Err() == nil
		}
	}
	select {
	case s.out <- m:
	default:
		s.drop()
	}
	return ctx.Err() == nil
}

func (s *Subscription) drop() {
	s.dropped.Add(1)
	if m := s.cfg.metrics; m != nil {
		m.Dropped()
	}
	if s.unsent.Add(1) == 1 { // the first drop since the last report
		s.dropSince.Store(time.Now().UnixNano())
	}
}

// deliverGap hands a reconnection gap to the consumer, waiting for room
// whatever the policy: a gap must not be lost.
func (s *Subscription) deliverGap(ctx context.Context, gap *Gap) bool {
	select {
	case s.out <- Message{Kind: KindGap, Gap: gap}:
		if m := s.cfg.metrics; m != nil {
			m.Gap(gap.Reason)
		}
		return true
	case <-ctx.Done():
		return false
	}
}
