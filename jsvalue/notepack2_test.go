package jsvalue

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestDecodeNotepack2(t *testing.T) {
	for _, tt := range []struct {
		name, hex string
		want      any
	}{
		{"undefined (fixext 1 type 0)", "d40000", Undefined{}},
		{"Date (fixext 8 type 0)", "d700000001606f12ef07", time.Date(2017, 12, 19, 14, 0, 0, 7e6, time.UTC)},
		{"ArrayBuffer (ext 8 type 0)", "c7020001ff", []byte{1, 0xff}},
		{"ArrayBuffer of 8 bytes", "c708000102030405060708", []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{"empty ArrayBuffer", "c70000", []byte{}},
		{"other fixext", "d40501", Ext{Type: 5, Data: []byte{1}}},
		{"timestamp stays a timestamp", "d6ff00000001", time.Unix(1, 0).UTC()},
		{"map keeps its key order", "82a16201a16102", Object{{Key: "b", Value: int64(1)}, {Key: "a", Value: int64(2)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			got, err := DecodeNotepack2(b)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
	if _, err := DecodeNotepack2([]byte{0xc7, 0x05, 0x00, 1}); err == nil {
		t.Error("a truncated ArrayBuffer was accepted")
	}
}

// FuzzDecodeNotepack2: it accepts exactly what DecodeMsgpack accepts (the same checking pass), never panics, and
// decodes values without extension type 0 as DecodeMsgpack does, maps aside.
func FuzzDecodeNotepack2(f *testing.F) {
	for _, s := range []string{"d40000", "d700000001606f12ef07", "c7020001ff", "82a162d40000a16192c0c3", "d6ff00000001"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeNotepack2(b)
		w, werr := DecodeMsgpack(b)
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodeNotepack2 %v, DecodeMsgpack %v", err, werr)
		}
		if err != nil || bytes.Contains(b, []byte{0x00}) {
			return // a 0 byte may be an extension type 0
		}
		if _, isMap := w.(map[string]any); !isMap && fmt.Sprintf("%#v", v) != fmt.Sprintf("%#v", w) { // NaN != NaN
			if _, isArr := w.([]any); !isArr {
				t.Fatalf("%#v, DecodeMsgpack %#v", v, w)
			}
		}
	})
}
