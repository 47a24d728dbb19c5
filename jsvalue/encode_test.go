package jsvalue

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

func mp(t *testing.T, v any) string {
	t.Helper()
	w := Writer{}
	if err := w.value(v, 0); err != nil {
		t.Fatalf("encode %#v: %v", v, err)
	}
	return hex.EncodeToString(w.buf)
}

func js(t *testing.T, v any) string {
	t.Helper()
	w := Writer{json: true}
	if err := w.value(v, 0); err != nil {
		t.Fatalf("encode %#v: %v", v, err)
	}
	return string(w.buf)
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The integer and float choices of notepack.io 3, from its own output (see
// docs: the dump of [0,127,128,...] in the protocol notes).
func TestMsgpackNumbersMatchNotepack(t *testing.T) {
	in := []any{0, 127, 128, 255, 256, 65535, 65536, -1, -32, -33, -129, 1.5, float64(1 << 32), float64(1<<53 - 1), float64(-(1 << 31) - 1)}
	want := "9f 00 7f cc 80 cc ff cd 01 00 cd ff ff ce 00 01 00 00 ff e0 d0 df d1 ff 7f cb 3f f8 00 00 00 00 00 00 cf 00 00 00 01 00 00 00 00 cf 00 1f ff ff ff ff ff ff d3 ff ff ff ff 7f ff ff ff"
	if got := mp(t, in); got != hex.EncodeToString(unhex(want)) {
		t.Fatalf("got  %s\nwant %s", got, hex.EncodeToString(unhex(want)))
	}
}

func TestScalars(t *testing.T) {
	type named string
	var nilPtr *int
	tests := []struct {
		name    string
		in      any
		msgpack string
		json    string
	}{
		{"nil", nil, "c0", "null"},
		{"nil pointer", nilPtr, "c0", "null"},
		{"true", true, "c3", "true"},
		{"false", false, "c2", "false"},
		{"int8", int8(-5), "fb", "-5"},
		{"uint64 max", uint64(math.MaxUint64), "cfffffffffffffffff", "18446744073709551615"},
		{"int64 min", int64(math.MinInt64), "d38000000000000000", "-9223372036854775808"},
		{"float integral", 3.0, "03", "3"},
		{"negative zero", math.Copysign(0, -1), "00", "0"},
		{"float32", float32(0.1), "cb3fb999999999999a", "0.1"},
		{"2^64 stays a float (notepack writes garbage)", math.Ldexp(1, 64), "cb43f0000000000000", "18446744073709552000"},
		{"1.5e300", 1.5e300, "cb7e41eb2d66005835", "1.5e+300"},
		{"small float", 1e-7, "cb3e7ad7f29abcaf48", "1e-7"},
		{"1e21", 1e21, "cb444b1ae4d6e2ef50", "1e+21"},
		{"fixstr", "hi", "a26869", `"hi"`},
		{"named string", named("x"), "a178", `"x"`},
		{"str8", strings.Repeat("a", 32), "d920" + strings.Repeat("61", 32), `"` + strings.Repeat("a", 32) + `"`},
		{"invalid utf8", "a\xffb", "a561efbfbd62", "\"a\ufffdb\""},
		{"escapes", "\"\\\n\x01</>&\u2028", "", `"\"\\\n\u0001</>&` + "\u2028" + `"`},
		{"bytes", []byte{1, 2, 3}, "c403010203", ""},
		{"bytes 256", make([]byte, 256), "c50100" + strings.Repeat("00", 256), ""},
		{"byte array is an array", [2]byte{1, 2}, "920102", "[1,2]"},
		{"time", time.Date(2017, 12, 19, 14, 0, 0, 123456789, time.FixedZone("x", 3600)), "b8" + hex.EncodeToString([]byte("2017-12-19T13:00:00.123Z")), `"2017-12-19T13:00:00.123Z"`},
		{"time far future", time.Date(12345, 1, 2, 3, 4, 5, 0, time.UTC), "", `"+012345-01-02T03:04:05.000Z"`},
		{"raw json keeps order and normalises", json.RawMessage(` {"b": 1.0, "a": [1e2, -0, "\u00e9\ud83d\ude00"]} `), "82a16201a16193640 0a6c3a9f09f9880", `{"b":1,"a":[100,0,"é😀"]}`},
		// JSON keeps it, as JSON.stringify(JSON.parse(text)) does; a msgpack str holds UTF-8: U+FFFD.
		{"raw json lone surrogate", json.RawMessage(`"\ud800x"`), "a4efbfbd78", `"\ud800x"`},
		{"map sorted", map[string]int{"b": 2, "a": 1}, "82a16101a16202", `{"a":1,"b":2}`},
		{"map int keys", map[int]bool{10: true, 9: false}, "82a23130c3a139c2", `{"10":true,"9":false}`},
		{"nil slice", []int(nil), "c0", "null"},
		{"nil map", map[string]any(nil), "c0", "null"},
		{"empty slice", []string{}, "90", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.msgpack != "" {
				if got, want := mp(t, tt.in), hex.EncodeToString(unhex(tt.msgpack)); got != want {
					t.Errorf("msgpack\n got %s\nwant %s", got, want)
				}
			}
			if tt.json != "" {
				if got := js(t, tt.in); got != tt.json {
					t.Errorf("json\n got %s\nwant %s", got, tt.json)
				}
			}
		})
	}
}

type embedded struct {
	Shared string `json:"shared"`
	Inner  int
}

type Exported struct{ Promoted bool }

type zeroer struct{ v int }

func (z zeroer) IsZero() bool                 { return z.v == 42 }
func (z zeroer) MarshalText() ([]byte, error) { return []byte("z"), nil }

type marshaler struct{}

func (marshaler) MarshalJSON() ([]byte, error) { return []byte(`{"custom":[1,2]}`), nil }

type ptrMarshaler struct{ n int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }

type message struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Body      string    `json:"body,omitempty"`
	Skip      string    `json:"-"`
	Dash      string    `json:"-,"`
	Count     int64     `json:"count,string"`
	Zero      zeroer    `json:"zero,omitzero"`
	Ptr       *int      `json:"ptr,omitempty"`
	Untagged  float64
	private   int
	embedded
	*Exported
	Shared string           `json:"shared"` // shallower: wins over embedded.Shared
	M      marshaler        `json:"m"`
	PM     ptrMarshaler     `json:"pm"`
	Raw    json.RawMessage  `json:"raw"`
	Any    any              `json:"any"`
	Nested map[string][]int `json:"nested,omitempty"`
}

