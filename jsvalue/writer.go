package jsvalue

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// Writer appends one JavaScript value tree to a buffer, either as msgpack
// with the exact byte choices of notepack.io 3 (the codec of
// @socket.io/redis-adapter 8 and @socket.io/redis-emitter 5) or as JSON with
// the exact output of JSON.stringify. Both encodings go through the same
// calls, which is what keeps the two encodings of one value identical in
// meaning; Value writes a Go value by the rules of the package documentation.
//
// A tree is written as calls in document order: BeginArray(n) or
// BeginObject(n) announce a container of n elements (msgpack needs the count
// up front), then its elements (Key before each member's value), then
// EndArray or EndObject. Counts and nesting are the caller's contract: the
// Writer does not check them. Methods that return an error leave the buffer
// unusable on error; callers start again from the buffer they passed in.
//
// A Writer is a small value meant to live on the caller's stack; it is not
// safe for concurrent use.
type Writer struct {
	buf  []byte
	json bool
	// needComma: JSON separators need no stack. A comma is due before any key
	// or value that follows a complete value at the same level, and "{", "["
	// and ":" clear it.
	needComma bool
	binaries  int // []byte values written, in either encoding
	// placeholders selects the JSON of socket.io-parser: []byte becomes
	// {"_placeholder":true,"num":N} and is appended to attachments.
	placeholders bool
	attachments  [][]byte
}

// MsgpackWriter returns a Writer that appends msgpack to dst.
func MsgpackWriter(dst []byte) Writer { return Writer{buf: dst} }

// JSONWriter returns a Writer that appends JSON to dst. Binary data cannot be
// written: Binary and Value return ErrBinaryInJSON when they meet it.
func JSONWriter(dst []byte) Writer { return Writer{buf: dst, json: true} }

// PlaceholderWriter returns a Writer that appends JSON to dst as
// socket.io-parser writes a packet with binary attachments: each binary value
// becomes {"_placeholder":true,"num":N}, N counting from 0 in the order the
// values are written, and is appended to attachments (the slices are
// retained, not copied). Attachments returns the list.
func PlaceholderWriter(dst []byte, attachments [][]byte) Writer {
	return Writer{buf: dst, json: true, placeholders: true, attachments: attachments}
}

// Bytes returns the buffer with everything written so far. It is the
// Writer's buffer, not a copy: a caller may patch bytes it wrote itself (a
// msgpack type byte decided after the fact, for example).
func (w *Writer) Bytes() []byte { return w.buf }

// Len returns len(w.Bytes()): the offset the next value starts at.
func (w *Writer) Len() int { return len(w.buf) }

// IsJSON reports whether w writes JSON (as opposed to msgpack).
func (w *Writer) IsJSON() bool { return w.json }

// Binaries returns how many binary values have been written.
func (w *Writer) Binaries() int { return w.binaries }

// Attachments returns the binary values a PlaceholderWriter has replaced by
// placeholders, after the attachments it was given.
func (w *Writer) Attachments() [][]byte { return w.attachments }

// Value writes v, a Go value, by the rules of the package documentation.
// Errors wrap ErrUnsupportedValue, or are ErrBinaryInJSON.
func (w *Writer) Value(v any) error { return w.value(v, 0) }

// RawJSON writes JSON text as the value it denotes: re-encoded as msgpack,
// or, in JSON, as JSON.stringify writes what JSON.parse reads from it
// (insignificant space removed, strings and numbers in JSON.stringify's
// form, key order kept). A lone surrogate ("\ud800"), which a JavaScript
// string holds and a Go string cannot, is kept in JSON, escaped, and is
// U+FFFD in msgpack, which holds UTF-8. Errors wrap ErrUnsupportedValue
// (invalid JSON).
func (w *Writer) RawJSON(data []byte) error { return w.rawJSON(data, 0) }

func (w *Writer) sep() {
	if w.needComma {
		w.buf = append(w.buf, ',')
	}
}

func (w *Writer) Null() {
	if w.json {
		w.sep()
		w.buf = append(w.buf, "null"...)
		w.needComma = true
		return
	}
	w.buf = append(w.buf, 0xc0)
}

func (w *Writer) Bool(b bool) {
	if w.json {
		w.sep()
		if b {
			w.buf = append(w.buf, "true"...)
		} else {
			w.buf = append(w.buf, "false"...)
		}
		w.needComma = true
		return
	}
	if b {
		w.buf = append(w.buf, 0xc3)
	} else {
		w.buf = append(w.buf, 0xc2)
	}
}

func (w *Writer) Int(i int64) {
	if i >= 0 {
		w.Uint(uint64(i))
		return
	}
	if w.json {
		w.sep()
		w.buf = strconv.AppendInt(w.buf, i, 10)
		w.needComma = true
		return
	}
	switch {
	case i >= -32:
		w.buf = append(w.buf, byte(i))
	case i >= math.MinInt8:
		w.buf = append(w.buf, 0xd0, byte(i))
	case i >= math.MinInt16:
		w.buf = binary.BigEndian.AppendUint16(append(w.buf, 0xd1), uint16(i))
	case i >= math.MinInt32:
		w.buf = binary.BigEndian.AppendUint32(append(w.buf, 0xd2), uint32(i))
	default:
		w.buf = binary.BigEndian.AppendUint64(append(w.buf, 0xd3), uint64(i))
	}
}

