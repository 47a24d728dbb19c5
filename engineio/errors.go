package engineio

import (
	"errors"
	"fmt"

	"github.com/sioredis/sioredis/internal/eiopacket"
)

// Sentinel errors, for errors.Is.
var (
	// ErrBadPacket is wrapped by the errors of the packet decoders.
	ErrBadPacket = eiopacket.ErrBadPacket
	// ErrClosed is returned by Conn.Send once the connection is closing or closed.
	ErrClosed = errors.New("engineio: connection closed")
	// ErrDropped is returned by Conn.Send when a volatile message was dropped because the client was not ready.
	ErrDropped = errors.New("engineio: volatile message dropped")
	// ErrServerClosed is returned by Server.ServeHTTP's handshake once Server.Close has been called.
	ErrServerClosed = errors.New("engineio: server closed")
)

// ErrorCode is the "code" of the JSON body of a refused HTTP request, as the reference server sends it.
type ErrorCode int

// The error codes of refused requests.
const (
	CodeUnknownTransport   ErrorCode = 0
	CodeUnknownSID         ErrorCode = 1
	CodeBadHandshakeMethod ErrorCode = 2
	CodeBadRequest         ErrorCode = 3
	CodeForbidden          ErrorCode = 4
	CodeUnsupportedVersion ErrorCode = 5
)

// String returns the message sent with the code.
func (c ErrorCode) String() string {
	switch c {
	case CodeUnknownTransport:
		return "Transport unknown"
	case CodeUnknownSID:
		return "Session ID unknown"
	case CodeBadHandshakeMethod:
		return "Bad handshake method"
	case CodeBadRequest:
		return "Bad request"
	case CodeForbidden:
		return "Forbidden"
	case CodeUnsupportedVersion:
		return "Unsupported protocol version"
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// RequestError is a refused HTTP request: its Status is the HTTP status sent and its Code the Engine.IO error code
// in the JSON body. Config.AllowRequest may return one to choose them; any other error is sent as 403 Forbidden.
type RequestError struct {
	Status int
	Code   ErrorCode
	// Message, if not empty, replaces Code's message in the body.
	Message string
}

// Error describes the refused request.
func (e *RequestError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code.String()
	}
	return fmt.Sprintf("engineio: HTTP %d: %s", e.Status, msg)
}

// CloseReason says why a connection closed. The values are those the reference server reports.
type CloseReason string

// Reasons passed to Handler.OnClose.
const (
	// ReasonTransportClose: the client closed the connection or sent a close packet.
	ReasonTransportClose CloseReason = "transport close"
	// ReasonTransportError: the transport failed (network error, malformed packet, protocol violation).
	ReasonTransportError CloseReason = "transport error"
	// ReasonPingTimeout: the client did not answer a ping within PingTimeout.
	ReasonPingTimeout CloseReason = "ping timeout"
	// ReasonForcedClose: the server application closed the connection with Conn.Close.
	ReasonForcedClose CloseReason = "forced close"
	// ReasonServerShutdown: Server.Close was called.
	ReasonServerShutdown CloseReason = "server shutting down"
	// ReasonSlowClient: the outgoing queue was full of messages the client did not read (see Config.MaxQueuedMessages).
	ReasonSlowClient CloseReason = "slow client"
)
