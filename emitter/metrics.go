package emitter

// Metrics receives what an Emitter observes, for monitoring (package metrics implements it with Prometheus). Give
// it with WithMetrics; without, nothing is observed, at the cost of one nil check per publish. Its methods are
// called from the goroutines that emit, at once: they must be safe for concurrent use and return quickly.
type Metrics interface {
	// Published reports one message written to Redis in mode (an event or a cluster command), its size in
	// bytes (base64 counted in Streams mode), and its Receipt's Receivers (-1 in Streams mode): 0 is a message
	// no server received.
	Published(mode Mode, bytes, receivers int)
	// PublishFailed reports a message that Redis refused or that did not reach it (its Emit returned the error).
	// Input errors (ErrReservedEvent, ErrTooLarge...) are not reported: nothing was sent.
	PublishFailed(mode Mode)
	// NotDurable reports an entry published without the replicas WithDurability asks for (ErrNotDurable).
	NotDurable(mode Mode)
	// Batch reports the number of commands one round trip to Redis carried (1 without concurrent emits, or
	// with WithAutoPipelining(false)).
	Batch(size int)
}

// WithMetrics makes the Emitter, and every emitter derived from it, report to m. Default none.
func WithMetrics(m Metrics) Option { return func(c *config) { c.metrics = m } }
