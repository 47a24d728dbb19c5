// Package siopacket holds what the Socket.IO protocol (v5) says of packets
// apart from their transport: the packet types, the event names a packet may
// carry, and the payload of EVENT and ACK packets with their binary
// attachments. The server (socketio), the client and the Redis wire format
// (protocol, whose messages embed packets) share it, so an event means the
// same thing on every path.
package siopacket

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sioredis/sioredis/jsvalue"
)

// Packet types (socket.io-protocol v5; the numbering is the same in v4).
const (
	Connect      = 0
	Disconnect   = 1
	Event        = 2
	Ack          = 3
	ConnectError = 4
	BinaryEvent  = 5
	BinaryAck    = 6
)

// Sentinel errors, returned wrapped; socketio, emitter and protocol re-export
// them.
var (
	// ErrReservedEvent reports an event name that Socket.IO reserves for its
	// own use and that a client or server would refuse or misinterpret.
	ErrReservedEvent = errors.New("sioredis: reserved event name")
	// ErrInvalidEvent reports an empty event name.
	ErrInvalidEvent = errors.New("sioredis: invalid event name")
	// ErrTooManyAttachments reports an event carrying more binary values than
	// the configured limit (Socket.IO parsers since 4.2.6 drop packets with
	// more than 10 attachments).
	ErrTooManyAttachments = errors.New("sioredis: too many binary attachments")
)

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}

// reservedEvents may not be emitted to clients: socket.io-parser ≥ 4.2.4
// rejects such packets, and the names mean something else to every client.
var reservedEvents = []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

// reservedServerEvents may not be sent with serverSideEmit: they would fire
// the servers' own namespace handlers.
var reservedServerEvents = []string{"connect", "connection", "new_namespace"}

// ValidateEvent checks an event name for a broadcast to clients.
func ValidateEvent(event string) error {
	if event == "" {
		return errorf(ErrInvalidEvent, "empty event name")
	}
	if slices.Contains(reservedEvents, event) {
		return errorf(ErrReservedEvent, "%q is reserved by Socket.IO", event)
	}
	return nil
}

// ValidateServerEvent checks an event name for serverSideEmit.
func ValidateServerEvent(event string) error {
	if event == "" {
		return errorf(ErrInvalidEvent, "empty event name")
	}
	if slices.Contains(reservedServerEvents, event) {
		return errorf(ErrReservedEvent, "%q is reserved for server-side events", event)
	}
	return nil
}

// The payload of EVENT and ACK packets is the JSON array [event, ...args] or
// [...args], written by a jsvalue.PlaceholderWriter: JSON.stringify's text
// with binary values replaced by socket.io-parser's placeholders.

// MaxClientAttachments is the most binary attachments the parser of
// socket.io-client 4 accepts in one packet by default (its maxAttachments
// option); a client receiving a packet with more closes its connection with
// a parse error.
const MaxClientAttachments = 10

// AppendEventData appends to dst the JSON payload of an EVENT packet,
// [event, ...args], with every []byte value (an argument or any value inside
// one, struct fields included) written as a binary placeholder and appended to
// attachments, in order; a nil []byte is null, as in encoding/json. The event
// name is checked with ValidateEvent. The attachments alias the caller's
// slices: they must not change until the packet has been sent.
//
// The arguments follow the rule of package jsvalue. On error dst
// and attachments are returned unchanged in length; errors wrap
// ErrInvalidEvent, ErrReservedEvent or ErrUnsupportedValue.
func AppendEventData(dst []byte, event string, args []any, attachments [][]byte) ([]byte, [][]byte, error) {
	if err := ValidateEvent(event); err != nil {
		return dst, attachments, err
	}
	w := jsvalue.PlaceholderWriter(dst, attachments)
	if err := WriteEventData(&w, event, args); err != nil {
		return dst, attachments, err
	}
	return w.Bytes(), w.Attachments(), nil
}

// AppendAckData appends to dst the JSON payload of an ACK packet, the array
// of args, with binary values handled as AppendEventData does. On error dst
// and attachments are returned unchanged in length; errors wrap
// ErrUnsupportedValue.
func AppendAckData(dst []byte, args []any, attachments [][]byte) ([]byte, [][]byte, error) {
	w := jsvalue.PlaceholderWriter(dst, attachments)
	w.BeginArray(len(args))
	for _, a := range args {
		if err := w.Value(a); err != nil {
			return dst, attachments, err
		}
	}
	w.EndArray()
	return w.Bytes(), w.Attachments(), nil
}

// WriteEventData writes the data of an EVENT packet, [event, ...args], the
// arguments by the rules of package jsvalue. It does not check the name.
func WriteEventData(w *jsvalue.Writer, event string, args []any) error {
	w.BeginArray(1 + len(args))
	w.Str(event)
	for _, a := range args {
		if err := w.Value(a); err != nil {
			return err
		}
	}
	w.EndArray()
	return nil
}
