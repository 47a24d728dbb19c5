package jsvalue

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
)

// refNotepack2JSON is the reference of Writer.Notepack2: the value DecodeNotepack2 builds, turned into what
// JSON.stringify writes of it (undefined null in arrays and absent from objects, NaN and infinities null, another
// extension [type, data]), then written by w.Value.
func refNotepack2JSON(b []byte) ([]byte, [][]byte, error) {
	v, err := DecodeNotepack2(b)
	if err != nil {
		return nil, nil, err
	}
	w := PlaceholderWriter(nil, nil)
	if err := w.Value(refStringify(v, true)); err != nil {
		return nil, nil, err
	}
	return w.Bytes(), w.Attachments(), nil
}

func refStringify(v any, top bool) any {
	switch x := v.(type) {
	case Undefined:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case Ext:
		return []any{int64(x.Type), x.Data}
	case []any:
		for i, e := range x {
			x[i] = refStringify(e, false)
		}
	case Object:
		out := Object{}
		for _, m := range x {
			if _, undef := m.Value.(Undefined); undef {
				continue
			}
			out = append(out, Member{Key: m.Key, Value: refStringify(m.Value, false)})
		}
		return out
	}
	return v
}

var notepack2JSONSeeds = []string{
	"c0", "c3", "7f", "e0", "cc80", "cfffffffffffffffff", "d3ffffffffffffffff", "cb7ff8000000000000", "ca7f800000",
	"cb3ff8000000000000", "a3616263", "d903e282ac", "a2ff61",
	"d40000", "d700000001606f12ef07", "c7020001ff", "c70000", "d40501", "d6ff00000001", "c70cff000000010000000000000001",
	"93c0d40000c3", "83a162d40000a16101a16202", "84a16101a16202a16103a16204", "82a16101a161d40000",
	"8201a16102a1c4", "82c0c392c3c3c4020102", "81c4026b6b01",
	"92c40101c70300010203", "82a16192c40101c401029193c40103",
}

func TestNotepack2JSON(t *testing.T) {
	for _, s := range notepack2JSONSeeds {
		b, _ := hex.DecodeString(s)
		checkNotepack2JSON(t, b)
	}
	// A map of more than 16 keys with duplicates (the index), and one without.
	var big []byte
	big = append(big, 0xde, 0, 40)
	for i := range 40 {
		big = append(big, 0xa3, 'k', byte('a'+i%20), byte('0'+i%3))
		big = append(big, byte(i))
	}
	checkNotepack2JSON(t, big)
	// Binary values are attachments aliasing the input.
	b, _ := hex.DecodeString("92c40101c70300010203")
	w := PlaceholderWriter(nil, nil)
	if _, err := w.Notepack2(b); err != nil {
		t.Fatal(err)
	}
	if a := w.Attachments(); len(a) != 2 || &a[0][0] != &b[3] {
		t.Errorf("attachments %v do not alias the input", a)
	}
	// A JSONWriter takes values without binary only; a msgpack Writer none.
	jw := JSONWriter(nil)
	if _, err := jw.Notepack2([]byte{0xc4, 0}); !errors.Is(err, ErrBinaryInJSON) {
		t.Errorf("binary with a JSONWriter: %v", err)
	}
	mw := MsgpackWriter(nil)
	if _, err := mw.Notepack2([]byte{0xc0}); err == nil {
		t.Error("a msgpack Writer was accepted")
	}
	// Malformed input writes nothing.
	pw := PlaceholderWriter([]byte("x"), nil)
	if _, err := pw.Notepack2([]byte{0x92, 0xc0}); !errors.Is(err, ErrMalformed) || string(pw.Bytes()) != "x" {
		t.Errorf("truncated array: %v, wrote %q", err, pw.Bytes())
	}
}

// TestNotepack2JSONLinear: a map of 100 000 keys (a 1 MB message) is written in time linear in its size, as is
// its decoding by DecodeNotepack2 (both used to compare every key with every other).
func TestNotepack2JSONLinear(t *testing.T) {
	var b []byte
	b = append(b, 0xdf)
	b = binary.BigEndian.AppendUint32(b, 100_000)
	for i := range 100_000 {
		b = append(b, 0xa6)
		b = append(b, []byte(strings.Repeat("0", 6-len(itoa(i)))+itoa(i))...)
		b = append(b, 0xc0)
	}
	w := PlaceholderWriter(nil, nil)
	if _, err := w.Notepack2(b); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeNotepack2(b); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { return string(AppendJSNumber(nil, float64(i))) }

func checkNotepack2JSON(t *testing.T, b []byte) {
	t.Helper()
	want, wantAtt, werr := refNotepack2JSON(b)
	w := PlaceholderWriter([]byte("prefix:"), nil)
	n, err := w.Notepack2(b)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%x: Notepack2 %v, reference %v", b, err, werr)
	}
	if err != nil {
		return
	}
	if l, _ := MsgpackLen(b); n != l {
		t.Fatalf("%x: length %d, want %d", b, n, l)
	}
	got := bytes.TrimPrefix(w.Bytes(), []byte("prefix:"))
	d := mpDecoder{buf: b, notepack2: true}
	if size := d.jsonSize(0); size < len(got) {
		t.Fatalf("%x: size %d, below the %d bytes written", b, size, len(got))
	}
	if !bytes.Equal(got, want) || len(w.Attachments()) != len(wantAtt) {
		t.Fatalf("%x:\n got %s (%d attachments)\nwant %s (%d)", b, got, len(w.Attachments()), want, len(wantAtt))
	}
	for i := range wantAtt {
		if !bytes.Equal(w.Attachments()[i], wantAtt[i]) {
			t.Fatalf("%x: attachment %d is %x, want %x", b, i, w.Attachments()[i], wantAtt[i])
		}
	}
}

// FuzzNotepack2JSON holds Writer.Notepack2 to its reference on any input (one value, the rest ignored).
func FuzzNotepack2JSON(f *testing.F) {
	for _, s := range notepack2JSONSeeds {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := MsgpackLen(b)
		if err != nil {
			return
		}
		checkNotepack2JSON(t, b[:n])
	})
}
