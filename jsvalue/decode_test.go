package jsvalue

import (
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestDecodeMsgpackValues(t *testing.T) {
	ts := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	tests := []struct {
		name string
		hex  string
		want any
	}{
		{"positive fixint", "7f", int64(127)},
		{"negative fixint", "e0", int64(-32)},
		{"nil", "c0", nil},
		{"false", "c2", false},
		{"true", "c3", true},
		{"uint8", "cc ff", int64(255)},
		{"uint16", "cd ff ff", int64(65535)},
		{"uint32", "ce ff ff ff ff", int64(math.MaxUint32)},
		{"uint64 in int64 range", "cf 00 20 00 00 00 00 00 01", int64(9007199254740993)},
		{"uint64 above int64", "cf ff ff ff ff ff ff ff ff", uint64(math.MaxUint64)},
		{"int8", "d0 df", int64(-33)},
		{"int16", "d1 ff 7f", int64(-129)},
		{"int32", "d2 80 00 00 00", int64(math.MinInt32)},
		{"int64 (notepack reads 1)", "d3 00 00 00 00 00 00 00 01", int64(1)},
		{"float32", "ca 3f c0 00 00", 1.5},
		{"float64", "cb 3f f8 00 00 00 00 00 00", 1.5},
		{"fixstr", "a3 66 6f 6f", "foo"},
		{"str8", "d9 01 78", "x"},
		{"str16", "da 00 01 78", "x"},
		{"str32", "db 00 00 00 01 78", "x"},
		{"empty str", "a0", ""},
		{"bin8", "c4 03 01 02 03", []byte{1, 2, 3}},
		{"bin16", "c5 00 01 ff", []byte{0xff}},
		{"bin32 empty", "c6 00 00 00 00", []byte{}},
		{"fixarray", "92 01 a1 61", []any{int64(1), "a"}},
		{"array16", "dc 00 01 c0", []any{nil}},
		{"array32", "dd 00 00 00 00", []any{}},
		{"fixmap", "81 a1 61 01", map[string]any{"a": int64(1)}},
		{"map16", "de 00 01 a1 61 c3", map[string]any{"a": true}},
		{"map32", "df 00 00 00 00", map[string]any{}},
		{"integer key (notepack)", "81 01 a1 78", map[string]any{"1": "x"}},
		{"other keys", "86 c0 01 c3 02 cb 3f f8 00 00 00 00 00 00 03 92 01 c0 04 80 05 cb 44 4b 1a e4 d6 e2 ef 50 06",
			map[string]any{"null": int64(1), "true": int64(2), "1.5": int64(3), "1,": int64(4), "[object Object]": int64(5), "1e+21": int64(6)}},
		{"duplicate key, last wins", "82 a1 61 01 a1 61 02", map[string]any{"a": int64(2)}},
		{"timestamp 32", "d6 ff 39 45 79 80", ts("2000-06-13T00:00:00Z")},
		{"timestamp 64 (notepack Date with ms)", "d7 ff 1d 53 53 00 39 45 79 80", ts("2000-06-13T00:00:00.123Z")},
		{"timestamp 96", "c7 0c ff 00 00 00 01 ff ff ff ff ff ff ff ff", ts("1969-12-31T23:59:59.000000001Z")},
		{"ext", "c7 02 05 01 02", Ext{Type: 5, Data: []byte{1, 2}}},
		{"fixext1 type 0 (notepack 2 undefined)", "d4 00 00", Ext{Type: 0, Data: []byte{0}}},
		{"fixext16", "d8 7f 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", Ext{Type: 127, Data: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}}},
		{"ext32", "c9 00 00 00 01 80 ff", Ext{Type: -128, Data: []byte{0xff}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMsgpack(unhex(tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeMsgpackMalformed(t *testing.T) {
	deep := strings.Repeat("91", MaxDepth+1) + "c0"
	tests := []struct{ name, hex, reason string }{
		{"empty", "", "unexpected end"},
		{"trailing bytes (notepack: 1 trailing bytes)", "c0 c0", "1 trailing bytes"},
		{"reserved byte", "c1", "invalid byte 0xc1"},
		{"truncated uint16", "cd 01", "announced"},
		{"truncated float64", "cb 00 00", "announced"},
		{"string longer than input", "db ff ff ff ff 61", "announced"},
		{"bin longer than input", "c6 7f ff ff ff", "announced"},
		{"array longer than input", "dd 7f ff ff ff 01", "array of"},
		{"map longer than input", "df 7f ff ff ff 01 01", "map of"},
		{"map with a key and no value", "81 01", "map of"},
		{"truncated array element", "92 01", "array of 2 elements, 1 bytes left"},
		{"ext without type", "c7 01", "announced"},
		{"timestamp of 3 bytes", "c7 03 ff 00 00 00", "timestamp extension of 3 bytes"},
		{"timestamp nanoseconds out of range", "c7 0c ff ff ff ff ff 00 00 00 00 00 00 00 00", "nanoseconds"},
		{"too deep", deep, "deeper than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMsgpack(unhex(tt.hex))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("error %q does not mention %q", err, tt.reason)
			}
		})
	}
}

// allocated returns the bytes allocated by f.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDecodeMsgpackAllocationIsBounded(t *testing.T) {
	// A chain of nested headers, each announcing as many elements as there
	// are bytes left, must not make the decoder reserve memory for them.
	var in []byte
	for range MaxDepth - 1 {
		in = append(in, 0xdd, 0x00, 0x10, 0x00, 0x00) // array32 of 1 Mi elements
	}
	in = append(in, make([]byte, 1<<20)...) // enough bytes for every count to pass the length check
	var err error
	// Reserving room for the announced elements would take 16 MiB or more;
	// the bound leaves room for the error message, stack growth and
	// whatever the runtime allocates meanwhile (the count is process-wide).
	if n := allocated(func() { _, err = DecodeMsgpack(in) }); n > 64<<10 {
		t.Errorf("malformed input of %d bytes: %d bytes allocated", len(in), n)
	}
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v", err)
	}
	// Well-formed input costs what its values need: here one interface
	// (16 bytes) per one-byte element, allocated once.
	valid := append([]byte{0xdd, 0x00, 0x10, 0x00, 0x00}, make([]byte, 1<<20)...)
	if n := allocated(func() { _, err = DecodeMsgpack(valid) }); n > 17<<20 || err != nil {
		t.Errorf("1 Mi zeros: %d bytes allocated, err %v", n, err)
	}
}

func TestDecodeJSON(t *testing.T) {
	got, err := DecodeJSON([]byte(`{"a":[1,-2,1.5,18446744073709551615,1e400,"x",null,true],"b":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": []any{int64(1), int64(-2), 1.5, uint64(math.MaxUint64), math.Inf(1), "x", nil, true},
		"b": map[string]any{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	for _, bad := range []string{``, `{`, `{} {}`, `[1,]`, `{"a":1}x`} {
		if _, err := DecodeJSON([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}
