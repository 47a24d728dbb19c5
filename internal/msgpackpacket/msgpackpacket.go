// Package msgpackpacket reads the packets of socket.io-msgpack-parser 3 (a msgpack map {type, data, nsp, id} as
// notepack.io 2 writes it) with the checks of that parser's decoder, and writes their payloads as the JSON, binary
// as placeholders, that socketio.Args and client.Args hold. socketio/msgpackparser (the server) and package
// client share it.
//
// A payload is never built as Go values: it stays msgpack until it is written as JSON in one pass
// (jsvalue.Writer.Notepack2), so that a packet takes memory in proportion to its JSON (at most a few times its
// bytes: a nil, one byte, is "null,"), not a Go value per element.
package msgpackpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/sioredis/sioredis/jsvalue"
)

// ErrBad is wrapped by every error of Decode and of Packet's methods.
var ErrBad = errors.New("msgpack parser")

// Packet is a decoded packet, checked as socket.io-msgpack-parser's Decoder checks it.
type Packet struct {
	Type int
	Nsp  string
	// ID is the ack id; HasID says whether there is one (it may be negative: the parser accepts any integer).
	ID    int64
	HasID bool
	// Payload is the msgpack of the payload (a map, an array or a str, as the type requires), nil when absent
	// or undefined. It aliases the message.
	Payload []byte
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBad}, args...)...)
}

// kind is the class of a msgpack value, from its first byte.
type kind uint8

const (
	kindOther kind = iota
	kindMap
	kindArray
	kindStr
	kindUndefined // notepack 2's undefined: fixext 1 of type 0
)

func kindOf(v []byte) kind {
	switch c := v[0]; {
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		return kindMap
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		return kindArray
	case c >= 0xa0 && c <= 0xbf, c >= 0xd9 && c <= 0xdb:
		return kindStr
	case c == 0xd4 && v[1] == 0:
		return kindUndefined
	}
	return kindOther
}

// header reads the header of a map or an array at v[0] (a kindMap or kindArray value): its count of entries or
// elements, and its length.
func header(v []byte) (n, size int) {
	switch c := v[0]; {
	case c <= 0x9f: // fixmap, fixarray
		return int(c & 0x0f), 1
	case c == 0xdc, c == 0xde:
		return int(binary.BigEndian.Uint16(v[1:])), 3
	default: // 0xdd, 0xdf
		return int(binary.BigEndian.Uint32(v[1:])), 5
	}
}

// Decode decodes one binary message: an integer type from 0 to 4, a string namespace, a payload of the type's
// shape (CONNECT: none or an object; DISCONNECT: none; CONNECT_ERROR: a string or an object; EVENT, ACK: an
// array), an integer id or none. It checks the whole message but decodes only the type, the namespace and the id.
func Decode(b []byte) (Packet, error) {
	var p Packet
	n, err := jsvalue.MsgpackLen(b)
	if err != nil {
		return p, bad("%w", err)
	}
	if n != len(b) {
		return p, bad("msgpack: %d trailing bytes after the value", len(b)-n)
	}
	var typ, nsp, data, id []byte // the values of the keys, the last of duplicates (as in a JavaScript object)
	if kindOf(b) == kindMap {
		entries, pos := header(b)
		for range entries {
			k, _ := jsvalue.MsgpackLen(b[pos:])
			key := propertyName(b[pos : pos+k])
			pos += k
			v, _ := jsvalue.MsgpackLen(b[pos:])
			switch key {
			case "type":
				typ = b[pos : pos+v]
			case "nsp":
				nsp = b[pos : pos+v]
			case "data":
				data = b[pos : pos+v]
			case "id":
				id = b[pos : pos+v]
			}
			pos += v
		}
	}
	t, ok := integer(typ)
	if !ok || t < 0 || t > 4 {
		return p, bad("invalid packet type")
	}
	p.Type = int(t)
	if nsp == nil || kindOf(nsp) != kindStr {
		return p, bad("invalid namespace")
	}
	s, _ := jsvalue.DecodeNotepack2(nsp)
	p.Nsp = s.(string)
	hasData := data != nil && kindOf(data) != kindUndefined // present, null included
	if hasData {
		p.Payload = data
	}
	if id != nil && kindOf(id) != kindUndefined {
		if p.ID, ok = integer(id); !ok {
			return p, bad("invalid packet id")
		}
		p.HasID = true
	}
	k := kindOther
	if hasData {
		k = kindOf(data)
	}
	var valid bool
	switch p.Type {
	case 0:
		valid = !hasData || k == kindMap
	case 1:
		valid = !hasData
	case 4:
		valid = k == kindMap || k == kindStr
	default:
		valid = k == kindArray
	}
	if !valid {
		return p, bad("invalid payload")
	}
	return p, nil
}

