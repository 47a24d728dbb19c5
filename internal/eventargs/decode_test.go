package eventargs

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sioredis/sioredis/jsvalue"
)

type inner struct {
	B   []byte `json:"b"`
	Any any    `json:"any"`
}

type embedded struct {
	E any `json:"e"`
}

type target struct {
	embedded
	K    any               `json:"k"`
	List []any             `json:"list"`
	Map  map[string]any    `json:"map"`
	Typ  []byte            `json:"typ"`
	Str  string            `json:"str"`
	In   inner             `json:"in"`
	Ptr  *inner            `json:"ptr"`
	Ins  map[string]inner  `json:"ins"`
	Strs map[string]string `json:"strs"`
	Obj  jsvalue.Object    `json:"obj"`
	Num  float64           `json:"num"`
}

// TestDecodeBinary: binary arrives as []byte wherever the target holds []byte (a copy) or an interface (the
// attachment itself), at any depth, and as base64 text in a string; the rest decodes as json.Unmarshal decodes
// it, and no marked text is left anywhere.
func TestDecodeBinary(t *testing.T) {
	bufs := [][]byte{{0}, {1, 1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}}
	ph := func(n int) string { return `{"_placeholder":true,"num":` + strconv.Itoa(n) + `}` }
	raw := `{"e":` + ph(0) + `,"k":` + ph(1) + `,"list":[` + ph(2) + `,"x",[` + ph(3) + `]],"map":{"m":` + ph(4) +
		`,"deep":{"d":` + ph(5) + `}},"typ":` + ph(6) + `,"str":` + ph(7) + `,"in":{"b":` + ph(8) + `,"any":` + ph(9) +
		`},"ptr":{"any":` + ph(10) + `},"ins":{"i":{"any":` + ph(0) + `}},"strs":{"s":` + ph(1) + `},"obj":{"z":` + ph(2) +
		`,"a":[` + ph(3) + `]},"num":1.5}`
	var v target
	if err := Decode(json.RawMessage(raw), bufs, &v, 100, errMalformed); err != nil {
		t.Fatal(err)
	}
	same := func(what string, got any, n int) {
		t.Helper()
		if b, ok := got.([]byte); !ok || !bytes.Equal(b, bufs[n]) || &b[0] != &bufs[n][0] {
			t.Errorf("%s = %#v, want attachment %d itself", what, got, n)
		}
	}
	same("embedded any", v.E, 0)
	same("any", v.K, 1)
	same("[]any element", v.List[0], 2)
	same("nested []any element", v.List[1+1].([]any)[0], 3)
	same("map[string]any value", v.Map["m"], 4)
	same("nested map value", v.Map["deep"].(map[string]any)["d"], 5)
	if !bytes.Equal(v.Typ, bufs[6]) || !bytes.Equal(v.In.B, bufs[8]) { // []byte targets get a copy, decoded from base64
		t.Errorf("[]byte fields %v, %v", v.Typ, v.In.B)
	}
	same("struct's any", v.In.Any, 9)
	same("pointed struct's any", v.Ptr.Any, 10)
	same("map of structs", v.Ins["i"].Any, 0)
	same("jsvalue.Object value", v.Obj[0].Value, 2)
	same("jsvalue.Object's nested array", v.Obj[1].Value.([]any)[0], 3)
	if v.Str != "Bw==" || v.Strs["s"] != "AQE=" || v.List[1] != "x" || v.Num != 1.5 || v.Obj[0].Key != "z" {
		t.Errorf("str %q, strs %q, list[1] %v, num %v, obj %v", v.Str, v.Strs, v.List[1], v.Num, v.Obj)
	}
	if s := marked(reflect.ValueOf(v)); s != "" {
		t.Errorf("marked text left: %q", s)
	}

	// Plain targets.
	for _, tt := range []struct {
		raw  string
		into any
		want any
	}{
		{ph(1), new([]byte), []byte{1, 1}},
		{ph(1), new(any), []byte{1, 1}},
		{`[` + ph(1) + `]`, new([]any), []any{[]byte{1, 1}}},
		{`[` + ph(1) + `]`, new([][]byte), [][]byte{{1, 1}}},
		{`{"a":` + ph(1) + `}`, new(map[string]any), map[string]any{"a": []byte{1, 1}}},
		{`{"a":` + ph(1) + `}`, new(map[string][]byte), map[string][]byte{"a": {1, 1}}},
		{`"AQE="`, new([]byte), []byte{1, 1}}, // base64 text, no placeholder
		{`{"a":1}`, new(map[string]any), map[string]any{"a": 1.0}},
	} {
		if err := Decode(json.RawMessage(tt.raw), bufs, tt.into, 100, errMalformed); err != nil {
			t.Errorf("%s into %T: %v", tt.raw, tt.into, err)
			continue
		}
		if got := reflect.ValueOf(tt.into).Elem().Interface(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s into %T: %#v, want %#v", tt.raw, tt.into, got, tt.want)
		}
	}

	// A placeholder naming no attachment is an error; one in a member that a later duplicate replaces is not.
	var m map[string]any
	if err := Decode(json.RawMessage(`{"a":{"_placeholder":true,"num":99}}`), bufs, &m, 100, errMalformed); !errors.Is(err, errMalformed) {
		t.Errorf("bad placeholder: %v", err)
	}
	var s struct{ A any }
	if err := Decode(json.RawMessage(`{"A":{"_placeholder":true,"num":99},"A":`+ph(1)+`}`), bufs, &s, 100, errMalformed); err != nil {
		t.Errorf("bad placeholder replaced by a later key: %v", err)
	}
	// A value set before decoding that points to itself is walked once.
	type loop struct {
		Self *loop `json:"self"`
		V    any   `json:"v"`
	}
	l := &loop{}
	l.Self = l
	if err := Decode(json.RawMessage(`{"v":`+ph(1)+`}`), bufs, l, 100, errMalformed); err != nil {
		t.Fatal(err)
	}
	same("cyclic value's any", l.V, 1)
}

