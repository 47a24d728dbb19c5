package emitter

import (
	"context"
	"fmt"
	"time"

	"github.com/sioredis/sioredis/internal/durable"
	"github.com/sioredis/sioredis/protocol"
)

// Receipt is what Redis answered to one message an Emitter published: the only signal of a delivery Redis gives.
//
// A pub/sub format (Classic, Legacy, Sharded) keeps nothing: a message reaches the servers subscribed at the
// moment it is published and no other. Receivers says how many that was, so a caller can tell "published to
// nobody" (a wrong prefix, namespace or mode; or every server away, resubscribing after a Redis outage) and
// "published to fewer servers than the cluster has" from a delivery, and publish again (Socket.IO clients get the
// repeat as a second event: give messages an id and drop repeats). In the Streams format, entries wait in the
// stream for their readers; what can lose them is a failover before a replica has them, which WithDurability
// narrows.
type Receipt struct {
	// Channel is the channel the message was published on, or the stream key it was added to.
	Channel string
	// Receivers is the answer of PUBLISH or SPUBLISH: the subscribers that received the message. Each server of
	// the cluster counts once per subscription matching the channel (a classic server once per namespace it
	// serves, through its pattern); other subscribers count too (a monitor). SPUBLISH counts the subscribers of
	// the shard channel on the node owning its slot. -1 for XADD (Streams), which has no receivers.
	Receivers int
	// EntryID is the id Redis gave the stream entry (Streams), "" otherwise.
	EntryID string
	// Replicas is the answer of WAIT with WithDurability: the replicas that acknowledged the entry. -1 when
	// durability was not asked.
	Replicas int
}

// ErrNotDurable reports an entry that the master accepted but fewer replicas than WithDurability asks for
// acknowledged within its timeout: a failover of the master before they have it would lose it. The entry is in
// the stream all the same; publishing it again adds a second entry, delivered as a second event. It is the value
// of redisadapter.ErrNotDurable too.
var ErrNotDurable = durable.ErrNotDurable

// WithDurability makes a Streams emitter wait, after each XADD, until replicas replicas have the entry (Redis
// WAIT, on the connection that added it), for timeout at most; fewer replicas in time is an error wrapping
// ErrNotDurable, returned with the Receipt. Replication is asynchronous: without it, an entry acknowledged by a
// master that dies before its replicas have it is gone after the failover, and nobody is told. Concurrent emits
// share one WAIT per round trip. The timeout must stay below the client's ReadTimeout (3 s by default), which
// bounds the reply. Default off (replicas 0), as in Node's adapters; only the Streams mode accepts it.
func WithDurability(replicas int, timeout time.Duration) Option {
	return func(c *config) { c.waitReplicas, c.waitTimeout = replicas, timeout }
}

// Probe publishes a message that no server acts on where every server of the emitter's namespace reads (see
// protocol.ProbeNamespace), and returns Redis' answer: Receivers counts the servers subscribed to the namespace
// right now, as a broadcast of this emitter would reach them, plus the other subscribers of its channel (a
// monitor). A publisher that got a Receipt with fewer receivers than usual can probe until they are back before
// it publishes again, without sending its message twice to the servers that have it. A Redis Cluster counts
// only the subscribers connected to the node a PUBLISH ran on: in the classic format there, the count is not
// the cluster's (use the sharded format). The Streams mode has nothing to count: ErrUnsupported.
func (e *Emitter) Probe(ctx context.Context) (Receipt, error) {
	if e.err != nil {
		return noReceipt, e.err
	}
	cfg := e.cfg
	op := protocol.Op{Kind: protocol.OpBroadcast, Nsp: protocol.ProbeNamespace, Event: "probe"}
	c := commandPool.Get().(*command)
	defer func() {
		c.payload = nil
		commandPool.Put(c)
	}()
	var err error
	switch cfg.mode {
	case Classic, Legacy:
		c.verb = verbPublish
		c.channel = protocol.BroadcastChannel(cfg.prefix, e.nsp, []string{protocol.ProbeRoom})
		c.payload, err = protocol.AppendClassicBroadcast(nil, protocol.EmitterUID, &op, cfg.mode == Legacy)
	case Sharded:
		c.verb = verbSPublish
		c.channel = protocol.ShardedChannel(cfg.prefix, e.nsp)
		c.payload, err = protocol.AppendClusterMessage(nil, protocol.EmitterUID, &op)
	default:
		return noReceipt, fmt.Errorf("%w: a probe in the %s mode (stream entries have no receivers)", ErrUnsupported, cfg.mode)
	}
	if err != nil {
		return noReceipt, err
	}
	c.err, c.receivers, c.id, c.replicas = nil, -1, "", -1
	if err := cfg.pipe.do(ctx, c); err != nil {
		return noReceipt, fmt.Errorf("sioredis: probe on %s: %w", c.channel, err)
	}
	return Receipt{Channel: c.channel, Receivers: int(c.receivers), Replicas: -1}, nil
}
