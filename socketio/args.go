package socketio

import (
	"encoding/json"
	"fmt"

	"github.com/sioredis/sioredis/internal/eventargs"
)

// Args are the arguments of a received event or acknowledgement, still encoded: decode each with Decode. Args is
// immutable and safe for concurrent use.
//
// Binary attachments decode into []byte wherever the target holds one: a []byte (the target, a field, an
// element) or an interface (an any, the elements of an []any, the values of a map[string]any or of a
// jsvalue.Object, at any depth, also inside a struct), which then holds the []byte. So a value decoded into a
// struct and emitted again carries its binary as binary. A string decodes as encoding/json decodes it: a lone
// surrogate ("\ud800") becomes U+FFFD, since a Go string holds UTF-8.
//
// For a relay (a handler that passes what it received on), use ValuesOrdered: it keeps the key order of objects
// and the binary values (only a lone surrogate does not survive, as above). Where the arguments carry no binary,
// Raw keeps more: the exact text of an argument (key order, number text, lone surrogates), written out as it is
// when emitted as a json.RawMessage; binary in it stays placeholders, which would go out as plain objects.
type Args struct {
	l eventargs.List
}

// Len returns the number of arguments.
func (a Args) Len() int { return a.l.Len() }

// Raw returns the JSON of argument i, with binary placeholders as sent; nil past the last argument.
func (a Args) Raw(i int) json.RawMessage { return a.l.Raw(i) }

// Decode decodes argument i into v, as json.Unmarshal does (binary as the type doc says).
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= a.l.Len() {
		return fmt.Errorf("%w: argument %d of %d", ErrNoArg, i, a.l.Len())
	}
	return eventargs.Decode(a.l.Raw(i), a.l.Bufs(), v, maxDepth, ErrBadPacket)
}

// DecodeAll decodes the first len(vs) arguments into vs, in order.
func (a Args) DecodeAll(vs ...any) error {
	for i, v := range vs {
		if err := a.Decode(i, v); err != nil {
			return fmt.Errorf("argument %d: %w", i, err)
		}
	}
	return nil
}

// Values decodes every argument into an any, as json.Unmarshal does (objects as map[string]any, numbers as
// float64), binary as []byte.
func (a Args) Values() ([]any, error) {
	out := make([]any, a.l.Len())
	for i := range out {
		if err := a.Decode(i, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ValuesOrdered decodes every argument as jsvalue.DecodeJSONOrdered does: objects as jsvalue.Object, whose keys
// keep the order they came in (and go out in it when emitted), integers as int64, binary as []byte.
func (a Args) ValuesOrdered() ([]any, error) {
	out := make([]any, a.l.Len())
	for i := range out {
		v, err := eventargs.DecodeOrdered(a.l.Raw(i), a.l.Bufs(), maxDepth, ErrBadPacket)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
