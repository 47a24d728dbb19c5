package pubsub

// Metrics receives what a Subscription observes, for monitoring (package metrics implements it with Prometheus).
// Give it with WithMetrics; without, nothing is observed, at the cost of one nil check per event. Its methods are
// called from the Subscription's goroutines: they must be safe for concurrent use and return quickly.
type Metrics interface {
	// ConnectionLost reports a subscribed connection that failed (Redis away, a health check unanswered).
	ConnectionLost()
	// ConnectFailed reports a connection or subscription attempt that failed (the next one follows the backoff).
	ConnectFailed()
	// Gap reports a gap handed to the consumer (a KindGap message), by reason.
	Gap(reason GapReason)
	// Dropped reports a message dropped by the OverflowDrop policy.
	Dropped()
}

// WithMetrics makes the Subscription report to m. Default none.
func WithMetrics(m Metrics) Option { return func(c *config) { c.metrics = m } }
