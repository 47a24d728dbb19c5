package jsvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
)

// DecodeJSON decodes exactly one JSON value into the plain values of
// DecodeMsgpack: nil, bool, int64 (integral numbers that fit), uint64,
// float64, string, []any and map[string]any. Errors wrap ErrMalformed.
func DecodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errorf(ErrMalformed, "json: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorf(ErrMalformed, "json: data after the value")
	}
	return fromJSON(v, 0)
}

func fromJSON(v any, depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, errorf(ErrMalformed, "json: nested deeper than %d levels", MaxDepth)
	}
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return u, nil
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, errorf(ErrMalformed, "json: number %s: %v", v, err)
		}
		return f, nil // ±Inf beyond the float64 range, as JSON.parse gives Infinity
	case []any:
		for i, e := range v {
			c, err := fromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
		return v, nil
	case map[string]any:
		for k, e := range v {
			c, err := fromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			v[k] = c
		}
		return v, nil
	}
	return v, nil
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

func orderedJSON(dec *json.Decoder, depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, errorf(ErrMalformed, "json: nested deeper than %d levels", MaxDepth)
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
