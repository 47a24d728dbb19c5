package redisadapter

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/pubsub"
)

// subscriptions keeps one pubsub.Subscription (one subscriber connection) in line with a changing set of members,
// one per namespace, each with its channels and patterns: the first ones are subscribed when the first member is
// added (retried until Redis answers), later ones are added to the same connection, and removed members are
// unsubscribed. One goroutine manages it and one hands what arrives to receive, in order; both end when ctx does.
// Safe for concurrent use.
type subscriptions struct {
	rdb     redis.UniversalClient
	log     *slog.Logger
	obs     observer
	ctx     context.Context
	receive func(pubsub.Message) // every message, on the receiving goroutine
	kick    chan struct{}        // wakes the manager

	mu          sync.Mutex // never held during I/O
	members     map[string]*member
	sub         *pubsub.Subscription
	reconnected chan struct{} // closed and replaced at each resubscription after a gap
}

// subscriptionSelfCheck is the interval of the subscriber connection's pubsub.WithSelfCheck.
const subscriptionSelfCheck = time.Second

// member is one namespace's subscriptions.
type member struct {
	opts       []pubsub.Option
	ready      chan struct{} // closed once Redis has confirmed them
	subscribed bool
	removed    bool
}

// startSubscriptions starts the manager, tracked by wg.
func startSubscriptions(ctx context.Context, wg *sync.WaitGroup, rdb redis.UniversalClient, log *slog.Logger, obs observer, receive func(pubsub.Message)) *subscriptions {
	s := &subscriptions{rdb: rdb, log: log, obs: obs, ctx: ctx, receive: receive, kick: make(chan struct{}, 1),
		members: make(map[string]*member), reconnected: make(chan struct{})}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.manage(wg)
	}()
	return s
}

// add subscribes key's channels and patterns, in the background.
func (s *subscriptions) add(key string, opts ...pubsub.Option) {
	s.mu.Lock()
	m := &member{opts: opts, ready: make(chan struct{})}
	if old := s.members[key]; old != nil && old.removed && old.subscribed {
		// Removed and added again before the manager ran: still subscribed.
		m.subscribed = true
		close(m.ready)
	}
	s.members[key] = m
	s.mu.Unlock()
	s.wake()
}

// remove unsubscribes key's channels and patterns, in the background.
func (s *subscriptions) remove(key string) {
	s.mu.Lock()
	if m := s.members[key]; m != nil {
		m.removed = true
	}
	s.mu.Unlock()
	s.wake()
}

func (s *subscriptions) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// waitReady waits until Redis has confirmed the subscriptions of every member added so far, or ctx ends.
func (s *subscriptions) waitReady(ctx context.Context) error {
	s.mu.Lock()
	var waits []chan struct{}
	for _, m := range s.members {
		if !m.removed {
			waits = append(waits, m.ready)
		}
	}
	s.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.ctx.Done():
			return ErrClosed
		}
	}
	return nil
}

// reconnectedChan returns the channel closed at the next resubscription after a loss of the connection.
func (s *subscriptions) reconnectedChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reconnected
}

// manage runs sync each time members change, retrying with backoff while Redis refuses, until ctx ends; then it
// closes the subscription.
func (s *subscriptions) manage(wg *sync.WaitGroup) {
	defer func() {
		s.mu.Lock()
		sub := s.sub
		s.mu.Unlock()
		if sub != nil {
			_ = sub.Close()
		}
	}()
	for delay := 100 * time.Millisecond; ; {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
		}
		for s.sync(wg) != nil {
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, 5*time.Second)
		}
		delay = 100 * time.Millisecond
	}
}

// sync subscribes the members not yet subscribed and unsubscribes the removed ones.
func (s *subscriptions) sync(wg *sync.WaitGroup) error {
	s.mu.Lock()
	sub := s.sub
	var add, remove []*member
	for key, m := range s.members {
		switch {
		case m.removed:
			delete(s.members, key)
			if m.subscribed {
				remove = append(remove, m)
			}
		case !m.subscribed:
			add = append(add, m)
		}
	}
	s.mu.Unlock()
	for _, m := range remove {
		if err := sub.Remove(s.ctx, m.opts...); err != nil && !errors.Is(err, pubsub.ErrStopped) {
			s.log.Warn("redisadapter: unsubscribing", "err", err)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if sub == nil {
		var opts []pubsub.Option
		for _, m := range add {
			opts = append(opts, m.opts...)
		}
		// The self-check finds a connection that publishes no longer reach (a master demoted by a planned
		// Sentinel failover keeps its subscribers and answers their PINGs), at the cost of one PUBLISH a second.
		opts = append(opts, pubsub.WithLogger(s.log), pubsub.WithSelfCheck(subscriptionSelfCheck))
		opts = append(opts, s.obs.pubsubOptions()...)
		created, err := pubsub.Subscribe(s.ctx, s.rdb, opts...)
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Warn("redisadapter: subscribing", "err", err)
			}
			return err
		}
		s.mu.Lock()
		s.sub = created
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.deliver(created)
		}()
	} else {
		for _, m := range add {
			if err := sub.Add(s.ctx, m.opts...); err != nil {
				return err
			}
		}
	}
	s.mu.Lock()
	for _, m := range add {
		if !m.removed {
			m.subscribed = true
			close(m.ready)
		}
	}
	s.mu.Unlock()
	return nil
}

// deliver hands what arrives to receive, in order, until the subscription stops; gaps are logged and reported
// through reconnected.
func (s *subscriptions) deliver(sub *pubsub.Subscription) {
	for m := range sub.C() {
		if m.Kind == pubsub.KindGap {
			s.log.Warn("redisadapter: messages may have been lost", "reason", m.Gap.Reason.String(),
				"down_for", m.Gap.Duration, "err", m.Gap.Err)
			s.obs.lost()
			s.mu.Lock()
			close(s.reconnected)
			s.reconnected = make(chan struct{})
			s.mu.Unlock()
			continue
		}
		s.receive(m)
	}
}

// linkSet is a transport's open links, by namespace. Safe for concurrent use.
type linkSet[L comparable] struct {
	mu sync.Mutex
	m  map[string]L
}

func (s *linkSet[L]) put(nsp string, l L) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]L)
	}
	s.m[nsp] = l
}

func (s *linkSet[L]) get(nsp string) (L, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.m[nsp]
	return l, ok
}

// drop forgets l, unless another link of nsp took its place.
func (s *linkSet[L]) drop(nsp string, l L) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[nsp] == l {
		delete(s.m, nsp)
	}
}

func (s *linkSet[L]) all() []L {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]L, 0, len(s.m))
	for _, l := range s.m {
		out = append(out, l)
	}
	return out
}

// closeLink ends a link's handler calls, forgets it and unsubscribes its namespace.
func closeLink[L comparable](g *handlerGate, links *linkSet[L], subs *subscriptions, nsp string, l L) {
	g.close()
	links.drop(nsp, l)
	subs.remove(nsp)
}
