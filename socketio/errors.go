package socketio

import (
	"errors"
	"fmt"

	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/jsvalue"
)

// Sentinel errors, for errors.Is.
var (
	// ErrBadPacket is wrapped by the errors of the packet decoder. A client that sends a malformed packet is
	// disconnected with ReasonParseError.
	ErrBadPacket = errors.New("socketio: malformed packet")
	// ErrReservedEvent is returned when emitting an event name reserved by Socket.IO ("connect", "disconnect",
	// "disconnecting", "connect_error", "newListener", "removeListener").
	ErrReservedEvent = siopacket.ErrReservedEvent
	// ErrInvalidEvent is returned when emitting an empty event name.
	ErrInvalidEvent = siopacket.ErrInvalidEvent
	// ErrUnsupportedValue is returned for an argument that cannot be encoded (a channel, a function, a NaN, a
	// cyclic value...): the arguments follow the rules of package protocol, shared with the Redis emitter.
	ErrUnsupportedValue = jsvalue.ErrUnsupportedValue
	// ErrTooManyAttachments is returned when emitting more binary values in one packet than socket.io-client
	// accepts (siopacket.MaxClientAttachments).
	ErrTooManyAttachments = siopacket.ErrTooManyAttachments
	// ErrDisconnected is returned by operations on a socket that is disconnected.
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrNoArg is returned by Args.Decode for an index past the last argument.
	ErrNoArg = errors.New("socketio: no such argument")
	// ErrAckTimeout is wrapped, with the context's error, by Socket.EmitWithAck when its context ends first, by
	// BroadcastOperator.EmitWithAck when its context ends before every client has answered, and by
	// Namespace.ServerSideEmitWithAck when its context ends before every other server has answered.
	ErrAckTimeout = errors.New("socketio: acknowledgement not received")
	// ErrRequestTimeout is wrapped, with the context's error, by FetchSockets and ServerSideEmitWithAck when their
	// context (or Config.RequestTimeout) ends before every other server of the cluster has answered.
	ErrRequestTimeout = errors.New("socketio: timeout waiting for the other servers")
	// ErrAckTwice is returned by an AckFunc called more than once.
	ErrAckTwice = errors.New("socketio: acknowledgement already sent")
)

// ConnectError refuses a connection to a namespace: a Middleware returns it to send the client a CONNECT_ERROR
// packet whose "message" is Message and whose "data" is Data (omitted when nil). A middleware's other errors are
// sent with their Error() text as message.
type ConnectError struct {
	Message string
	Data    any
}

// Error returns the refusal's message.
func (e *ConnectError) Error() string {
	return fmt.Sprintf("socketio: connection refused: %s", e.Message)
}

// DisconnectReason says why a socket was disconnected. The values are those of the reference server.
type DisconnectReason string

// Disconnect reasons.
const (
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
	ReasonServerShuttingDown        DisconnectReason = "server shutting down"
	ReasonPingTimeout               DisconnectReason = "ping timeout"
	ReasonTransportClose            DisconnectReason = "transport close"
	ReasonTransportError            DisconnectReason = "transport error"
	ReasonParseError                DisconnectReason = "parse error"
	ReasonForcedClose               DisconnectReason = "forced close"
	ReasonForcedServerClose         DisconnectReason = "forced server close"
	// ReasonSlowClient is particular to this server: the client did not read its packets fast enough.
	ReasonSlowClient DisconnectReason = "slow client"
)
