// Package eventargs holds the arguments of a received Socket.IO event or acknowledgement (List: their JSON, with the
// binary placeholders {"_placeholder":true,"num":N}, and the attachments the placeholders name) and decodes them,
// placeholders replaced by their attachments. socketio.Args (the server) and client.Args (the client) are both
// built on it.
package eventargs

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"

	"github.com/sioredis/sioredis/jsvalue"
)

// Decode decodes raw into v as json.Unmarshal does, with attachments bufs: binary decodes into []byte wherever the
// target holds it, a []byte (the target, a field, an element) or an interface (an any field, the elements of an
// []any, the values of a map[string]any or of a jsvalue.Object, at any depth), which then holds the []byte
// attachment itself; into a string, binary decodes to its base64 text. Placeholders nested deeper than maxDepth,
// or naming no attachment, are errors wrapping malformed.
//
// Binary reaches the target through encoding/json as base64 text behind a mark (random '\r' and '\n', which base64
// decoding skips), so that a []byte target decodes it as any base64 text; once json.Unmarshal has returned, the
// marked strings it put in interfaces become the attachments again, and those in strings plain base64. A type
// with its own UnmarshalJSON or UnmarshalText sees the marked text.
func Decode(raw json.RawMessage, bufs [][]byte, v any, maxDepth int, malformed error) error {
	// An empty any (what Values decodes into) takes the fast path; a non-empty one may hold a pointer, which
	// json.Unmarshal decodes into.
	p, toAny := v.(*any)
	toAny = toAny && p != nil && *p == nil
	if len(bufs) == 0 && !toAny {
		return json.Unmarshal(raw, v)
	}
	if toAny {
		tree, ok := parseAny(raw)
		if !ok {
			var t any // apart from tree, which would otherwise escape on every call
			if err := json.Unmarshal(raw, &t); err != nil {
				return err
			}
			tree = t
		}
		if len(bufs) > 0 {
			var err error
			if tree, err = replacePlaceholders(tree, bufs, 0, maxDepth, malformed); err != nil {
				return err
			}
		}
		*p = tree
		return nil
	}
	if b, ok := v.(*[]byte); ok && b != nil {
		// The argument itself may be binary.
		s := phScanner{data: raw, n: len(bufs), record: true}
		s.space()
		s.value()
		if len(s.spans) == 1 && s.spans[0].num >= 0 && s.spans[0].start == skipSpace(raw, 0) {
			*b = bufs[s.spans[0].num]
			return nil
		}
	}
	return decodeMarked(raw, bufs, v, maxDepth, malformed)
}

// markBits is the length of the mark that precedes the base64 text of an attachment on its way through
// encoding/json: '\r' and '\n' (which base64 decoding skips) drawn at random for each decoding, so that no string
// a client sends is taken for an attachment.
const markBits = 40

// newMark returns a random mark, and its JSON text (without quotes).
func newMark() (string, string) {
	var m [markBits]byte
	var j [2 * markBits]byte
	bits := rand.Uint64()
	for i := range m {
		m[i], j[2*i], j[2*i+1] = '\r', '\\', 'r'
		if bits&(1<<i) != 0 {
			m[i], j[2*i+1] = '\n', 'n'
		}
	}
	return string(m[:]), string(j[:])
}

// decodeMarked decodes raw into v with each placeholder's text replaced by the string of mark and its
// attachment's base64 text, then puts the attachments back where v holds such a string in an interface.
func decodeMarked(raw json.RawMessage, bufs [][]byte, v any, maxDepth int, malformed error) error {
	s := phScanner{data: raw, n: len(bufs), record: true}
	s.space()
	s.value()
	if s.err != nil {
		// A bad placeholder: an error, unless it is the value of a key that a later one replaces.
		if err := CheckPlaceholders(raw, len(bufs)); err != nil {
			return fmt.Errorf("%w: bad binary placeholder", malformed)
		}
	}
	if len(s.spans) == 0 {
		return json.Unmarshal(raw, v)
	}
	mark, markJSON := newMark()
	marks := make([]string, len(bufs))
	size := len(raw)
	for _, sp := range s.spans {
		if sp.num >= 0 && marks[sp.num] == "" {
			marks[sp.num] = mark + base64.StdEncoding.EncodeToString(bufs[sp.num])
			size += len(marks[sp.num]) + len(markJSON)
		}
	}
	text := make([]byte, 0, size)
	last := 0
	for _, sp := range s.spans {
		if sp.num < 0 {
			continue // in a member that a later duplicate key replaces
		}
		text = append(text, raw[last:sp.start]...)
		text = append(text, '"')
		text = append(text, markJSON...)
		text = append(text, marks[sp.num][len(mark):]...)
		text = append(text, '"')
		last = sp.end
	}
	text = append(text, raw[last:]...)
	if err := json.Unmarshal(text, v); err != nil {
		return err
	}
	r := restorer{mark: mark, marks: marks, bufs: bufs, maxDepth: max(maxDepth, 1) * 4}
	r.walk(reflect.ValueOf(v).Elem(), 0) // json.Unmarshal has checked that v is a non-nil pointer
	return nil
}

// restorer walks a decoded value and replaces the marked strings: by the attachment in an interface, by the
// plain base64 text in a string.
type restorer struct {
	mark     string
	marks    []string
	bufs     [][]byte
	maxDepth int
	seen     map[uintptr]bool // pointers walked already (a value set before decoding may share or cycle)
}

