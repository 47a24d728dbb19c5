package eventargs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/sioredis/sioredis/internal/jsonstr"
)

// ErrIllegalAttachments is wrapped by CheckPlaceholders' error.
var ErrIllegalAttachments = errors.New("illegal attachments")

// CheckPlaceholders reports, for the JSON payload data of a binary packet (valid JSON, as the parsers have checked)
// and its count of attachments, whether every binary placeholder in it names one of them: an object whose
// "_placeholder" is true must have a "num" that is an integer from 0 to attachments-1. socket.io-parser refuses
// such a packet when it rebuilds it ("illegal attachments"), and the peer is then disconnected. It is stricter on
// one point: a fractional num, which socket.io-parser turns into undefined, is refused too, as Decode refuses it.
// As in socket.io-parser and Decode, the members of a placeholder are not looked into, and the last of duplicate
// keys counts. One pass, without allocating (but for a key written with escapes), and a second one over the
// decoded value when the first finds a bad placeholder (it may be the value of a key that a later one replaces).
func CheckPlaceholders(data []byte, attachments int) error {
	s := phScanner{data: data, n: attachments}
	s.space()
	s.value()
	if s.err == nil {
		return nil
	}
	// The scan sees every member, the decoded value only the last of duplicate keys: it decides.
	tree, ok := parseAny(data)
	if !ok {
		var t any
		if err := json.Unmarshal(data, &t); err != nil {
			return fmt.Errorf("%w: %w", ErrIllegalAttachments, err)
		}
		tree = t
	}
	_, err := replacePlaceholders(tree, make([][]byte, attachments), 0, math.MaxInt, ErrIllegalAttachments)
	return err
}

type phScanner struct {
	data  []byte
	i     int
	n     int
	err   error
	spans []phSpan // with record: the placeholders found, outermost only, in text order
	// record asks for spans.
	record bool
}

// phSpan is a placeholder object in the text: data[start:end], naming attachment num (-1: none).
type phSpan struct {
	start, end, num int
}

func (s *phScanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value skips the value at s.i, checking the placeholders in it.
func (s *phScanner) value() {
	if s.i >= len(s.data) {
		return
	}
	switch s.data[s.i] {
	case '{':
		s.object()
	case '[':
		s.i++
		s.space()
		for s.i < len(s.data) && s.data[s.i] != ']' {
			s.value()
			s.space()
			if s.i < len(s.data) && s.data[s.i] == ',' {
				s.i++
				s.space()
			}
		}
		s.i++
	case '"':
		s.i = stringEnd(s.data, s.i)
	default: // a number or a literal
		for s.i < len(s.data) {
			switch s.data[s.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}

// object skips the object at s.i; when it is a placeholder, it checks its num and not its members' values.
func (s *phScanner) object() {
	start := s.i
	s.i++ // '{'
	outer, outerSpans := s.err, len(s.spans)
	placeholder, num := false, -1
	s.space()
	for s.i < len(s.data) && s.data[s.i] != '}' {
		start := s.i
		s.i = stringEnd(s.data, s.i)
		key := s.data[start+1 : s.i-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			k, _, _ := jsonstr.Unquote(s.data, start)
			key = []byte(k)
		}
		s.space()
		s.i++ // ':'
		s.space()
		v := s.i
		s.value()
		switch string(key) {
		case "_placeholder":
			placeholder = string(s.data[v:s.i]) == "true"
		case "num":
			num = s.index(s.data[v:s.i])
		}
		s.space()
		if s.i < len(s.data) && s.data[s.i] == ',' {
			s.i++
			s.space()
		}
	}
	s.i++ // '}'
	if placeholder {
		s.err = outer // what its members hold does not count
		if num < 0 && s.err == nil {
			s.err = ErrIllegalAttachments
		}
		if s.record {
			s.spans = append(s.spans[:outerSpans], phSpan{start: start, end: s.i, num: num})
		}
	}
}

// index returns the attachment the JSON value v names as a placeholder's num, or -1.
func (s *phScanner) index(v []byte) int {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return -1
	}
	// ParseFloat keeps no reference to its argument once it returns (an error, which would, is dropped).
	f, err := strconv.ParseFloat(unsafe.String(&v[0], len(v)), 64)
	if err != nil || f < 0 || f >= float64(s.n) || f != float64(int(f)) {
		return -1
	}
	return int(f)
}

// stringEnd returns the index just past the JSON string starting at data[i] (a quote).
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}
