package protocol

import (
	"errors"
	"fmt"

	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/jsvalue"
)

// Sentinel errors returned (wrapped) by the encoders and validators of this
// package. Callers test them with errors.Is; the emitter re-exports them.
var (
	// ErrReservedEvent reports an event name that Socket.IO reserves for its
	// own use (the error of socketio and emitter too).
	ErrReservedEvent = siopacket.ErrReservedEvent
	// ErrInvalidEvent reports an empty event name.
	ErrInvalidEvent = siopacket.ErrInvalidEvent
	// ErrInvalidNamespace reports a namespace that is empty or contains Redis
	// glob characters (which would end up in the servers' PSUBSCRIBE pattern).
	ErrInvalidNamespace = errors.New("sioredis: invalid namespace")
	// ErrInvalidPrefix reports a key prefix that is empty or contains Redis
	// glob characters.
	ErrInvalidPrefix = errors.New("sioredis: invalid prefix")
	// ErrInvalidRoom reports an empty room name.
	ErrInvalidRoom = errors.New("sioredis: invalid room")
	// ErrUnsupportedValue reports an argument that cannot be represented on
	// the wire; it is jsvalue.ErrUnsupportedValue.
	ErrUnsupportedValue = jsvalue.ErrUnsupportedValue
	// ErrTooLarge reports an encoded message larger than the configured limit.
	ErrTooLarge = errors.New("sioredis: message too large")
	// ErrTooManyAttachments reports an event carrying more binary values than
	// Op.MaxAttachments allows.
	ErrTooManyAttachments = siopacket.ErrTooManyAttachments
	// ErrMalformed reports input that a decoder could not parse; it is
	// jsvalue.ErrMalformed.
	ErrMalformed = jsvalue.ErrMalformed
)

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