func (w *Writer) Uint(u uint64) {
	if w.json {
		w.sep()
		w.buf = strconv.AppendUint(w.buf, u, 10)
		w.needComma = true
		return
	}
	switch {
	case u < 128:
		w.buf = append(w.buf, byte(u))
	case u <= math.MaxUint8:
		w.buf = append(w.buf, 0xcc, byte(u))
	case u <= math.MaxUint16:
		w.buf = binary.BigEndian.AppendUint16(append(w.buf, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		w.buf = binary.BigEndian.AppendUint32(append(w.buf, 0xce), uint32(u))
	default:
		w.buf = binary.BigEndian.AppendUint64(append(w.buf, 0xcf), u)
	}
}

// floatValue writes a JavaScript number. Integral values are written as
// integers, as notepack does for every integral Number, but only where the
// integer formats can hold them: notepack writes garbage for integral values
// of 2^64 and beyond (and below -2^63); we write those as float64.
func (w *Writer) Float(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return errorf(ErrUnsupportedValue, "%v has no JSON or JavaScript-wire representation", f)
	}
	if f == math.Trunc(f) {
		if f >= 0 && f < 1<<64 {
			w.Uint(uint64(f))
			return nil
		}
		if f < 0 && f >= -(1<<63) {
			w.Int(int64(f))
			return nil
		}
	}
	if w.json {
		w.sep()
		w.buf = appendJSFloat(w.buf, f)
		w.needComma = true
		return nil
	}
	w.buf = binary.BigEndian.AppendUint64(append(w.buf, 0xcb), math.Float64bits(f))
	return nil
}

// AppendJSONString appends s as a JSON string exactly as JavaScript's
// JSON.stringify writes it (no HTML escaping; invalid UTF-8 as U+FFFD).
func AppendJSONString(b []byte, s string) []byte { return appendJSONString(b, s) }

// AppendJSNumber appends f as JSON.stringify writes a number: integral
// values below 1e21 in plain digits, others in JavaScript's shortest form
// (1e-7, 1.5e+300), and null for NaN and ±Infinity.
func AppendJSNumber(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return append(b, "null"...)
	case f == math.Trunc(f) && math.Abs(f) < 1e21:
		return strconv.AppendFloat(b, f+0, 'f', 0, 64) // +0: -0 is written 0
	}
	return appendJSFloat(b, f)
}

// appendJSFloat formats a non-integral finite float the way JavaScript's
// Number#toString does (the ES6 rules encoding/json also follows).
func appendJSFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Go writes e-07 where JavaScript writes e-7.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// stringValue writes a string. Invalid UTF-8 bytes become U+FFFD, as both
// encoding/json and the Node decoders do, so the wire only carries valid UTF-8.
func (w *Writer) Str(s string) {
	if w.json {
		w.sep()
		w.buf = appendJSONString(w.buf, s)
		w.needComma = true
		return
	}
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
	}
	n := len(s)
	switch {
	case n < 32:
		w.buf = append(w.buf, 0xa0|byte(n))
	case n <= math.MaxUint8:
		w.buf = append(w.buf, 0xd9, byte(n))
	case n <= math.MaxUint16:
		w.buf = binary.BigEndian.AppendUint16(append(w.buf, 0xda), uint16(n))
	default:
		w.buf = binary.BigEndian.AppendUint32(append(w.buf, 0xdb), uint32(n))
	}
	w.buf = append(w.buf, s...)
}

func toValidUTF8(s string) string {
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// binValue writes binary data as msgpack bin. The JSON writer never reaches
// it: the encoders switch to msgpack as soon as an argument holds binary.
func (w *Writer) binValue(p []byte) {
	w.binaries++
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		w.buf = append(w.buf, 0xc4, byte(n))
	case n <= math.MaxUint16:
		w.buf = binary.BigEndian.AppendUint16(append(w.buf, 0xc5), uint16(n))
	default:
		w.buf = binary.BigEndian.AppendUint32(append(w.buf, 0xc6), uint32(n))
	}
	w.buf = append(w.buf, p...)
}

// beginArray starts an array of n elements.
func (w *Writer) BeginArray(n int) {
	if w.json {
		w.sep()
		w.buf = append(w.buf, '[')
		w.needComma = false
		return
	}
	w.buf = appendArrayHeader(w.buf, n)
}

func (w *Writer) EndArray() {
	if w.json {
		w.buf = append(w.buf, ']')
		w.needComma = true
	}
}

// beginMap starts a map of n entries.
func (w *Writer) BeginObject(n int) {
	if w.json {
		w.sep()
		w.buf = append(w.buf, '{')
		w.needComma = false
		return
	}
	w.buf = appendMapHeader(w.buf, n)
}

func (w *Writer) EndObject() {
	if w.json {
		w.buf = append(w.buf, '}')
		w.needComma = true
	}
}

// key writes a map key.
func (w *Writer) Key(k string) {
	if w.json {
		w.sep()
		w.buf = appendJSONString(w.buf, k)
		w.buf = append(w.buf, ':')
		w.needComma = false
		return
	}
	w.Str(k)
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
	}
}

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
	}
}

// insertHeader inserts a msgpack container header at offset start, once the
// element count of a container whose elements were already written is known.
func insertHeader(b []byte, start int, header []byte) []byte {
	n := len(header)
	b = append(b, header...) // grow by n
	copy(b[start+n:], b[start:len(b)-n])
	copy(b[start:], header)
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s exactly as JavaScript's JSON.stringify does: only
// '"', '\\' and control characters are escaped (no HTML escaping, unlike
// encoding/json). Invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
