package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
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
	// ErrUnsupportedClient is returned by Subscribe for a *redis.Ring,
	// which spreads channels over independent servers.
	ErrUnsupportedClient = errors.New("pubsub: Ring clients are not supported")
	// ErrUnsubscribed is the cause of a gap when Redis ended a subscription
	// by itself, as it does for sharded channels whose slot moved to
	// another node.
	ErrUnsubscribed = errors.New("pubsub: Redis ended the subscription")
	// ErrNotAddable is returned by Add and Remove for sharded channels, and
	// for a Subscription that was created without any channel or pattern:
	// only the connection of the channels and patterns changes its set.
	ErrNotAddable = errors.New("pubsub: only channels and patterns can be added to or removed from a subscription")
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
)

// String returns "reconnect" or "overflow".
func (r GapReason) String() string {
	switch r {
	case GapReconnect:
		return "reconnect"
	case GapOverflow:
		return "overflow"
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
	confirmTimeout              time.Duration
	logger                      *slog.Logger
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
	cfg    config
	client redis.UniversalClient
	parent context.Context
	cancel context.CancelFunc
	out    chan Message
	done   chan struct{}
	wg     sync.WaitGroup

	plain *group // the connection of the channels and patterns; nil without any

	stopped   atomic.Bool // set before out is closed
	dropped   atomic.Uint64
	unsent    atomic.Uint64 // drops not yet reported by a gap
	dropSince atomic.Int64  // UnixNano of the first unreported drop
}

// group is the set of subscriptions that share one connection. The sharded
// channels of a group never change; its channels and patterns change with
// Add and Remove, under mu.
type group struct {
	sharded []string

	mu       sync.Mutex
	channels []string
	patterns []string
	ps       *redis.PubSub              // the connection while it is up; nil while (re)connecting
	waiting  map[string][]chan struct{} // "subscribe ch" / "psubscribe p" -> Add calls waiting for Redis's confirmation
	leaving  map[string]int             // "unsubscribe ch" / "punsubscribe p" -> confirmations of Remove still expected
}

// subscriptions returns a copy of the channels and patterns of g.
func (g *group) subscriptions() (channels, patterns []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.channels), slices.Clone(g.patterns)
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
	var groups []*group
	var plain *group
	if len(cfg.channels)+len(cfg.patterns) > 0 {
		plain = &group{channels: slices.Clone(cfg.channels), patterns: slices.Clone(cfg.patterns)}
		groups = append(groups, plain)
	}
	if _, isCluster := client.(*redis.ClusterClient); isCluster {
		// One connection per sharded channel: each goes to the master of
		// its slot, and go-redis re-subscribes all the sharded channels of
		// a connection in a single command, which must not cross slots.
		for _, ch := range cfg.sharded {
			groups = append(groups, &group{sharded: []string{ch}})
		}
	} else if len(cfg.sharded) > 0 {
		groups = append(groups, &group{sharded: cfg.sharded})
	}

	lifeCtx, cancel := context.WithCancel(ctx)
	s := &Subscription{
		cfg:    cfg,
		client: client,
		parent: ctx,
		cancel: cancel,
		out:    make(chan Message, cfg.bufferSize),
		done:   make(chan struct{}),
		plain:  plain,
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
	for i, g := range groups {
		s.wg.Add(1)
		go s.run(lifeCtx, g, conns[i].ps, conns[i].early)
	}
	go func() {
		s.wg.Wait()
		s.stopped.Store(true)
		close(s.out)
		cancel()
		close(s.done)
	}()
	return s, nil
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

// Add subscribes the connection of the subscription's channels and patterns
// to more of them (Channels and Patterns options; others are refused with
// ErrNotAddable), and returns once Redis has confirmed them, as Subscribe
// does: nothing published on them afterwards is missed. Those already
// subscribed are left as they are. While the connection is down, they are
// subscribed with the others at the reconnection, and Add waits for it. When
// ctx ends first, the error wraps ctx.Err() and the subscriptions stay
// requested (Remove withdraws them).
func (s *Subscription) Add(ctx context.Context, opts ...Option) error {
	channels, patterns, err := s.changeOf(opts)
	if err != nil {
		return err
	}
	g := s.plain
	g.mu.Lock()
	if g.waiting == nil {
		g.waiting = make(map[string][]chan struct{})
	}
	var waits []chan struct{}
	add := func(list *[]string, kind string, names []string) (added []string) {
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
			waits = append(waits, w)
		}
		return added
	}
	newChannels := add(&g.channels, "subscribe", channels)
	newPatterns := add(&g.patterns, "psubscribe", patterns)
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
	g.mu.Unlock()
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

// Remove unsubscribes the connection of the subscription's channels and
// patterns from some of them (Channels and Patterns options; others are
// refused with ErrNotAddable). It does not wait for Redis: a message already
// on its way may still be delivered.
func (s *Subscription) Remove(ctx context.Context, opts ...Option) error {
	channels, patterns, err := s.changeOf(opts)
	if err != nil {
		return err
	}
	g := s.plain
	g.mu.Lock()
	defer g.mu.Unlock()
	remove := func(list *[]string, kind string, names []string) (removed []string) {
		for _, n := range names {
			if i := slices.Index(*list, n); i >= 0 {
				*list = slices.Delete(*list, i, i+1)
				removed = append(removed, n)
				g.confirmLocked(kind + " " + n) // an Add still waiting returns
			}
		}
		return removed
	}
	goneChannels := remove(&g.channels, "subscribe", channels)
	gonePatterns := remove(&g.patterns, "psubscribe", patterns)
	if g.ps == nil {
		return nil // the reconnection subscribes what is left
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
	return nil
}

// changeOf returns the channels and patterns named by the options of Add or
// Remove.
func (s *Subscription) changeOf(opts []Option) (channels, patterns []string, err error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if len(c.sharded) > 0 || s.plain == nil {
		return nil, nil, ErrNotAddable
	}
	if s.stopped.Load() {
		return nil, nil, ErrStopped
	}
	return c.channels, c.patterns, nil
}

// connect opens a connection for g, subscribes and waits for every
// confirmation. Messages that arrive meanwhile (on subscriptions already
// confirmed) are returned, to be delivered first. On error the returned
// PubSub, if any, must be closed.
func (s *Subscription) connect(ctx context.Context, g *group) (*redis.PubSub, []Message, error) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.confirmTimeout)
	defer cancel()
	ps := s.client.Subscribe(cctx) // no channels: no I/O yet
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
	channels, patterns := g.subscriptions()
	pending := make(map[string]bool)
	for _, c := range channels {
		pending["subscribe "+c] = true
	}
	for _, p := range patterns {
		pending["psubscribe "+p] = true
	}
	for _, c := range g.sharded {
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
	if len(g.sharded) > 0 {
		if err := ps.SSubscribe(cctx, g.sharded...); err != nil {
			return fail(err)
		}
	}
	var early []Message
	for len(pending) > 0 {
		reply, err := ps.Receive(cctx)
		if err != nil {
			return fail(err)
		}
		switch r := reply.(type) {
		case *redis.Subscription:
			delete(pending, r.Kind+" "+r.Channel)
		case *redis.Message:
			early = append(early, g.message(r))
		}
	}
	g.online(ctx, ps, channels, patterns)
	return ps, early, nil
}

// online records ps as the connection of g, subscribed to channels and
// patterns, and brings it up to date with what Add and Remove changed
// meanwhile (their confirmations come to receive).
func (g *group) online(ctx context.Context, ps *redis.PubSub, channels, patterns []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ps = ps
	g.leaving = nil
	for _, c := range channels {
		g.confirmLocked("subscribe " + c)
	}
	for _, p := range patterns {
		g.confirmLocked("psubscribe " + p)
	}
	sync := func(had, want []string, kind string, sub, unsub func(context.Context, ...string) error) {
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
			_ = sub(ctx, more...)
		}
		if len(less) > 0 {
			if g.leaving == nil {
				g.leaving = make(map[string]int)
			}
			for _, n := range less {
				g.leaving["un"+kind+" "+n]++
			}
			_ = unsub(ctx, less...)
		}
	}
	if len(g.sharded) == 0 {
		sync(channels, g.channels, "subscribe", ps.Subscribe, ps.Unsubscribe)
		sync(patterns, g.patterns, "psubscribe", ps.PSubscribe, ps.PUnsubscribe)
	}
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
	return Message{Kind: KindMessage, Channel: m.Channel, Pattern: m.Pattern, Sharded: len(g.sharded) > 0, Payload: payload}
}

// run delivers the messages of one connection, and reconnects it until ctx
// is done.
func (s *Subscription) run(ctx context.Context, g *group, ps *redis.PubSub, early []Message) {
	defer s.wg.Done()
	channels, patterns := g.subscriptions()
	log := s.cfg.logger.With("channels", len(channels), "patterns", len(patterns), "sharded", g.sharded)
	for {
		for _, m := range early {
			if !s.deliver(ctx, m) {
				_ = ps.Close()
				return
			}
		}
		cause := s.receive(ctx, g, ps)
		g.offline()
		_ = ps.Close()
		if ctx.Err() != nil {
			return
		}
		lost := time.Now()
		log.Warn("pubsub: connection lost, reconnecting", "err", cause)
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
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
		}
		channels, patterns := g.subscriptions()
		gap := &Gap{
			Reason: GapReconnect, Since: lost, Duration: time.Since(lost), Err: cause, Attempts: attempts,
			Channels: channels, Patterns: patterns, ShardedChannels: slices.Clone(g.sharded),
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
	pinged := false
	for {
		reply, err := ps.ReceiveTimeout(ctx, s.cfg.healthCheck)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !isTimeout(err) {
				return err
			}
			if pinged {
				return fmt.Errorf("%w within %v", ErrUnhealthy, s.cfg.healthCheck)
			}
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			pinged = true
			continue
		}
		pinged = false
		switch r := reply.(type) {
		case *redis.Message:
			if !s.deliver(ctx, g.message(r)) {
				return ctx.Err()
			}
		case *redis.Subscription:
			if !g.acknowledge(r.Kind, r.Channel) {
				return fmt.Errorf("%w: %s %s", ErrUnsubscribed, r.Kind, r.Channel)
			}
		}
	}
}

// acknowledge takes Redis's confirmation of a subscription change made on the
// live connection, and reports false for an unsubscription that nobody
// asked for.
func (g *group) acknowledge(kind, channel string) bool {
	key := kind + " " + channel
	g.mu.Lock()
	defer g.mu.Unlock()
	if !strings.HasSuffix(kind, "unsubscribe") {
		g.confirmLocked(key)
		return true
	}
	if g.leaving[key] > 0 {
		if g.leaving[key]--; g.leaving[key] == 0 {
			delete(g.leaving, key)
		}
		return true
	}
	return false
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
	if s.unsent.Add(1) == 1 { // the first drop since the last report
		s.dropSince.Store(time.Now().UnixNano())
	}
}

// deliverGap hands a reconnection gap to the consumer, waiting for room
// whatever the policy: a gap must not be lost.
func (s *Subscription) deliverGap(ctx context.Context, gap *Gap) bool {
	select {
	case s.out <- Message{Kind: KindGap, Gap: gap}:
		return true
	case <-ctx.Done():
		return false
	}
}
