// Package pubsub receives Redis Pub/Sub messages robustly, through a
// go-redis v9 UniversalClient (a standalone, Sentinel or Cluster client).
//
// Subscribe returns only once Redis has confirmed every channel, pattern and
// sharded channel, so nothing published after it returns can be missed; the
// confirmations themselves are never delivered. Messages then arrive on the
// channel returned by Subscription.C while the caller's goroutine does other
// work:
//
//	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("news"), pubsub.Patterns("chat.*"))
//	if err != nil { ... }
//	defer sub.Close()
//	for m := range sub.C() {
//		switch m.Kind {
//		case pubsub.KindMessage:
//			handle(m.Channel, m.Payload)
//		case pubsub.KindGap:
//			resync(m.Gap) // messages may have been lost
//		}
//	}
//
// The channel is closed when the subscription stops: when the context given
// to Subscribe is done, or when Close is called. No stop message is needed,
// and no goroutine is left behind once C is closed (Close waits for that).
//
// # Lost connections
//
// Pub/Sub does not keep messages: whatever is published while a subscriber
// is disconnected is lost for it. When the connection fails (Redis restarted,
// network error, or no answer to a health-check PING), the subscription
// reconnects with exponential backoff, subscribes again to everything, waits
// for the confirmations, and then delivers a Message of kind KindGap whose
// Gap says when the connection was lost, for how long, and why. Messages
// delivered after the gap were published after the re-subscription.
//
// # Slow consumers
//
// Messages wait in a buffer of WithBufferSize entries (default 256). What
// happens when it is full is chosen with WithOverflow:
//
//   - OverflowBlock (default): the subscription stops reading from Redis
//     until the consumer catches up. Nothing is dropped by this package, but
//     Redis buffers the messages meanwhile and disconnects a subscriber whose
//     buffer exceeds its client-output-buffer-limit for pubsub (32 MB hard,
//     8 MB for 60 s by default). The subscription then reconnects and reports
//     a gap, as for any lost connection.
//   - OverflowDrop: messages that do not fit are dropped and counted
//     (Subscription.Dropped). Before the next message that fits, a gap of
//     reason GapOverflow says how many were dropped.
//
// Gaps caused by reconnections are never dropped, whatever the policy.
//
// # Redis Cluster
//
// Channels and patterns share one connection to any node: PUBLISH reaches
// every node of a cluster. Sharded channels share one connection per master
// that owns some of them (SSUBSCRIBE and SUNSUBSCRIBE are sent one slot at a
// time, as Redis requires), so a subscription holds at most one connection
// per master whatever the number of its sharded channels; Add opens the
// connection of a master with its first channel and Remove closes it with
// its last. When a slot moves to another master, Redis ends the
// subscriptions of its channels (sunsubscribe): they are subscribed again on
// the new owner, read from the cluster (a MOVED answer is followed too), and
// a gap of reason GapMoved names them once they are. When the connection to
// a master fails, its channels go to the owners the cluster then names
// (after a failover, the new master) and a GapReconnect gap follows. A
// message is published on one node only, so none is delivered twice.
package pubsub
