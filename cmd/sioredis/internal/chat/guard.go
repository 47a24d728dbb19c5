package chat

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sioredis/sioredis/pubsub"
	"github.com/sioredis/sioredis/redisadapter"
)

// deliveryGuard is the relay's rule for the pub/sub formats, where Redis keeps nothing: a message published while
// a server is away (resubscribing after a Redis restart or failover) never reaches its clients, and PUBLISH's
// answer, the number of subscribers that received it, is the only sign of that.
//
// The rule. The guard remembers how many subscribers a message reached while the cluster was whole (expected).
// A message that reached fewer is short:
//   - during a Redis incident (this process lost its own subscription, or a publish or probe failed, in the
//     last troubleWindow; or this process's own server is not subscribed where the publishes go), the servers
//     are coming back: the relay holds the message, probes (emitter.Probe,
//     which no server acts on) until the count is back, and publishes it again — the servers that had it get it
//     twice, and pages drop the repeat by id. It waits ClusterWait at most: then it publishes once more for
//     whoever is back, reports the others as not reached, and takes the new count as the cluster's;
//   - with Redis healthy, a server left (stopped, restarted, cut off from Redis): holding would delay everyone
//     for nothing, so the guard reports the short publish and takes the new count at once; it does not report
//     a drop that instances of the chat explain by announcing their planned stop (relay.serversLeft).
//
// Every message that reached fewer servers than expected and was not published again to all of them is logged
// and counted (Metrics.PublishShort), so a loss the rule cannot prevent is seen. Only the relay's goroutine uses
// a guard, except trouble, which the adapter's goroutines mark.
type deliveryGuard struct {
	probe func(ctx context.Context) (int, error)
	// count, when not nil, replaces PUBLISH's answer as the receivers of a publish (the classic format on a Redis
	// Cluster, where PUBLISH counts one node's subscribers): it is asked after each publish.
	count func(ctx context.Context) (int, error)
	// present reports whether this process's own server is subscribed on the Redis that publishes reach (nil:
	// not known). Its subscription missing there is a Redis incident even when nothing failed: a planned
	// failover leaves subscribers on the demoted master, which still answers them.
	present func(ctx context.Context) (bool, error)
	// left returns how many other instances of the chat announced a planned stop (relay.serversLeft); nil: none
	// can. A drop in the count that they explain is no loss.
	left     func() int
	leftSeen int           // the announcements already taken into account
	maxWait  time.Duration // Config.ClusterWait
	log      *slog.Logger
	trouble  *troubleClock
	metrics  guardMetrics

	expected int // subscribers a publish reached while the cluster was whole
}

// guardMetrics receives the guard's counts (Metrics.PublishHeld and Metrics.PublishShort), if any.
type guardMetrics interface {
	PublishHeld()
	PublishShort(missing int)
}

// troubleWindow is how long after a sign of trouble with Redis a short publish is taken for servers coming back
// rather than a server gone.
const troubleWindow = 30 * time.Second

// The probe's pace while a message is held: every probePoll at first, then slower, up to maxProbePoll.
const (
	probePoll    = 50 * time.Millisecond
	maxProbePoll = 500 * time.Millisecond
)

// verdict is what the guard makes of one publish.
type verdict int

const (
	delivered verdict = iota // reached as many subscribers as expected (or more)
	hold                     // short during a Redis incident: wait for the servers, publish again
	short                    // short with Redis healthy: reported, not held
)

// judge returns the verdict on a publish that reached receivers subscribers, and adjusts expected: up to any
// larger count, down to a short count when it is not held.
func (g *deliveryGuard) judge(ctx context.Context, receivers int) verdict {
	if receivers >= g.expected {
		g.expected = receivers
		return delivered
	}
	if g.trouble.recent(troubleWindow) {
		return hold
	}
	if g.present != nil {
		if here, err := g.present(ctx); err != nil || !here {
			g.trouble.mark()
			return hold
		}
	}
	if g.left != nil {
		if n := g.left(); n > g.leftSeen {
			planned := n - g.leftSeen
			g.leftSeen = n
			if g.expected-receivers <= planned {
				g.log.Info("chat: fewer servers after a planned stop of another instance", "receivers", receivers, "before", g.expected)
				g.expected = receivers
				return short
			}
		}
	}
	g.reportShort(receivers, "a server left the cluster (stopped, restarted or cut off from Redis)")
	g.expected = receivers
	return short
}

