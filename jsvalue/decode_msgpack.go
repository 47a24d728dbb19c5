package jsvalue

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"
)

// Ext is a msgpack extension value other than the timestamp extension
// (type -1), which decodes to a time.Time.
type Ext struct {
	// Type is the application-defined extension type.
	Type int8
	// Data is the extension payload, copied out of the input.
	Data []byte
}

// DecodeMsgpack decodes exactly one msgpack value, as notepack.io (the codec
// of the Node adapters) reads it, into plain Go values:
//
//   - nil → nil, bool → bool
//   - integers → int64, or uint64 when above math.MaxInt64
//   - float32 and float64 → float64
//   - str → string (bytes kept as they are, not UTF-8 checked)
//   - bin → []byte (a copy)
//   - array → []any
//   - map → map[string]any; keys that are not strings are converted to the
//     property name JavaScript would use (1 → "1", true → "true",
//     nil → "null", [1,2] → "1,2", a map → "[object Object]"), and the
//     last of duplicate keys wins
//   - ext -1 (timestamp, 32, 64 or 96 bits) → time.Time in UTC
//   - any other ext → Ext
//
// Malformed input — a truncated value, the reserved byte 0xc1, a length
// larger than what is left of the input, an invalid timestamp, nesting deeper
// than 1000 levels, or bytes after the value — returns an error wrapping
// ErrMalformed. The decoder never panics, and it never allocates more than a
// small multiple of len(b): every length is checked against the remaining
// input before anything is allocated.
func DecodeMsgpack(b []byte) (any, error) {
	// A first pass checks the whole input without building anything, so
	// that the second one can trust every count: malformed input allocates
	// nothing, and well-formed input no more than its values need.
	d := mpDecoder{buf: b}
	if _, err := d.value(0); err != nil {
		return nil, err
	}
	if d.pos != len(d.buf) {
		return nil, errorf(ErrMalformed, "msgpack: %d trailing bytes after the value", len(d.buf)-d.pos)
	}
	d = mpDecoder{buf: b, build: true}
	return d.value(0)
}

// mpDecoder reads msgpack values from buf. Without build it only checks
// them, and returns nil for every value.
type mpDecoder struct {
	buf   []byte
	pos   int
	build bool
	// ordered builds maps as Object, keys in wire order (DecodeMsgpackOrdered).
	ordered bool
	// notepack2 reads extension type 0 as notepack.io 2 writes it (DecodeNotepack2).
	notepack2 bool
}

// Undefined is JavaScript's undefined, as DecodeNotepack2 returns it.
type Undefined struct{}

// DecodeNotepack2 decodes exactly one msgpack value as notepack.io 2 (the codec of socket.io-msgpack-parser 3)
// reads it: as DecodeMsgpack does, except that maps are Objects, keys in wire order, and that extension type 0
// is notepack 2's: fixext 1 is undefined (Undefined), fixext 8 a Date (time.Time, milliseconds), ext 8/16/32 an
// ArrayBuffer ([]byte). Errors and bounds are DecodeMsgpack's.
func DecodeNotepack2(b []byte) (any, error) {
	d := mpDecoder{buf: b}
	if _, err := d.value(0); err != nil {
		return nil, err
	}
	if d.pos != len(d.buf) {
		return nil, errorf(ErrMalformed, "msgpack: %d trailing bytes after the value", len(d.buf)-d.pos)
	}
	d = mpDecoder{buf: b, build: true, ordered: true, notepack2: true}
	return d.value(0)
}

func (d *mpDecoder) fail(format string, args ...any) error {
	return errorf(ErrMalformed, "msgpack at offset %d: "+format, append([]any{d.pos}, args...)...)
}