func TestStructsFollowEncodingJSON(t *testing.T) {
	m := message{
		ID: "message_id", CreatedAt: time.Date(2017, 12, 19, 14, 0, 0, 0, time.UTC),
		Skip: "no", Dash: "dash", Count: 7, Zero: zeroer{42}, Untagged: 2.5, private: 1,
		embedded: embedded{Shared: "hidden", Inner: 3}, Exported: &Exported{Promoted: true},
		Shared: "visible", Raw: json.RawMessage(`[true]`), Any: []any{"x", 1},
	}
	want := `{"id":"message_id","created_at":"2017-12-19T14:00:00.000Z","-":"dash","count":"7","Untagged":2.5,"Inner":3,"Promoted":true,"shared":"visible","m":{"custom":[1,2]},"pm":"ptr","raw":[true],"any":["x",1]}`
	// Addressable, like encoding/json with a pointer: the pointer-receiver
	// marshaler is used.
	if got := js(t, &m); got != want {
		t.Fatalf("json\n got %s\nwant %s", got, want)
	}
	// The msgpack encoding carries the same value.
	var fromMsgpack, fromJSON any
	w := Writer{}
	if err := w.value(&m, 0); err != nil {
		t.Fatal(err)
	}
	dec := msgpack.NewDecoder(bytes.NewReader(w.buf))
	if err := dec.Decode(&fromMsgpack); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if a, b := normalize(fromMsgpack), normalize(fromJSON); !equalJSON(a, b) {
		t.Fatalf("msgpack decodes to %#v\nwant %#v", a, b)
	}
	// encoding/json agrees on everything but time formatting.
	m.CreatedAt = time.Time{}
	std, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	want2 := strings.Replace(want, "2017-12-19T14:00:00.000Z", "0001-01-01T00:00:00Z", 1)
	if string(std) != want2 {
		t.Fatalf("encoding/json disagrees with the expectation:\n%s\n%s", std, want2)
	}
}

func TestUnsupportedValues(t *testing.T) {
	type cyclic struct{ Next *cyclic }
	c := &cyclic{}
	c.Next = c
	loop := []any{nil}
	loop[0] = loop
	tests := []struct {
		name string
		in   any
	}{
		{"chan", make(chan int)},
		{"func", func() {}},
		{"complex", complex(1, 2)},
		{"NaN", math.NaN()},
		{"Inf", math.Inf(1)},
		{"cyclic pointer", c},
		{"cyclic slice", loop},
		{"map with struct keys", map[struct{ A int }]int{{1}: 1}},
		{"nested chan", map[string]any{"a": []any{1, make(chan int)}}},
		{"invalid raw json", json.RawMessage(`{"a":}`)},
		{"raw json trailing data", json.RawMessage(`1 2`)},
		{"raw json overflow", json.RawMessage(`1e999`)},
		{"raw json empty", json.RawMessage(``)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, asJSON := range []bool{false, true} {
				w := Writer{json: asJSON}
				err := w.value(tt.in, 0)
				if !errors.Is(err, ErrUnsupportedValue) {
					t.Fatalf("json=%v: got %v, want ErrUnsupportedValue", asJSON, err)
				}
			}
		})
	}
}

// normalize turns decoded msgpack/JSON values into comparable forms:
// numbers as float64, maps with string keys.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case map[any]any:
		out := map[string]any{}
		for k, e := range x {
			out[k.(string)] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x + 0 // -0 becomes 0, as in JSON.stringify
	}
	return v
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestAppendJSNumber(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0", math.Copysign(0, -1): "0", 42: "42", -7: "-7", 1.5: "1.5", 0.1: "0.1", 1e-7: "1e-7",
		1e20: "100000000000000000000", 1e21: "1e+21", 1.5e300: "1.5e+300", math.NaN(): "null", math.Inf(-1): "null",
	} {
		if got := string(AppendJSNumber(nil, f)); got != want {
			t.Errorf("%v: got %s, want %s", f, got, want)
		}
	}
	if got := string(AppendJSONString(nil, "a\"</>\u2028")); got != `"a\"</>`+"\u2028"+`"` {
		t.Errorf("AppendJSONString: %s", got)
	}
}
