package client

import (
	"encoding/json"
	"fmt"
)

// Args are the arguments of a received event or acknowledgement, still encoded: decode each with Decode. Binary
// attachments decode into []byte (directly, or as []byte fields and elements of the target, and as []byte values
// in an any). Args is immutable and safe for concurrent use. It has the API of socketio.Args.
type Args struct {
	raw  []json.RawMessage
	bufs [][]byte
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns the JSON of argument i, with binary placeholders as sent; nil past the last argument.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Decode decodes argument i into v, as json.Unmarshal does.
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a.raw) {
		return fmt.Errorf("%w: argument %d of %d", ErrNoArg, i, len(a.raw))
	}
	if len(a.bufs) == 0 {
		return json.Unmarshal(a.raw[i], v)
	}
	var tree any
	if err := json.Unmarshal(a.raw[i], &tree); err != nil {
		return err
	}
	tree, err := replacePlaceholders(tree, a.bufs, 0)
	if err != nil {
		return err
	}
	switch p := v.(type) {
	case *any:
		*p = tree
		return nil
	case *[]byte:
		if b, ok := tree.([]byte); ok {
			*p = b
			return nil
		}
	}
	// json.Marshal writes []byte as base64, which json.Unmarshal reads back into []byte.
	b, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
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
	out := make([]any, len(a.raw))
	for i := range a.raw {
		if err := a.Decode(i, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func replacePlaceholders(v any, bufs [][]byte, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deep", ErrBadPacket)
	}
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			r, err := replacePlaceholders(e, bufs, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	case map[string]any:
		if ph, ok := x["_placeholder"].(bool); ok && ph {
			num, ok := x["num"].(float64)
			if !ok || num < 0 || int(num) >= len(bufs) || float64(int(num)) != num {
				return nil, fmt.Errorf("%w: bad binary placeholder", ErrBadPacket)
			}
			return bufs[int(num)], nil
		}
		for k, e := range x {
			r, err := replacePlaceholders(e, bufs, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	}
	return v, nil
}
