package protocol

import "errors"

// Sentinel errors returned (wrapped) by the encoders and validators of this
// package. Callers test them with errors.Is; the emitter re-exports them.
var (
	// ErrReservedEvent reports an event name that Socket.IO reserves for its
	// own use and that a client or server would refuse or misinterpret.
	ErrReservedEvent = errors.New("sioredis: reserved event name")
	// ErrInvalidEvent reports an empty event name.
	ErrInvalidEvent = errors.New("sioredis: invalid event name")
	// ErrInvalidNamespace reports a namespace that is empty or contains Redis
	// glob characters (which would end up in the servers' PSUBSCRIBE pattern).
	ErrInvalidNamespace = errors.New("sioredis: invalid namespace")
	// ErrInvalidPrefix reports a key prefix that is empty or contains Redis
	// glob characters.
	ErrInvalidPrefix = errors.New("sioredis: invalid prefix")
	// ErrInvalidRoom reports an empty room name.
	ErrInvalidRoom = errors.New("sioredis: invalid room")
	// ErrUnsupportedValue reports an argument that cannot be represented on
	// the wire: a channel, a function, a complex number, a NaN or infinite
	// float, a cyclic or absurdly deep structure, a map with unsupported keys,
	// or invalid JSON inside a json.RawMessage.
	ErrUnsupportedValue = errors.New("sioredis: unsupported value")
	// ErrTooLarge reports an encoded message larger than the configured limit.
	ErrTooLarge = errors.New("sioredis: message too large")
	// ErrTooManyAttachments reports an event carrying more binary values than
	// the configured limit (Socket.IO parsers since 4.2.6 drop packets with
	// more than 10 attachments).
	ErrTooManyAttachments = errors.New("sioredis: too many binary attachments")
	// ErrInvalidText reports JSON text whose strings are not Unicode: bytes
	// that are not UTF-8, or a \uD800-\uDFFF escape that is not half of a
	// surrogate pair. Go's decoder would silently turn them into U+FFFD.
	ErrInvalidText = errors.New("sioredis: JSON text is not valid Unicode")
	// ErrMalformed reports input that a decoder could not parse.
	ErrMalformed = errors.New("sioredis: malformed message")
)
