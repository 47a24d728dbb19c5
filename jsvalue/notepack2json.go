package jsvalue

import (
	"encoding/binary"
	"math"
	"time"
	"unsafe"
)

// MsgpackLen returns the length of the msgpack value at the start of b, checked as DecodeMsgpack checks a value
// (errors wrap ErrMalformed), without building anything.
func MsgpackLen(b []byte) (int, error) {
	d := mpDecoder{buf: b}
	if _, err := d.value(0); err != nil {
		return 0, err
	}
	return d.pos, nil
}

// Notepack2 writes the msgpack value at the start of b as the JSON that JSON.stringify writes of the value
// notepack.io 2 decodes from it (what DecodeNotepack2 returns): undefined is null in an array or alone and leaves
// its member out of an object, NaN and infinities are null, a Date is its ISO string, an ArrayBuffer or bin is
// binary, another extension (type T, data D) is the array [T, D] with D binary, and object keys keep their wire
// order (a duplicate key keeps its first place and takes the last value). It returns the length of the value.
//
// w must write JSON: a PlaceholderWriter, where binary becomes placeholders and the attachments are sub-slices of
// b (not copies), or a JSONWriter for values without binary (else ErrBinaryInJSON). The value is checked first
// as DecodeNotepack2 checks it (errors wrap ErrMalformed, and nothing is written), then written in one pass that
// builds no value: the memory it takes is what w appends, plus an index of the keys of each map of more than 16
// entries.
func (w *Writer) Notepack2(b []byte) (int, error) {
	if !w.json {
		return 0, errorf(ErrUnsupportedValue, "Notepack2 writes JSON only")
	}
	n, err := MsgpackLen(b)
	if err != nil {
		return 0, err
	}
	d := mpDecoder{buf: b[:n], notepack2: true}
	w.grow(d.jsonSize(0))
	d.pos = 0
	if err := d.emit(w, 0); err != nil {
		return 0, err
	}
	return n, nil
}

// grow makes room for n more bytes, at least doubling the buffer when it must move it: a buffer written by many
// calls then costs about twice its final size in all, where append's growth by a quarter costs five times.
func (w *Writer) grow(n int) {
	if cap(w.buf)-len(w.buf) >= n {
		return
	}
	b := make([]byte, len(w.buf), max(2*cap(w.buf), len(w.buf)+n))
	copy(b, w.buf)
	w.buf = b
}

// jsonSize returns at least the length of what emit writes for the value at d.pos (checked), a separator
// included, so that the buffer is allocated once: exact for the common values, an upper bound for numbers and
// the rare ones.
func (d *mpDecoder) jsonSize(depth int) int {
	c := d.buf[d.pos]
	d.pos++
	switch {
	case c <= 0x7f || c >= 0xe0:
		return 5 // "-32," at most
	case c >= 0x80 && c <= 0x8f:
		return d.mapSize(uint64(c&0x0f), depth)
	case c >= 0x90 && c <= 0x9f:
		return d.arraySize(uint64(c&0x0f), depth)
	case c >= 0xa0 && c <= 0xbf:
		return d.strSize(uint64(c & 0x1f))
	}
	switch c {
	case 0xc0, 0xc2, 0xc3:
		return 6 // "false,"
	case 0xc4, 0xc5, 0xc6: // bin
		n, _ := d.uintN(1 << (c - 0xc4))
		d.pos += int(n)
		return placeholderSize
	case 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // ext, fixext
		var n uint64
		if c <= 0xc9 {
			n, _ = d.uintN(1 << (c - 0xc7))
		} else {
			n = 1 << (c - 0xd4)
		}
		d.pos += 1 + int(n)
		return 8 + placeholderSize // [T,placeholder], a Date's string, null
	case 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3:
		switch {
		case c == 0xca:
			d.pos += 4
		case c == 0xcb:
			d.pos += 8
		case c <= 0xcf:
			d.pos += 1 << (c - 0xcc)
		default:
			d.pos += 1 << (c - 0xd0)
		}
		return 26 // -1.7976931348623157e+308,
	case 0xd9, 0xda, 0xdb:
		n, _ := d.uintN(1 << (c - 0xd9))
		return d.strSize(n)
	case 0xdc, 0xdd:
		n, _ := d.uintN(2 << (c - 0xdc))
		return d.arraySize(n, depth)
	case 0xde, 0xdf:
		n, _ := d.uintN(2 << (c - 0xde))
		return d.mapSize(n, depth)
	}
	return 0
}

