package emitter

import (
	"errors"
	"time"
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
// the stream all the same; publishing it again adds a second entry, delivered as a second event.
var ErrNotDurable = errors.New("sioredis: entry not acknowledged by enough replicas")

// WithDurability makes a Streams emitter wait, after each XADD, until replicas replicas have the entry (Redis
// WAIT, on the connection that added it), for timeout at most; fewer replicas in time is an error wrapping
// ErrNotDurable, returned with the Receipt. Replication is asynchronous: without it, an entry acknowledged by a
// master that dies before its replicas have it is gone after the failover, and nobody is told. Concurrent emits
// share one WAIT per round trip. The timeout must stay below the client's ReadTimeout (3 s by default), which
// bounds the reply. Default off (replicas 0), as in Node's adapters; only the Streams mode accepts it.
func WithDurability(replicas int, timeout time.Duration) Option {
	return func(c *config) { c.waitReplicas, c.waitTimeout = replicas, timeout }
}
