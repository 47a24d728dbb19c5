package engineio

// Metrics receives what a Server observes, for monitoring (package metrics implements it with Prometheus). Set
// it as Config.Metrics; nil, the default, observes nothing and costs one nil check per event. Its methods are
// called from many goroutines at once, some holding a connection's lock: they must be safe for concurrent use,
// return quickly and never call back into the Server.
//
// This is the style of every observation hook of sioredis (engineio, socketio, redisadapter, emitter, pubsub):
// an interface in the observed package's config, nil by default, whose arguments are bounded (a transport, a
// reason, a count), never a session, socket or room id.
type Metrics interface {
	// ConnOpened reports a new connection (a successful handshake) on its first transport.
	ConnOpened(transport string)
	// ConnUpgraded reports a connection that moved from one transport to another.
	ConnUpgraded(from, to string)
	// ConnClosed reports the end of a connection, on the transport it had last, and why.
	ConnClosed(transport string, reason CloseReason)
	// MessageReceived reports one message received from a client, and its payload size in bytes.
	MessageReceived(bytes int)
	// MessagesSent reports n messages queued for one client by Send, and their payload size in bytes.
	MessagesSent(n, bytes int)
	// VolatileDropped reports n volatile messages dropped because their client was not ready for them.
	VolatileDropped(n int)
}
