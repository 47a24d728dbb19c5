package jsvalue

import (
	"errors"
	"fmt"
)

// Sentinel errors of the encoders and decoders, returned wrapped (test them
// with errors.Is) except ErrBinaryInJSON, which is returned as is.
var (
	// ErrUnsupportedValue reports a value that has no JavaScript
	// representation: a channel, a function, a complex number, a NaN or
	// infinite float, a cyclic or absurdly deep structure, a map with
	// unsupported keys, or invalid JSON inside a json.RawMessage.
	ErrUnsupportedValue = errors.New("sioredis: unsupported value")
	// ErrBinaryInJSON is returned by a JSONWriter that meets binary data,
	// which JSON cannot carry: the caller encodes the value as msgpack instead
	// (the Redis adapters do so) or uses a PlaceholderWriter.
	ErrBinaryInJSON = errors.New("sioredis: binary data cannot be written as JSON")
	// ErrInvalidText reports JSON text whose strings are not Unicode: bytes
	// that are not UTF-8, or a \uD800-\uDFFF escape that is not half of a
	// surrogate pair. Go's decoder would silently turn them into U+FFFD.
	ErrInvalidText = errors.New("sioredis: JSON text is not valid Unicode")
	// ErrMalformed reports input that a decoder could not parse.
	ErrMalformed = errors.New("sioredis: malformed message")
)

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
