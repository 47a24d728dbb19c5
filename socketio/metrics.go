package socketio

// Metrics receives what a Server observes of Socket.IO, for monitoring (package metrics implements it with
// Prometheus); the Engine.IO layer below has its own, engineio.Config.Metrics. Set it as Config.Metrics; nil, the
// default, observes nothing and costs one nil check per event. Its methods are called from many goroutines at
// once, some holding a namespace's lock: they must be safe for concurrent use, return quickly and never call back
// into the Server. Arguments are bounded: no namespace, socket or room names.
type Metrics interface {
	// NamespaceCreated and NamespaceRemoved report a namespace made (the main one, Of, or a dynamic child) and a
	// dynamic namespace removed once empty (see Config.ChildNamespaceCleanupDelay).
	NamespaceCreated()
	NamespaceRemoved()
	// SocketConnected and SocketDisconnected report a socket joining and leaving a namespace, and why it left.
	SocketConnected()
	SocketDisconnected(reason DisconnectReason)
	// RoomCreated and RoomDeleted report a room that got its first member and one that lost its last, each
	// socket's own room (its id) excepted.
	RoomCreated()
	RoomDeleted()
	// PacketReceived reports a packet received from a client, by type.
	PacketReceived(t PacketType)
	// PacketSent reports a packet (an event, or an acknowledgement) queued for one client.
	PacketSent()
	// AckReceived reports a client's acknowledgement of an event the server sent with one (EmitWithAck, or a
	// broadcast with acknowledgements).
	AckReceived()
	// AckTimedOut reports an EmitWithAck, or a broadcast's EmitWithAck, whose context ended before every
	// acknowledgement came.
	AckTimedOut()
}