// placeholderSize bounds the length of {"_placeholder":true,"num":N}, with a separator.
const placeholderSize = len(`{"_placeholder":true,"num":}`) + 20 + 1

// strSize bounds the JSON of a str of n bytes: escapes take 2 or 6 bytes, a byte of invalid UTF-8 becomes 3.
func (d *mpDecoder) strSize(n uint64) int {
	p, _ := d.take(n)
	size := 3 // quotes, separator
	for _, c := range p {
		switch {
		case c < 0x20:
			size += 6
		case c == '"' || c == '\\':
			size += 2
		case c < 0x80:
			size++
		default:
			size += 3
		}
	}
	return size
}

func (d *mpDecoder) arraySize(n uint64, depth int) int {
	size := 3
	for range n {
		size += d.jsonSize(depth + 1)
	}
	return size
}

func (d *mpDecoder) mapSize(n uint64, depth int) int {
	size := 3
	for range n {
		if c := d.buf[d.pos]; c >= 0xa0 && c <= 0xbf || c >= 0xd9 && c <= 0xdb {
			size += d.jsonSize(depth + 1)
		} else {
			// Another key becomes a property name of at most 3 bytes per byte of its value (a Buffer's text),
			// each then escaped in at most 6, or a number or "[object Object]".
			start := d.pos
			_, _ = d.value(depth + 1)
			size += 18*(d.pos-start) + 32
		}
		size += d.jsonSize(depth + 1)
	}
	return size
}

// emit writes the value at d.pos to w (d.buf has been checked: the reads cannot fail).
func (d *mpDecoder) emit(w *Writer, depth int) error {
	c := d.buf[d.pos]
	d.pos++
	switch {
	case c <= 0x7f:
		w.Int(int64(c))
		return nil
	case c >= 0xe0:
		w.Int(int64(int8(c)))
		return nil
	case c >= 0x80 && c <= 0x8f:
		return d.emitMap(w, uint64(c&0x0f), depth)
	case c >= 0x90 && c <= 0x9f:
		return d.emitArray(w, uint64(c&0x0f), depth)
	case c >= 0xa0 && c <= 0xbf:
		d.emitStr(w, uint64(c&0x1f))
		return nil
	}
	switch c {
	case 0xc0:
		w.Null()
	case 0xc2:
		w.Bool(false)
	case 0xc3:
		w.Bool(true)
	case 0xc4, 0xc5, 0xc6: // bin 8/16/32
		n, _ := d.uintN(1 << (c - 0xc4))
		p, _ := d.take(n)
		return w.Binary(p)
	case 0xc7, 0xc8, 0xc9: // ext 8/16/32
		n, _ := d.uintN(1 << (c - 0xc7))
		return d.emitExt(w, n, false)
	case 0xca:
		u, _ := d.uintN(4)
		return emitFloat(w, float64(math.Float32frombits(uint32(u))))
	case 0xcb:
		u, _ := d.uintN(8)
		return emitFloat(w, math.Float64frombits(u))
	case 0xcc, 0xcd, 0xce, 0xcf: // uint 8/16/32/64
		u, _ := d.uintN(1 << (c - 0xcc))
		if u > math.MaxInt64 {
			w.Uint(u)
		} else {
			w.Int(int64(u))
		}
	case 0xd0, 0xd1, 0xd2, 0xd3: // int 8/16/32/64
		size := 1 << (c - 0xd0)
		u, _ := d.uintN(size)
		switch size {
		case 1:
			w.Int(int64(int8(u)))
		case 2:
			w.Int(int64(int16(u)))
		case 4:
			w.Int(int64(int32(u)))
		default:
			w.Int(int64(u))
		}
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1/2/4/8/16
		return d.emitExt(w, 1<<(c-0xd4), true)
	case 0xd9, 0xda, 0xdb: // str 8/16/32
		n, _ := d.uintN(1 << (c - 0xd9))
		d.emitStr(w, n)
	case 0xdc, 0xdd: // array 16/32
		n, _ := d.uintN(2 << (c - 0xdc))
		return d.emitArray(w, n, depth)
	case 0xde, 0xdf: // map 16/32
		n, _ := d.uintN(2 << (c - 0xde))
		return d.emitMap(w, n, depth)
	}
	return nil
}

func emitFloat(w *Writer, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.Null() // JSON.stringify writes them as null
		return nil
	}
	return w.Float(f)
}

