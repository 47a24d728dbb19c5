package socketio

import (
	"context"
	"time"

	"github.com/sioredis/sioredis/protocol"
)

// Cluster is the transport between the servers of a cluster (package redisadapter has one over Redis). A Server
// without one (Config.Cluster nil) is alone. The Server keeps the rooms, delivers to its own sockets, collects
// acknowledgements and puts the answers of requests together; a Cluster only carries ClusterMessages between
// servers and counts them. Calls run one way: socketio calls the Cluster and its ClusterLinks, and a Cluster
// reports what arrives through the ClusterHandler of the link, never calling Server, Namespace or Socket methods.
//
// # What a transport guarantees
//
//   - Ordering: the messages one link sends reach each other server in the order they were sent, and are handed
//     to that server's handler in that order, one at a time per namespace.
//   - At most once: a message is delivered at most once to each other server, and never back to its sender.
//     While the transport cannot reach the other servers (Redis down or restarting), Send returns an error
//     wrapping the transport's sentinel, or the message may be lost: the transport says which in its own
//     documentation, and logs what it knows was lost.
//   - Concurrency: Open, Close and every ClusterLink method are safe for concurrent use. Send and ServerCount
//     may do I/O and return when ctx ends.
//   - Handler calls: HandleClusterMessage is called from the transport's goroutines, never while a Send of the
//     same link is running on the caller's goroutine; it must not block for long (socketio queues what takes
//     time), and it is not called any more once ClusterLink.Close has returned.
type Cluster interface {
	// Open starts carrying the traffic of namespace nsp, reporting what the other servers send to it to h,
	// and returns the link through which this server sends. It does not wait for the transport (a
	// subscription, say) to be ready. It is called once per namespace, when the namespace is created.
	Open(nsp string, h ClusterHandler) ClusterLink
	// Close releases the transport, once every link is closed; the Server calls it when it closes.
	Close() error
}

// ClusterLink carries the messages of one namespace; see Cluster.
type ClusterLink interface {
	// Send sends m to the other servers: to all of them, or to m.To alone when the transport can address one
	// (for responses; others send it to all, and the servers that did not ask ignore it).
	Send(ctx context.Context, m *ClusterMessage) error
	// ServerCount returns the number of servers of the cluster, this one included, as the transport counts
	// them (the other servers' answers to a request are expected from ServerCount-1 servers).
	ServerCount(ctx context.Context) (int, error)
	// Close stops the traffic of the namespace: the handler is not called any more once Close returns.
	Close() error
}

// RoomObserver is implemented by the ClusterLinks that must know which rooms this server has (the sharded
// format's dynamic subscription modes subscribe to the channel of each room). The Server calls RoomCreated when a
// room gets its first local socket (a socket's own room included) and RoomDeleted when it loses its last, in that
// order for each room, with the namespace's room lock held: the methods must not block and must not call the
// Server, its namespaces or its sockets (they record, and act on another goroutine). Before Open returns, the
// namespace has no room.
type RoomObserver interface {
	RoomCreated(room string)
	RoomDeleted(room string)
}

// ClusterRecovery is implemented by the ClusterLinks that carry connection state recovery across the cluster (the
// streams format): the offsets of broadcasts are the transport's (the received ones carry ClusterMessage.Offset),
// and sessions are kept where every server reads them, so that a client recovers on any server of the cluster,
// Go or Node. With Config.ConnectionStateRecovery and such a link, the Server uses it instead of its in-memory
// store.
type ClusterRecovery interface {
	// SendBroadcast sends a broadcast (ClusterBroadcast without RequestID) as Send does, and returns its offset.
	// An error with an offset means the transport has the broadcast at that offset but reports a weaker
	// guarantee than asked (fewer replicas than its durability setting): the Server still uses the offset.
	SendBroadcast(ctx context.Context, m *ClusterMessage) (offset string, err error)
	// PersistSession keeps s for maxAge.
	PersistSession(ctx context.Context, s ClusterSession, maxAge time.Duration) error
	// TakeSession takes back (and removes) session pid; ok is false when it is not kept, or when offset no longer
	// is (its broadcasts cannot be replayed).
	TakeSession(ctx context.Context, pid, offset string) (s ClusterSession, ok bool, err error)
	// MissedSince returns the broadcasts of the namespace after offset, oldest first, each with its Offset (the
	// Server picks those for the session's rooms).
	MissedSince(ctx context.Context, offset string) ([]*ClusterMessage, error)
	// CompareOffsets returns -1, 0 or +1 as offset a comes before, is, or comes after offset b.
	CompareOffsets(a, b string) int
}

// ClusterSession is what a disconnected socket leaves for its recovery: the session's private id, the socket id,
// its rooms (its own id included) and its data.
type ClusterSession struct {
	PID   string
	SID   string
	Rooms []string
	Data  any
}

// ClusterHandler receives the messages other servers sent to one namespace. socketio implements it.
type ClusterHandler interface {
	HandleClusterMessage(m *ClusterMessage)
}

// ClusterMessageType says what a ClusterMessage asks or answers.
type ClusterMessageType uint8