// propertyName returns the property name a key takes in a JavaScript object (String(key)): a str as it is,
// anything else as notepack 2 decodes it and JavaScript converts it.
func propertyName(k []byte) string {
	if kindOf(k) == kindStr {
		v, _ := jsvalue.DecodeNotepack2(k)
		return v.(string)
	}
	// Rare (no client writes it): the key of a one-entry map, decoded as DecodeNotepack2 names it.
	m := append(append([]byte{0x81}, k...), 0xc0)
	v, _ := jsvalue.DecodeNotepack2(m)
	return v.(jsvalue.Object)[0].Key
}

// integer returns the value at v as an integer when it is one (JavaScript's Number.isInteger); containers are
// not decoded.
func integer(v []byte) (int64, bool) {
	if v == nil || kindOf(v) == kindMap || kindOf(v) == kindArray {
		return 0, false
	}
	d, err := jsvalue.DecodeNotepack2(v)
	if err != nil {
		return 0, false
	}
	switch x := d.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) && x >= -(1<<63) && x < 1<<63 {
			return int64(x), true
		}
	case uint64:
		return math.MaxInt64, true // an integer, too large for any field
	}
	return 0, false
}

// IsArray reports whether the payload is an array (EVENT, ACK); IsString whether it is a str (a CONNECT_ERROR's
// message alone).
func (p Packet) IsArray() bool  { return p.Payload != nil && kindOf(p.Payload) == kindArray }
func (p Packet) IsString() bool { return p.Payload != nil && kindOf(p.Payload) == kindStr }

// String returns a str payload.
func (p Packet) String() string {
	if !p.IsString() {
		return ""
	}
	v, _ := jsvalue.DecodeNotepack2(p.Payload)
	return v.(string)
}

// First returns the first element of an array payload when it is a str (an EVENT's name).
func (p Packet) First() (string, bool) {
	if !p.IsArray() {
		return "", false
	}
	n, size := header(p.Payload)
	if n == 0 {
		return "", false
	}
	e := p.Payload[size:]
	if kindOf(e) != kindStr {
		return "", false
	}
	l, _ := jsvalue.MsgpackLen(e)
	v, _ := jsvalue.DecodeNotepack2(e[:l])
	return v.(string), true
}

// JSON returns the payload as JSON.stringify writes what notepack 2 decodes (binary as placeholders numbering
// bufs, which alias the message; undefined as null in arrays and absent in objects; NaN and infinities as null;
// another extension (type T, data D) as [T, D]); nil without a payload. With dropName, the first element of an
// array payload, an EVENT's name (a str: First), is left out.
func (p Packet) JSON(dropName bool) ([]byte, [][]byte, error) {
	if p.Payload == nil {
		return nil, nil, nil
	}
	// One buffer, sized by Notepack2 for the whole payload.
	w := jsvalue.PlaceholderWriter(nil, nil)
	if _, err := w.Notepack2(p.Payload); err != nil {
		return nil, nil, bad("%w", err)
	}
	data := w.Bytes()
	if _, ok := p.First(); dropName && ok {
		// ["name",...]: the array starts again where the name ends (a string holds no placeholder).
		end := 2
		for end < len(data) && data[end] != '"' {
			if data[end] == '\\' {
				end++
			}
			end++
		}
		end++ // the closing quote: now at ',' or ']'
		if data[end] == ']' {
			return []byte("[]"), w.Attachments(), nil
		}
		data[end] = '['
		data = data[end:]
	}
	return data, w.Attachments(), nil
}