func (g *deliveryGuard) reportShort(receivers int, why string) {
	missing := g.expected - receivers
	g.log.Warn("chat: message published to fewer servers than the cluster had; their clients miss it", "receivers", receivers,
		"expected", g.expected, "why", why)
	if g.metrics != nil {
		g.metrics.PublishShort(missing)
	}
}

// waitForServers probes until expected subscribers are back (true) or deadline passes (false); it returns
// ctx's error when ctx ends first.
func (g *deliveryGuard) waitForServers(ctx context.Context, deadline time.Time) (bool, error) {
	pause := probePoll
	for {
		t := time.NewTimer(min(pause, max(time.Until(deadline), 0)))
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
		n, err := g.probe(ctx)
		switch {
		case err != nil:
			g.trouble.mark()
		case n >= g.expected:
			return true, nil
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		pause = min(2*pause, maxProbePoll)
	}
}

// troubleClock records the last sign of trouble with Redis. Safe for concurrent use.
type troubleClock struct {
	last atomic.Int64 // Unix nanoseconds; 0: never
}

func (c *troubleClock) mark() { c.last.Store(time.Now().UnixNano()) }

func (c *troubleClock) recent(d time.Duration) bool {
	last := c.last.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < d
}

// troubleWatch is the Metrics of the App's cluster transport: it marks the trouble clock when the transport's
// own subscription is lost or fails, or a Redis command of the transport fails, and passes every observation on
// to the App's metrics, if any.
type troubleWatch struct {
	clock *troubleClock
	next  redisadapter.Metrics // nil: none
}

var (
	_ redisadapter.Metrics = troubleWatch{}
	_ pubsub.Metrics       = troubleWatch{}
)

func (w troubleWatch) MessageSent(format string) {
	if w.next != nil {
		w.next.MessageSent(format)
	}
}

func (w troubleWatch) Receivers(format string, n int) {
	if w.next != nil {
		w.next.Receivers(format, n)
	}
}

func (w troubleWatch) MessageReceived(format string) {
	if w.next != nil {
		w.next.MessageReceived(format)
	}
}

func (w troubleWatch) RedisError(format string) {
	w.clock.mark()
	if w.next != nil {
		w.next.RedisError(format)
	}
}

func (w troubleWatch) MessagesLost(format string) {
	w.clock.mark()
	if w.next != nil {
		w.next.MessagesLost(format)
	}
}

func (w troubleWatch) NotDurable(format string) {
	if w.next != nil {
		w.next.NotDurable(format)
	}
}

func (w troubleWatch) StreamEntriesLost(reason redisadapter.StreamLoss, entries int) {
	if w.next != nil { // MessagesLost came with it
		w.next.StreamEntriesLost(reason, entries)
	}
}

func (w troubleWatch) ConnectionLost() {
	w.clock.mark()
	if pm, ok := w.next.(pubsub.Metrics); ok {
		pm.ConnectionLost()
	}
}

func (w troubleWatch) ConnectFailed() {
	w.clock.mark()
	if pm, ok := w.next.(pubsub.Metrics); ok {
		pm.ConnectFailed()
	}
}

func (w troubleWatch) Gap(reason pubsub.GapReason) {
	w.clock.mark()
	if pm, ok := w.next.(pubsub.Metrics); ok {
		pm.Gap(reason)
	}
}

func (w troubleWatch) Dropped() {
	if pm, ok := w.next.(pubsub.Metrics); ok {
		pm.Dropped()
	}
}
