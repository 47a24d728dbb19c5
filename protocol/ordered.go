package protocol

import (
	"encoding/base64"
	"reflect"

	"github.com/sioredis/sioredis/jsvalue"
)

// ArgsInOrder returns the event arguments of m, decoded again from body (the
// payload m was decoded from, or the data field of a stream entry, JSON or
// base64) with every object as an Object whose keys keep their order on the
// wire, as a JavaScript client sees them. Decoded Messages hold Go maps,
// whose order is lost; this is for display (the monitor). ok is false when m
// has no arguments or body does not hold them.
func ArgsInOrder(m *Message, body []byte) (args []any, ok bool) {
	if m == nil || len(m.Args) == 0 {
		return nil, false
	}
	tree, err := decodeOrdered(body)
	if err != nil {
		return nil, false
	}
	// The arguments are a list, alone or after the event name, somewhere in
	// the message: find the one that is the same value as m's.
	withEvent := append([]any{m.Event}, m.Args...)
	var found []any
	var walk func(v any, depth int) bool
	walk = func(v any, depth int) bool {
		if depth > jsvalue.MaxDepth {
			return false
		}
		switch x := v.(type) {
		case []any:
			if len(x) == len(withEvent) && reflect.DeepEqual(plain(x), withEvent) {
				found = x[1:]
				return true
			}
			if len(x) == len(m.Args) && reflect.DeepEqual(plain(x), m.Args) {
				found = x
				return true
			}
			for _, e := range x {
				if walk(e, depth+1) {
					return true
				}
			}
		case jsvalue.Object:
			for _, e := range x {
				if walk(e.Value, depth+1) {
					return true
				}
			}
		}
		return false
	}
	if !walk(tree, 0) {
		return nil, false
	}
	return found, true
}

// decodeOrdered decodes JSON (a leading "{" or "["), msgpack, or base64 of
// msgpack (a stream entry's data field) with ordered objects.
func decodeOrdered(b []byte) (any, error) {
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return jsvalue.DecodeJSONOrdered(b)
	}
	if v, err := jsvalue.DecodeMsgpackOrdered(b); err == nil {
		return v, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		return nil, errorf(ErrMalformed, "neither JSON, msgpack nor base64: %v", err)
	}
	return jsvalue.DecodeMsgpackOrdered(raw)
}

// plain turns the Objects of an ordered tree into maps, to compare it with
// a Message's values.
func plain(v any) any {
	switch x := v.(type) {
	case jsvalue.Object:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = plain(e.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}
