package jsvalue

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzDecodeMsgpack checks that the decoder never panics, reports failures
// as ErrMalformed, and agrees with an independent decoder
// (vmihailenco/msgpack) on every value both accept.
func FuzzDecodeMsgpack(f *testing.F) {
	for _, s := range msgpackSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeMsgpack(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		// The reference refuses extensions it does not know, and reads map
		// keys that are not strings differently (nil as ""); both are
		// valid msgpack, so such values are not compared.
		odd := hasExtOrOddKeys(data)
		r := bytes.NewReader(data)
		var ref any
		if derr := msgpack.NewDecoder(r).Decode(&ref); derr != nil || r.Len() != 0 {
			if !odd {
				t.Fatalf("we accept %x, the reference does not: %v (%d left)", data, derr, r.Len())
			}
			return
		}
		if want, ok := normalizeRef(ref); ok && !odd && !sameValue(got, want) {
			t.Fatalf("%x:\n got %#v\nwant %#v", data, got, want)
		}
	})
}

// hasExtOrOddKeys reports whether a valid msgpack value holds an extension
// other than a timestamp or a map key that is not a string.
func hasExtOrOddKeys(data []byte) bool {
	v, err := DecodeMsgpack(data)
	if err != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case Ext:
			return true
		case []any:
			for _, e := range v {
				if walk(e) {
					return true
				}
			}
		case map[string]any:
			for _, e := range v {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	if walk(v) {
		return true
	}
	// Keys were stringified: look at the raw keys with a key-agnostic pass.
	return rawKeysNotStrings(data)
}

// rawKeysNotStrings reports whether some map of a valid value has a key
// that is not a msgpack string.
func rawKeysNotStrings(data []byte) bool {
	d := mpDecoder{buf: data}
	var walk func() bool
	walk = func() bool {
		c := d.buf[d.pos]
		var n uint64
		switch {
		case c >= 0x80 && c <= 0x8f:
			n = uint64(c & 0x0f)
			d.pos++
		case c == 0xde || c == 0xdf:
			d.pos++
			n, _ = d.uintN(2 << (c - 0xde))
		case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
			var m uint64
			if c <= 0x9f {
				m = uint64(c & 0x0f)
				d.pos++
			} else {
				d.pos++
				m, _ = d.uintN(2 << (c - 0xdc))
			}
			for range m {
				if walk() {
					return true
				}
			}
			return false
		default:
			_, _ = d.value(0)
			return false
		}
		for range n {
			k := d.buf[d.pos]
			if !(k >= 0xa0 && k <= 0xbf || k == 0xd9 || k == 0xda || k == 0xdb) {
				return true
			}
			_, _ = d.value(0)
			if walk() {
				return true
			}
		}
		return false
	}
	return walk()
}

// normalizeRef converts the reference decoder's output to our types; it
// reports false for values it cannot compare (extensions, odd keys).
func normalizeRef(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string, []byte:
		return x, true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return x, true
		}
		return int64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case time.Time:
		return x.UTC(), true
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, ok := normalizeRef(e)
			if !ok {
				return nil, false
			}
			out[i] = n
		}
		return out, true
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, ok := normalizeRef(e)
			if !ok {
				return nil, false
			}
			out[k] = n
		}
		return out, true
	}
	return nil, false
}

// sameValue is reflect.DeepEqual where NaN equals NaN and times compare
// as instants.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !sameValue(e, f) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := DecodeJSON(data); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
	})
}

// msgpackSeeds are values recorded from notepack.io (numbers, dates,
// extensions; docs: protocol notes appendix A) and values written by
// AppendMsgpack. The adapter messages recorded from Node are protocol's seeds.
func msgpackSeeds(tb testing.TB) [][]byte {
	seeds := [][]byte{
		unhex("9f 00 7f cc 80 cc ff cd 01 00 cd ff ff ce 00 01 00 00 ff e0 d0 df d1 ff 7f cb 3f f8 00 00 00 00 00 00 cf 00 00 00 01 00 00 00 00 cf 00 1f ff ff ff ff ff ff d3 ff ff ff ff 7f ff ff ff"),
		unhex("92 d7 ff 1d 53 53 00 39 45 79 80 d6 ff 39 45 79 80"),
		unhex("93 c7 02 05 01 02 81 01 a1 78 ca 3f c0 00 00"),
		unhex("92 d4 00 00 82 a1 61 d4 00 00 a1 62 01"),
	}
	for _, v := range []any{
		[]any{"x", 1, 1.5, []byte{1, 2}, map[string]any{"a": []any{nil, true}}},
		Object{{Key: "b", Value: uint64(1 << 63)}, {Key: "a", Value: -1.25}},
		"h\u00e9llo", int64(-1 << 40), Undefined{}, Ext{Type: 5, Data: []byte{1}},
	} {
		b, err := AppendMsgpack(nil, v)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}