// find returns the attachment whose marked text s is, or -1.
func (r *restorer) find(s string) int {
	if len(s) <= len(r.mark) || s[:len(r.mark)] != r.mark {
		return -1
	}
	for i, m := range r.marks {
		if m == s {
			return i
		}
	}
	return -1
}

func (r *restorer) walk(v reflect.Value, depth int) {
	if depth > r.maxDepth || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if e.Kind() == reflect.String {
			if i := r.find(e.String()); i >= 0 && v.CanSet() {
				v.Set(reflect.ValueOf(r.bufs[i]))
			}
			return
		}
		r.walk(e, depth+1)
	case reflect.Pointer:
		if v.IsNil() || !mayHoldMark(v.Type().Elem()) {
			return
		}
		if r.seen == nil {
			r.seen = make(map[uintptr]bool)
		}
		if r.seen[v.Pointer()] {
			return
		}
		r.seen[v.Pointer()] = true
		r.walk(v.Elem(), depth+1)
	case reflect.String:
		if i := r.find(v.String()); i >= 0 && v.CanSet() {
			v.SetString(r.marks[i][len(r.mark):])
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && mayHoldMark(f.Type) {
				r.walk(v.Field(i), depth+1)
			}
		}
	case reflect.Slice, reflect.Array:
		if !mayHoldMark(v.Type().Elem()) {
			return
		}
		for i := range v.Len() {
			r.walk(v.Index(i), depth+1)
		}
	case reflect.Map:
		et := v.Type().Elem()
		if v.IsNil() || !mayHoldMark(et) {
			return
		}
		it := v.MapRange()
		for it.Next() {
			e := it.Value()
			switch e.Kind() {
			case reflect.Interface:
				if !e.IsNil() && e.Elem().Kind() == reflect.String {
					if i := r.find(e.Elem().String()); i >= 0 {
						v.SetMapIndex(it.Key(), reflect.ValueOf(r.bufs[i]))
					}
					continue
				}
				r.walk(e.Elem(), depth+1) // a map or a slice: changed in place
			case reflect.Pointer, reflect.Map, reflect.Slice:
				r.walk(e, depth+1)
			default: // a string, a struct or an array: walked in a copy, put back
				c := reflect.New(et).Elem()
				c.Set(e)
				r.walk(c, depth+1)
				v.SetMapIndex(it.Key(), c)
			}
		}
	}
}

var holdsMark sync.Map // reflect.Type → bool

// mayHoldMark reports whether a value of type t may hold a marked string: a string or an interface, reachable
// through exported fields, elements and pointers ([]byte aside).
func mayHoldMark(t reflect.Type) bool {
	if v, ok := holdsMark.Load(t); ok {
		return v.(bool)
	}
	holdsMark.Store(t, true) // while it is worked out: a recursive type holds what it holds
	h := computeHoldsMark(t)
	holdsMark.Store(t, h)
	return h
}

func computeHoldsMark(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.String:
		return true
	case reflect.Pointer, reflect.Array:
		return mayHoldMark(t.Elem())
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Uint8 && mayHoldMark(t.Elem())
	case reflect.Map:
		return mayHoldMark(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && mayHoldMark(f.Type) {
				return true
			}
		}
	}
	return false
}

func replacePlaceholders(v any, bufs [][]byte, depth, maxDepth int, malformed error) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deep", malformed)
	}
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			r, err := replacePlaceholders(e, bufs, depth+1, maxDepth, malformed)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	case map[string]any:
		if ph, ok := x["_placeholder"].(bool); ok && ph {
			num, ok := x["num"].(float64)
			if !ok || num < 0 || int(num) >= len(bufs) || float64(int(num)) != num {
				return nil, fmt.Errorf("%w: bad binary placeholder", malformed)
			}
			return bufs[int(num)], nil
		}
		for k, e := range x {
			r, err := replacePlaceholders(e, bufs, depth+1, maxDepth, malformed)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	case jsvalue.Object:
		if i, ok := objectPlaceholder(x); ok {
			if i < 0 || i >= len(bufs) {
				return nil, fmt.Errorf("%w: bad binary placeholder", malformed)
			}
			return bufs[i], nil
		}
		for k := range x {
			r, err := replacePlaceholders(x[k].Value, bufs, depth+1, maxDepth, malformed)
			if err != nil {
				return nil, err
			}
			x[k].Value = r
		}
	}
	return v, nil
}

// objectPlaceholder reports whether o is a placeholder ("_placeholder" true), and the attachment its num names
// (-1 for none: not an integer, as DecodeJSONOrdered decodes it).
func objectPlaceholder(o jsvalue.Object) (int, bool) {
	ph, num := false, any(nil)
	for _, m := range o {
		switch m.Key {
		case "_placeholder":
			ph = m.Value == true
		case "num":
			num = m.Value
		}
	}
	if !ph {
		return 0, false
	}
	switch n := num.(type) {
	case int64:
		if n >= 0 && n <= 1<<31 {
			return int(n), true
		}
	case float64:
		if n >= 0 && n <= 1<<31 && n == float64(int(n)) {
			return int(n), true
		}
	}
	return -1, true
}

// DecodeOrdered decodes raw as jsvalue.DecodeJSONOrdered does (objects as jsvalue.Object, keys in their order),
// the placeholders replaced by their attachments.
func DecodeOrdered(raw json.RawMessage, bufs [][]byte, maxDepth int, malformed error) (any, error) {
	v, err := jsvalue.DecodeJSONOrdered(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", malformed, err)
	}
	if len(bufs) == 0 {
		return v, nil
	}
	return replacePlaceholders(v, bufs, 0, maxDepth, malformed)
}