// take returns the next n bytes, or an error when fewer are left.
func (d *mpDecoder) take(n uint64) ([]byte, error) {
	if n > uint64(len(d.buf)-d.pos) {
		return nil, d.fail("%d bytes announced, %d left", n, len(d.buf)-d.pos)
	}
	p := d.buf[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return p, nil
}

// uintN reads a big-endian unsigned integer of size bytes (1, 2, 4 or 8).
func (d *mpDecoder) uintN(size int) (uint64, error) {
	p, err := d.take(uint64(size))
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	default:
		return binary.BigEndian.Uint64(p), nil
	}
}

func (d *mpDecoder) value(depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, d.fail("nested deeper than %d levels", MaxDepth)
	}
	if d.pos >= len(d.buf) {
		return nil, d.fail("unexpected end of input")
	}
	c := d.buf[d.pos]
	d.pos++
	switch {
	case c <= 0x7f:
		return d.i64(int64(c)), nil
	case c >= 0xe0:
		return d.i64(int64(int8(c))), nil
	case c >= 0x80 && c <= 0x8f:
		return d.mapValue(uint64(c&0x0f), depth)
	case c >= 0x90 && c <= 0x9f:
		return d.arrayValue(uint64(c&0x0f), depth)
	case c >= 0xa0 && c <= 0xbf:
		return d.str(uint64(c & 0x1f))
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6: // bin 8/16/32
		n, err := d.uintN(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		p, err := d.take(n)
		if err != nil || !d.build {
			return nil, err
		}
		return append([]byte{}, p...), nil
	case 0xc7, 0xc8, 0xc9: // ext 8/16/32
		n, err := d.uintN(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return d.ext(n, false)
	case 0xca:
		u, err := d.uintN(4)
		if err != nil {
			return nil, err
		}
		return d.f64(float64(math.Float32frombits(uint32(u)))), nil
	case 0xcb:
		u, err := d.uintN(8)
		if err != nil {
			return nil, err
		}
		return d.f64(math.Float64frombits(u)), nil
	case 0xcc, 0xcd, 0xce, 0xcf: // uint 8/16/32/64
		u, err := d.uintN(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		if u > math.MaxInt64 {
			if !d.build {
				return nil, nil
			}
			return u, nil
		}
		return d.i64(int64(u)), nil
	case 0xd0, 0xd1, 0xd2, 0xd3: // int 8/16/32/64
		size := 1 << (c - 0xd0)
		u, err := d.uintN(size)
		if err != nil {
			return nil, err
		}
		switch size {
		case 1:
			return d.i64(int64(int8(u))), nil
		case 2:
			return d.i64(int64(int16(u))), nil
		case 4:
			return d.i64(int64(int32(u))), nil
		default:
			return d.i64(int64(u)), nil
		}
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1/2/4/8/16
		return d.ext(1<<(c-0xd4), true)
	case 0xd9, 0xda, 0xdb: // str 8/16/32
		n, err := d.uintN(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return d.str(n)
	case 0xdc, 0xdd: // array 16/32
		n, err := d.uintN(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.arrayValue(n, depth)
	case 0xde, 0xdf: // map 16/32
		n, err := d.uintN(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.mapValue(n, depth)
	}
	d.pos--
	return nil, d.fail("invalid byte 0x%02x", c)
}

// i64 and f64 box a number only when building (boxing allocates).
func (d *mpDecoder) i64(v int64) any {
	if !d.build {
		return nil
	}
	return v
}

func (d *mpDecoder) f64(v float64) any {
	if !d.build {
		return nil
	}
	return v
}

func (d *mpDecoder) str(n uint64) (any, error) {
	p, err := d.take(n)
	if err != nil || !d.build {
		return nil, err
	}
	return string(p), nil
}

func (d *mpDecoder) arrayValue(n uint64, depth int) (any, error) {
	// Every element takes at least one byte.
	if n > uint64(len(d.buf)-d.pos) {
		return nil, d.fail("array of %d elements, %d bytes left", n, len(d.buf)-d.pos)
	}
	if !d.build {
		for range n {
			if _, err := d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	list := make([]any, n)
	for i := range list {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		list[i] = v
	}
	return list, nil
}

func (d *mpDecoder) mapValue(n uint64, depth int) (any, error) {
	// Every key and every value takes at least one byte.
	if n > uint64(len(d.buf)-d.pos)/2 {
		return nil, d.fail("map of %d entries, %d bytes left", n, len(d.buf)-d.pos)
	}
	if !d.build {
		for range 2 * n {
			if _, err := d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	if d.ordered {
		return d.orderedMap(n, depth)
	}
	m := make(map[string]any, n)
	for range n {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[propertyName(k)] = v
	}
	return m, nil
}

// ext reads the type byte and n data bytes of an extension value (fixed: a fixext).
func (d *mpDecoder) ext(n uint64, fixed bool) (any, error) {
	tp, err := d.take(1)
	if err != nil {
		return nil, err
	}
	typ := int8(tp[0])
	p, err := d.take(n)
	if err != nil {
		return nil, err
	}
	if typ == 0 && d.notepack2 && d.build {
		switch {
		case !fixed: // an ArrayBuffer
			return append([]byte{}, p...), nil
		case n == 1:
			return Undefined{}, nil
		case n == 8: // a Date: milliseconds since the epoch, as a signed 64-bit number
			ms := int64(binary.BigEndian.Uint64(p))
			return time.UnixMilli(ms).UTC(), nil
		}
	}
	if typ != -1 {
		if !d.build {
			return nil, nil
		}
		return Ext{Type: typ, Data: append([]byte{}, p...)}, nil
	}
	var sec int64
	var nsec uint32
	switch len(p) {
	case 4:
		sec = int64(binary.BigEndian.Uint32(p))
	case 8:
		u := binary.BigEndian.Uint64(p)
		nsec, sec = uint32(u>>34), int64(u&(1<<34-1))
	case 12:
		nsec, sec = binary.BigEndian.Uint32(p), int64(binary.BigEndian.Uint64(p[4:]))
	default:
		return nil, d.fail("timestamp extension of %d bytes (want 4, 8 or 12)", len(p))
	}
	if nsec > 999_999_999 {
		return nil, d.fail("timestamp with %d nanoseconds", nsec)
	}
	if !d.build {
		return nil, nil
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

// propertyName converts a decoded map key to the string JavaScript uses as
// the property name when notepack.io stores it in an object (String(key)).
func propertyName(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(k)
	case int64:
		return strconv.FormatInt(k, 10)
	case uint64:
		return NumberString(float64(k)) // JavaScript numbers are doubles
	case float64:
		return NumberString(k)
	case []byte:
		return string(k) // Buffer#toString decodes UTF-8
	case []any:
		parts := make([]string, len(k))
		for i, e := range k {
			if e != nil {
				parts[i] = propertyName(e)
			}
		}
		return strings.Join(parts, ",")
	case time.Time:
		return string(appendJSDate(nil, k))
	case Ext:
		// notepack.io reads an unknown extension as [type, Buffer].
		return strconv.Itoa(int(k.Type)) + "," + string(k.Data)
	}
	return "[object Object]"
}

// jsNumberString formats a float64 as JavaScript's Number#toString does.
func NumberString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	case f == math.Trunc(f) && math.Abs(f) < 1e21:
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	s := string(appendJSFloat(nil, f))
	// JavaScript writes exponents with an explicit sign: 1e+21.
	if i := strings.IndexByte(s, 'e'); i >= 0 && s[i+1] != '-' && s[i+1] != '+' {
		s = s[:i+1] + "+" + s[i+1:]
	}
	return s
}

// DecodeMsgpackOrdered decodes exactly one msgpack value like DecodeMsgpack, except
// that maps are Object values whose keys keep their order on the wire (a duplicate
// key keeps its first place and takes the last value, as in JavaScript).
func DecodeMsgpackOrdered(b []byte) (any, error) {
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
	b := objectBuilder{o: make(Object, 0, n)}
	for range n {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		b.set(propertyName(k), v)
	}
	return b.o, nil
}
