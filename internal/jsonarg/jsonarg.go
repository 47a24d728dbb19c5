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

	"github.com/sioredis/sioredis/jsvalue"
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
	v, err := jsvalue.DecodeJSONOrdered(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return binaries(v)
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

// binaries replaces every object of the exact form {"$binary": "BASE64"}
// with the bytes it holds.
func binaries(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			b, err := binaries(e)
			if err != nil {
				return nil, err
			}
			x[i] = b
		}
	case jsvalue.Object:
		if len(x) == 1 && x[0].Key == "$binary" {
			s, ok := x[0].Value.(string)
			if !ok {
				return nil, fmt.Errorf(`%w: "$binary" must be a base64 string`, ErrInvalid)
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf(`%w: "$binary": %v`, ErrInvalid, err)
			}
			return b, nil
		}
		for i := range x {
			b, err := binaries(x[i].Value)
			if err != nil {
				return nil, err
			}
			x[i].Value = b
		}
	}
	return v, nil
}

// ReadArray reads a JSON array of arguments from r (a file or stdin).
func ReadArray(r io.Reader) ([]any, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return ParseArray(data)
}
