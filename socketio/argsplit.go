package socketio

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// splitArray returns the elements of the JSON array data, which must be valid JSON (decodePacket checked it, with validJSON):
// the one validating scan of a packet's payload is decodePacket's, this one only finds the elements' ends. The
// elements are sub-slices of data. Anything but an array is an error wrapping ErrBadPacket.
func splitArray(data []byte) ([]json.RawMessage, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil, fmt.Errorf("%w: not an array", ErrBadPacket)
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return []json.RawMessage{}, nil
	}
	elems := make([]json.RawMessage, 0, 4)
	for i < len(data) {
		end := valueEnd(data, i)
		elems = append(elems, data[i:end:end])
		i = skipSpace(data, end)
		if i >= len(data) {
			break
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return elems, nil
		default:
			return nil, fmt.Errorf("%w: malformed array", ErrBadPacket)
		}
	}
	return nil, fmt.Errorf("%w: unterminated array", ErrBadPacket)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// valueEnd returns the offset just past the valid JSON value starting at data[i].
func valueEnd(data []byte, i int) int {
	depth := 0
	for i < len(data) {
		switch c := data[i]; c {
		case '"':
			i = stringEnd(data, i)
			if depth == 0 {
				return i
			}
			continue
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i // the end of the enclosing array: a malformed input the caller rejects
			}
		case ',', ' ', '\t', '\r', '\n':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// stringEnd returns the offset just past the JSON string starting at data[i] (a quote), or len(data) for a string
// that does not end (an escape as the last byte included).
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return min(i, len(data))
}

// eventName returns the event name of an EVENT payload's first element, a JSON string: without escapes and in
// valid UTF-8 (the usual case) it is the text between the quotes, else it is decoded by encoding/json.
func eventName(raw json.RawMessage) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		plain := true
		for _, c := range raw[1 : len(raw)-1] {
			if c == '\\' || c == '"' || c < 0x20 {
				plain = false
				break
			}
		}
		if plain && utf8.Valid(raw) {
			return string(raw[1 : len(raw)-1]), nil
		}
	}
	var name string
	err := json.Unmarshal(raw, &name)
	return name, err
}