// Cluster message types. The requests expecting answers carry a RequestID, echoed by their responses.
const (
	// ClusterBroadcast: an event for the sockets of the selection; with a RequestID, a broadcast with
	// acknowledgements, answered by one ClusterBroadcastClientCount then one ClusterBroadcastAck per client.
	ClusterBroadcast ClusterMessageType = iota + 1
	// ClusterSocketsJoin: the sockets of the selection join TargetRooms.
	ClusterSocketsJoin
	// ClusterSocketsLeave: the sockets of the selection leave TargetRooms.
	ClusterSocketsLeave
	// ClusterDisconnectSockets: the sockets of the selection are disconnected (Close: their connection too).
	ClusterDisconnectSockets
	// ClusterFetchSockets asks for the sockets of the selection, answered by ClusterFetchSocketsResponse.
	ClusterFetchSockets
	// ClusterFetchSocketsResponse carries Sockets.
	ClusterFetchSocketsResponse
	// ClusterServerSideEmit: an event for the namespace's server-side handlers; with a RequestID, answered by
	// one ClusterServerSideEmitResponse.
	ClusterServerSideEmit
	// ClusterServerSideEmitResponse carries the acknowledgement in Args (one value, or none).
	ClusterServerSideEmitResponse
	// ClusterBroadcastClientCount carries ClientCount, the sockets a broadcast with acknowledgements reached.
	ClusterBroadcastClientCount
	// ClusterBroadcastAck carries one client's acknowledgement in Args.
	ClusterBroadcastAck
	// ClusterSocketIDs asks for the ids of the sockets of the selection (the classic adapter's SOCKETS), answered
	// by ClusterSocketIDsResponse with Rooms holding the ids.
	ClusterSocketIDs
	// ClusterSocketIDsResponse carries socket ids in Rooms.
	ClusterSocketIDsResponse
	// ClusterAllRooms asks for the rooms of the namespace (the classic adapter's ALL_ROOMS), answered by
	// ClusterAllRoomsResponse.
	ClusterAllRooms
	// ClusterAllRoomsResponse carries room names in Rooms.
	ClusterAllRoomsResponse
)

var clusterTypeNames = [...]string{"", "broadcast", "socketsJoin", "socketsLeave", "disconnectSockets",
	"fetchSockets", "fetchSocketsResponse", "serverSideEmit", "serverSideEmitResponse", "broadcastClientCount",
	"broadcastAck", "socketIds", "socketIdsResponse", "allRooms", "allRoomsResponse"}

// String returns the name of the type.
func (t ClusterMessageType) String() string {
	if int(t) < len(clusterTypeNames) && t > 0 {
		return clusterTypeNames[t]
	}
	return "unknown"
}

// IsResponse reports whether t answers a request.
func (t ClusterMessageType) IsResponse() bool {
	switch t {
	case ClusterFetchSocketsResponse, ClusterServerSideEmitResponse, ClusterBroadcastClientCount,
		ClusterBroadcastAck, ClusterSocketIDsResponse, ClusterAllRoomsResponse:
		return true
	}
	return false
}

// ClusterMessage is what one server of a cluster sends to the others about one namespace. Which fields matter
// depends on Type. It is not modified once handed to Send or to a handler.
type ClusterMessage struct {
	Type ClusterMessageType
	// From is the sending server's id, as the transport names it (set by the transport on receipt; empty for
	// an emitter, which is no server).
	From string
	// To is the server a response is for: the From of its request.
	To string
	// RequestID ties the responses to their request.
	RequestID string

	// The selection of broadcasts and commands: the sockets in any of Rooms (all when empty), minus those in
	// any of Except. Response types use Rooms for their lists of ids or rooms.
	Rooms  []string
	Except []string
	// Offset, on a received broadcast, is its offset for connection state recovery, when the transport gives
	// broadcasts one (see ClusterRecovery).
	Offset string
	// OnlyIfRoom, on a received broadcast, is a room this server must have (a local socket in it) for the
	// broadcast to be delivered at all: the classic format's room channels reach the servers that have the room.
	OnlyIfRoom string
	// Volatile and Compress are the flags of a broadcast.
	Volatile bool
	Compress protocol.Compress
	// Timeout is the time a broadcast with acknowledgements waits for its clients (0: the receiver's default).
	Timeout time.Duration

	// Event and Args are the event of a broadcast or server-side emit, and the acknowledgement of a response.
	// Sent: values as Emit takes them. Received: JavaScript values as the transport decoded them (objects as
	// jsvalue.Object with their key order, binary as []byte).
	Event string
	Args  []any

	// TargetRooms are the rooms of ClusterSocketsJoin and ClusterSocketsLeave.
	TargetRooms []string
	// Close, for ClusterDisconnectSockets, closes the connections too.
	Close bool
	// ClientCount is the count of ClusterBroadcastClientCount.
	ClientCount int
	// Sockets are the sockets of ClusterFetchSocketsResponse.
	Sockets []SocketInfo
}

// SocketInfo describes a socket in a ClusterFetchSocketsResponse.
type SocketInfo struct {
	ID        string
	Handshake Handshake
	Rooms     []string
	Data      any
}
