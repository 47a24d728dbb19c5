package client

import (
	"encoding/json"
	"errors"
)

// Sentinel errors, for errors.Is.
var (
	// ErrClosed is returned by calls on a closed Manager or Socket.
	ErrClosed = errors.New("client: closed")
	// ErrBufferFull is returned by Emit when the packet cannot be kept: the socket is not connected and its
	// send buffer (Options.MaxBufferedPackets) is full, or it is connected and the packets waiting to be
	// written reach Options.MaxQueuedPackets. The packet is not sent.
	ErrBufferFull = errors.New("client: send buffer full")
	// ErrNoArg is wrapped by Args.Decode for an argument past the last.
	ErrNoArg = errors.New("client: no such argument")
	// ErrBadPacket is wrapped by the errors of a malformed packet from the server.
	ErrBadPacket = errors.New("client: bad packet")
	// ErrPingTimeout means the server sent nothing for pingInterval + pingTimeout.
	ErrPingTimeout = errors.New("client: ping timeout")
	// ErrTransportClosed means the connection to the server was lost.
	ErrTransportClosed = errors.New("client: transport closed")
	// ErrReconnectFailed is returned by Connect when Options.ReconnectionAttempts attempts failed.
	ErrReconnectFailed = errors.New("client: reconnection failed")
	// ErrDisconnected is returned by EmitWithAck when the socket was disconnected by its own Disconnect or the
	// server's before the acknowledgement came.
	ErrDisconnected = errors.New("client: socket disconnected")
	// ErrConnectRefused is wrapped by every *ConnectError.
	ErrConnectRefused = errors.New("client: connection to the namespace refused")
)

// ConnectError is the server's refusal of a namespace (a CONNECT_ERROR packet): a middleware's error, or
// "Invalid namespace". It wraps ErrConnectRefused.
type ConnectError struct {
	// Message is the error's message.
	Message string
	// Data is the error's data, as sent (JSON), or nil.
	Data json.RawMessage
}

// Error returns the message.
func (e *ConnectError) Error() string { return "client: connect error: " + e.Message }

// Unwrap returns ErrConnectRefused.
func (e *ConnectError) Unwrap() error { return ErrConnectRefused }
