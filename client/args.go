package client

import (
	"encoding/json"
	"fmt"

	"github.com/sioredis/sioredis/internal/eventargs"
)

// Args are the arguments of a received event or acknowledgement, still encoded: decode each with Decode. Binary
// attachments decode into []byte (directly, or as []byte fields and elements of the target, and as []byte values
// in an any). Args is immutable and safe for concurrent use. It has the API of socketio.Args.
type Args struct {
	l eventargs.List
}

// Len returns the number of arguments.
func (a Args) Len() int { return a.l.Len() }

// Raw returns the JSON of argument i, with binary placeholders as sent; nil past the last argument.
func (a Args) Raw(i int) json.RawMessage { return a.l.Raw(i) }

// Decode decodes argument i into v, as json.Unmarshal does.
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

// Values decodes every argument into an any (JSON numbers as float64, binary as []byte).
func (a Args) Values() ([]any, error) {
	out := make([]any, a.l.Len())
	for i := range out {
		if err := a.Decode(i, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
