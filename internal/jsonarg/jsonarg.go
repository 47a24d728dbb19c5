// Package jsonarg turns JSON text given on a command line or in a file into
// event arguments for the emitter. An object of the exact form
// {"$binary": "BASE64"} anywhere in a value becomes binary data ([]byte).
// Object key order is kept, so the arguments reach clients as written.
package jsonarg

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sioredis/sioredis/protocol"
)

// ErrInvalid reports JSON that is malformed or a malformed $binary object.
var ErrInvalid = errors.New("invalid JSON argument")

// Parse converts one JSON value.
func Parse(data []byte) (any, error) {
	data = bytes.TrimSpace(data)
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, fmt.Errorf("%w: %q: %v", ErrInvalid, abbreviate(data), err)
	}
	if !bytes.Contains(data, []byte(`"$binary"`)) {
		return json.RawMessage(data), nil // exact text, order kept, no decoding cost
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return parseValue(dec)
}

// ParseArray converts a JSON array into the list of its elements, each
// converted as by Parse.
func ParseArray(data []byte) ([]any, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return nil, fmt.Errorf("%w: expected a JSON array of arguments: %v", ErrInvalid, err)
	}
	out := make([]any, len(elems))
	for i, e := range elems {
		v, err := Parse(e)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

func abbreviate(b []byte) string {
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

func parseValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			list := []any{}
			for dec.More() {
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token() // ]
			return list, err
		case '{':
			obj := protocol.Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
				}
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				obj = append(obj, protocol.Member{Key: kt.(string), Value: v})
			}
			if _, err := dec.Token(); err != nil { // }
				return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
			}
			if len(obj) == 1 && obj[0].Key == "$binary" {
				s, ok := obj[0].Value.(string)
				if !ok {
					return nil, fmt.Errorf(`%w: "$binary" must be a base64 string`, ErrInvalid)
				}
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return nil, fmt.Errorf(`%w: "$binary": %v`, ErrInvalid, err)
				}
				return b, nil
			}
			return obj, nil
		}
	case string, bool, nil:
		return t, nil
	case json.Number:
		return t, nil
	}
	return nil, fmt.Errorf("%w: unexpected token %v", ErrInvalid, tok)
}

// ReadArray reads a JSON array of arguments from r (a file or stdin).
func ReadArray(r io.Reader) ([]any, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return ParseArray(data)
}
