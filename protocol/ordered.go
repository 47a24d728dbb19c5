package protocol

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"
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
		if depth > maxDepth {
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
		case Object:
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

// DecodeJSONOrdered decodes exactly one JSON value like DecodeJSON, except
// that objects are Object values whose keys keep their order (a duplicate
// key keeps its first place and takes the last value, as in JavaScript).
func DecodeJSONOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := orderedJSON(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorf(ErrMalformed, "json: data after the value")
	}
	return v, nil
}

// decodeOrdered decodes JSON (a leading "{" or "["), msgpack, or base64 of
// msgpack (a stream entry's data field) with ordered objects.
func decodeOrdered(b []byte) (any, error) {
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return DecodeJSONOrdered(b)
	}
	if v, err := orderedMsgpack(b); err == nil {
		return v, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		return nil, errorf(ErrMalformed, "neither JSON, msgpack nor base64: %v", err)
	}
	return orderedMsgpack(raw)
}

func orderedMsgpack(b []byte) (any, error) {
	d := mpDecoder{buf: b}
	if _, err := d.value(0); err != nil {
		return nil, err
	}
	if d.pos != len(d.buf) {
		return nil, errorf(ErrMalformed, "msgpack: %d trailing bytes after the value", len(d.buf)-d.pos)
	}
	d = mpDecoder{buf: b, build: true, ordered: true}
	return d.value(0)
}

// orderedMap builds a msgpack map as an Object; a duplicate key keeps its
// first place and takes the last value, as a JavaScript object does.
func (d *mpDecoder) orderedMap(n uint64, depth int) (any, error) {
	o := make(Object, 0, n)
	for range n {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		o = o.set(propertyName(k), v)
	}
	return o, nil
}

func (o Object) set(key string, v any) Object {
	for i := range o {
		if o[i].Key == key {
			o[i].Value = v
			return o
		}
	}
	return append(o, Member{Key: key, Value: v})
}

func orderedJSON(dec *json.Decoder, depth int) (any, error) {
	if depth >= maxDepth {
		return nil, errorf(ErrMalformed, "json: nested deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, errorf(ErrMalformed, "json: %v", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			list := []any{}
			for dec.More() {
				v, err := orderedJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, errorf(ErrMalformed, "json: %v", err)
			}
			return list, nil
		case '{':
			o := Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, errorf(ErrMalformed, "json: %v", err)
				}
				v, err := orderedJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o = o.set(kt.(string), v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, errorf(ErrMalformed, "json: %v", err)
			}
			return o, nil
		}
	case json.Number:
		return fromJSON(t, depth)
	}
	return tok, nil
}

// plain turns the Objects of an ordered tree into maps, to compare it with
// a Message's values.
func plain(v any) any {
	switch x := v.(type) {
	case Object:
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
