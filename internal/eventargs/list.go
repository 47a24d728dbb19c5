package eventargs

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// List is the arguments of one received event or acknowledgement, as socketio.Args and client.Args hold them:
// the JSON text of the array they came in, where each one starts, and the binary attachments their placeholders
// name. An argument costs 4 bytes besides its text (a json.RawMessage per argument cost 24, and a 1 MB payload can
// hold 200 000 arguments). A List is immutable.
type List struct {
	data []byte   // the JSON text holding the elements
	offs []uint32 // offs[i] is where element i starts, offs[Len()] just past the last one
	bufs [][]byte
}

// ErrNotArray is wrapped by Split's errors.
var ErrNotArray = errors.New("not a JSON array")

// Split returns the elements of the JSON array data, which must be valid JSON (the parsers check it first: this
// only finds the elements' ends), leaving out the first skip; the List keeps data. Anything but an array is an
// error wrapping ErrNotArray.
func Split(data []byte, skip int, bufs [][]byte) (List, error) {
	if len(data) > math.MaxUint32 {
		return List{}, fmt.Errorf("%w: %d bytes", ErrNotArray, len(data))
	}
	var offs []uint32
	if len(data) > bigArray {
		// Counted first, so that the offsets take one allocation of their size.
		n, err := split(data, skip, nil)
		if err != nil {
			return List{}, err
		}
		offs = make([]uint32, 0, n+1)
	} else {
		offs = make([]uint32, 0, 5)
	}
	_, err := split(data, skip, &offs)
	if err != nil {
		return List{}, err
	}
	return List{data: data, offs: offs, bufs: bufs}, nil
}

// bigArray is the size above which Split counts the elements before it records them.
const bigArray = 16 << 10

// split finds the elements of data past the first skip, appends their starts and the end of the last one to
// offs (when not nil), and returns how many elements it found past skip.
func split(data []byte, skip int, offs *[]uint32) (int, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return 0, fmt.Errorf("%w: no '['", ErrNotArray)
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		if offs != nil {
			*offs = append(*offs, uint32(i))
		}
		return 0, nil
	}
	n := 0
	for i < len(data) {
		if n >= skip && offs != nil {
			*offs = append(*offs, uint32(i))
		}
		n++
		end := valueEnd(data, i)
		i = skipSpace(data, end)
		if i >= len(data) {
			break
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			if offs != nil {
				*offs = append(*offs, uint32(end))
			}
			return max(n-skip, 0), nil
		default:
			return 0, fmt.Errorf("%w: malformed", ErrNotArray)
		}
	}
	return 0, fmt.Errorf("%w: unterminated", ErrNotArray)
}

// Join returns the List of the given elements (JSON values), copied into one array.
func Join(raws []json.RawMessage, bufs [][]byte) List {
	size := 2
	for _, r := range raws {
		size += len(r) + 1
	}
	data := make([]byte, 0, size)
	offs := make([]uint32, 0, len(raws)+1)
	data = append(data, '[')
	for i, r := range raws {
		if i > 0 {
			data = append(data, ',')
		}
		offs = append(offs, uint32(len(data)))
		data = append(data, r...)
	}
	offs = append(offs, uint32(len(data)))
	data = append(data, ']')
	return List{data: data, offs: offs, bufs: bufs}
}

// Drop returns the List without its first n elements.
func (l List) Drop(n int) List {
	if n >= l.Len() {
		n = l.Len()
	}
	if l.offs != nil {
		l.offs = l.offs[n:]
	}
	return l
}

// Len returns the number of elements.
func (l List) Len() int { return max(len(l.offs)-1, 0) }

// Bufs returns the attachments.
func (l List) Bufs() [][]byte { return l.bufs }

// Raw returns the JSON of element i (a sub-slice of the List's text), nil past the last one.
func (l List) Raw(i int) json.RawMessage {
	if i < 0 || i >= l.Len() {
		return nil
	}
	start, end := int(l.offs[i]), int(l.offs[i+1])
	// The next element's start, back over the separator: a value never ends with space or a comma.
	for end > start {
		switch l.data[end-1] {
		case ' ', '\t', '\r', '\n', ',':
			end--
			continue
		}
		break
	}
	return l.data[start:end:end]
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
