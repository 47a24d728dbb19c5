package redisadapter

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sioredis/sioredis/pubsub"
)

// Metrics receives what an adapter observes, for monitoring (package metrics implements it with Prometheus). Set
// it as the Metrics field of Config, ShardedConfig or StreamsConfig; nil, the default, observes nothing and costs
// one nil check per message. If it also implements pubsub.Metrics, the adapter's subscriptions report to it too.
// Its methods are called from the adapter's goroutines and its callers': they must be safe for concurrent use
// and return quickly. format is FormatClassic, FormatSharded or FormatStreams.
type Metrics interface {
	// MessageSent reports a message written to Redis (PUBLISH, SPUBLISH, XADD).
	MessageSent(format string)
	// Receivers reports how many subscribers a message published with PUBLISH or SPUBLISH reached (Redis'
	// answer, this server's own subscription included when the message is on a channel it reads): 0 is a
	// message no server received.
	Receivers(format string, receivers int)
	// MessageReceived reports a message from another server handed to its namespace.
	MessageReceived(format string)
	// RedisError reports a Redis command of the adapter that failed (a write, or a stream read).
	RedisError(format string)
	// MessagesLost reports a moment when messages may have been lost for this server: a pub/sub gap (Redis
	// away, a slot moved), or one of the stream losses that StreamEntriesLost details.
	MessagesLost(format string)
	// StreamEntriesLost reports stream entries that this server will never hand to its namespaces (a
	// StreamsAdapter), by reason, with how many entries, or 0 when Redis cannot tell (LossReset, and some
	// LossRewound). MessagesLost is reported with it.
	StreamEntriesLost(reason StreamLoss, entries int)
	// NotDurable reports an entry this server wrote to a stream that fewer replicas acknowledged than
	// StreamsConfig.DurableReplicas asks (the Send returned ErrNotDurable).
	NotDurable(format string)
}

// The formats reported to Metrics.
const (
	FormatClassic = "classic"
	FormatSharded = "sharded"
	FormatStreams = "streams"
)

// observer reports to a Metrics, if any, for one format.
type observer struct {
	m      Metrics
	format string
	// unreceivedLogged is when a message published to no subscriber was last logged (Unix nanoseconds), so
	// that an outage logs one line every unreceivedLogEvery, not one per message.
	unreceivedLogged *atomic.Int64
}

func newObserver(m Metrics, format string) observer {
	return observer{m: m, format: format, unreceivedLogged: new(atomic.Int64)}
}

const unreceivedLogEvery = 10 * time.Second

// published reports the answer of a PUBLISH or SPUBLISH on channel (see Metrics.Receivers), and logs a message
// no subscriber received, at most once every unreceivedLogEvery.
func (o observer) published(log *slog.Logger, channel string, receivers int64) {
	if o.m != nil {
		o.m.Receivers(o.format, int(receivers))
	}
	if receivers != 0 {
		return
	}
	now := time.Now().UnixNano()
	last := o.unreceivedLogged.Load()
	if now-last >= int64(unreceivedLogEvery) && o.unreceivedLogged.CompareAndSwap(last, now) {
		log.Warn("redisadapter: published to no subscriber (servers reconnecting to Redis?); logged once every 10 s",
			"format", o.format, "channel", channel)
	}
}

func (o observer) sent(err error) {
	switch {
	case o.m == nil:
	case err != nil:
		o.m.RedisError(o.format)
	default:
		o.m.MessageSent(o.format)
	}
}

func (o observer) received() {
	if o.m != nil {
		o.m.MessageReceived(o.format)
	}
}

func (o observer) failed() {
	if o.m != nil {
		o.m.RedisError(o.format)
	}
}

func (o observer) streamLost(reason StreamLoss, entries int64) {
	if o.m != nil {
		o.m.MessagesLost(o.format)
		o.m.StreamEntriesLost(reason, int(entries))
	}
}

func (o observer) notDurable() {
	if o.m != nil {
		o.m.NotDurable(o.format)
	}
}

func (o observer) lost() {
	if o.m != nil {
		o.m.MessagesLost(o.format)
	}
}

// pubsubOptions returns the options that make the adapter's subscriptions report to m.
func (o observer) pubsubOptions() []pubsub.Option {
	if pm, ok := o.m.(pubsub.Metrics); ok {
		return []pubsub.Option{pubsub.WithMetrics(pm)}
	}
	return nil
}