// emitStr writes a str of n bytes; Str copies it (and replaces invalid UTF-8), so it is read in place.
func (d *mpDecoder) emitStr(w *Writer, n uint64) {
	p, _ := d.take(n)
	w.Str(bytesString(p))
}

func bytesString(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	return unsafe.String(&p[0], len(p))
}

func (d *mpDecoder) emitExt(w *Writer, n uint64, fixed bool) error {
	tp, _ := d.take(1)
	typ := int8(tp[0])
	p, _ := d.take(n)
	switch {
	case typ == 0 && !fixed: // notepack 2's ArrayBuffer
		return w.Binary(p)
	case typ == 0 && n == 1: // undefined
		w.Null()
		return nil
	case typ == 0 && n == 8: // a Date: milliseconds since the epoch, as a signed 64-bit number
		w.timeValue(time.UnixMilli(int64(binary.BigEndian.Uint64(p))).UTC())
		return nil
	case typ != -1: // read by notepack as [type, Buffer]
		w.BeginArray(2)
		w.Int(int64(typ))
		if err := w.Binary(p); err != nil {
			return err
		}
		w.EndArray()
		return nil
	}
	var sec int64
	var nsec uint32
	switch len(p) {
	case 4:
		sec = int64(binary.BigEndian.Uint32(p))
	case 8:
		u := binary.BigEndian.Uint64(p)
		nsec, sec = uint32(u>>34), int64(u&(1<<34-1))
	default: // 12, as checked
		nsec, sec = binary.BigEndian.Uint32(p), int64(binary.BigEndian.Uint64(p[4:]))
	}
	w.timeValue(time.Unix(sec, int64(nsec)).UTC())
	return nil
}

func (d *mpDecoder) emitArray(w *Writer, n uint64, depth int) error {
	w.BeginArray(int(n))
	for range n {
		if err := d.emit(w, depth+1); err != nil {
			return err
		}
	}
	w.EndArray()
	return nil
}

// mpMember is a member of a map being written: its property name and where its value starts.
type mpMember struct {
	key string // in d.buf for a str key
	val int
}

// isUndefined reports whether the value at i is notepack 2's undefined (fixext 1 of type 0).
func (d *mpDecoder) isUndefined(i int) bool {
	return d.buf[i] == 0xd4 && d.buf[i+1] == 0
}

// emitMap writes a map of n entries as an object: the members are found first (a duplicate key keeps its first
// place and takes the last value, as in a JavaScript object), then written, those whose value is undefined left
// out as JSON.stringify leaves them out.
func (d *mpDecoder) emitMap(w *Writer, n uint64, depth int) error {
	var small [16]mpMember
	members := small[:0]
	var index map[string]int // for maps of more than len(small) members
	for range n {
		var key string
		if c := d.buf[d.pos]; c >= 0xa0 && c <= 0xbf || c >= 0xd9 && c <= 0xdb {
			start := d.pos
			_, _ = d.value(depth + 1) // check mode: skips it
			p := d.buf[start+1 : d.pos]
			if c >= 0xd9 {
				p = p[1<<(c-0xd9):]
			}
			key = bytesString(p)
		} else {
			// Another key is converted to the property name JavaScript gives it (rare: decoded as a value).
			kd := mpDecoder{buf: d.buf, pos: d.pos, build: true, ordered: true, notepack2: true}
			k, err := kd.value(depth + 1)
			if err != nil {
				return err
			}
			key, d.pos = propertyName(k), kd.pos
		}
		val := d.pos
		if _, err := d.value(depth + 1); err != nil {
			return err
		}
		at := -1
		if index != nil {
			if i, ok := index[key]; ok {
				at = i
			}
		} else {
			for i := range members {
				if members[i].key == key {
					at = i
					break
				}
			}
		}
		if at >= 0 {
			members[at].val = val
			continue
		}
		members = append(members, mpMember{key: key, val: val})
		if index == nil && len(members) > len(small) {
			index = make(map[string]int, n)
			for i, m := range members {
				index[m.key] = i
			}
		} else if index != nil {
			index[key] = len(members) - 1
		}
	}
	end := d.pos
	w.BeginObject(len(members))
	for _, m := range members {
		if d.isUndefined(m.val) {
			continue
		}
		w.Key(m.key)
		d.pos = m.val
		if err := d.emit(w, depth+1); err != nil {
			return err
		}
	}
	w.EndObject()
	d.pos = end
	return nil
}