// marked returns a string holding the mark found in v, or "".
func marked(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); len(s)-len(strings.TrimLeft(s, "\r\n")) >= 8 {
			return s
		}
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			return marked(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if s := marked(v.Field(i)); s != "" {
				return s
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if s := marked(v.Index(i)); s != "" {
				return s
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if s := marked(it.Value()); s != "" {
				return s
			}
		}
	}
	return ""
}

func TestDecodeOrdered(t *testing.T) {
	bufs := [][]byte{{7}}
	v, err := DecodeOrdered(json.RawMessage(`{"z":1,"bin":{"_placeholder":true,"num":0},"a":[{"y":2,"b":3}]}`), bufs, 100, errMalformed)
	want := jsvalue.Object{{Key: "z", Value: int64(1)}, {Key: "bin", Value: []byte{7}},
		{Key: "a", Value: []any{jsvalue.Object{{Key: "y", Value: int64(2)}, {Key: "b", Value: int64(3)}}}}}
	if err != nil || !reflect.DeepEqual(v, want) {
		t.Errorf("got %#v, %v", v, err)
	}
	if _, err := DecodeOrdered(json.RawMessage(`[{"_placeholder":true,"num":1}]`), bufs, 100, errMalformed); !errors.Is(err, errMalformed) {
		t.Errorf("bad placeholder: %v", err)
	}
}

// FuzzDecodeInStruct: an argument decoded as the field of a struct (through encoding/json, binary marked) is
// what it is decoded alone into an any (the fast path, with no encoding/json): the same values, binary the same
// attachments.
func FuzzDecodeInStruct(f *testing.F) {
	for _, s := range []string{`{"_placeholder":true,"num":0}`, `[1,{"_placeholder":true,"num":1},{"a":{"_placeholder":true,"num":0}}]`,
		`{"k":"\r\n\n\rAQ==","b":{"_placeholder":true,"num":1}}`, `"x"`, `{"a":{"_placeholder":true,"num":9},"a":2}`} {
		f.Add([]byte(s))
	}
	bufs := [][]byte{{1}, {2, 2}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		var alone any
		aerr := Decode(raw, bufs, &alone, 100, errMalformed)
		var in struct{ V any }
		wrapped := append(append([]byte(`{"V":`), raw...), '}')
		ierr := Decode(wrapped, bufs, &in, 100, errMalformed)
		if (aerr == nil) != (ierr == nil) {
			t.Fatalf("%s: alone %v, in a struct %v", raw, aerr, ierr)
		}
		if aerr == nil && !reflect.DeepEqual(alone, in.V) {
			t.Fatalf("%s: alone %#v, in a struct %#v", raw, alone, in.V)
		}
	})
}
