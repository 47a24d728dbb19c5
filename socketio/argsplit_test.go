package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil: an error
	}{
		{`[]`, []string{}},
		{` [ ] `, []string{}},
		{`["a"]`, []string{`"a"`}},
		{`["a",1,true,null,-2.5e3]`, []string{`"a"`, `1`, `true`, `null`, `-2.5e3`}},
		{`[ "a" , {"b":[1,2,{"c":"]"}]} , [ ] ]`, []string{`"a"`, `{"b":[1,2,{"c":"]"}]}`, `[ ]`}},
		{`["q\"],[{", "\\", "\\\"x"]`, []string{`"q\"],[{"`, `"\\"`, `"\\\"x"`}},
		{`[{"a":"}"},["[",{}]]`, []string{`{"a":"}"}`, `["[",{}]`}},
		{`{"a":1}`, nil},
		{`"x"`, nil},
		{`1`, nil},
	}
	for _, tt := range tests {
		got, err := splitArray([]byte(tt.in))
		if tt.want == nil {
			if !errors.Is(err, ErrBadPacket) {
				t.Errorf("splitArray(%s) = %q, %v; want an error wrapping ErrBadPacket", tt.in, got, err)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("splitArray(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("splitArray(%s)[%d] = %s, want %s", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestEventName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`"chat"`, "chat"},
		{`"a\"b"`, `a"b`},
		{`"\u00e9t\u00e9"`, "été"},
		{`"caf` + "\xff" + `"`, "caf\ufffd"}, // invalid UTF-8 replaced, as encoding/json does
		{`""`, ""},
	} {
		got, err := eventName(json.RawMessage(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("eventName(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := eventName(json.RawMessage(`1`)); err == nil {
		t.Error("eventName(1): no error")
	}
}

// FuzzSplitArray checks splitArray against encoding/json on every valid JSON input: the same elements, or an
// error exactly when the input is not an array.
func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[]`, `["a",1]`, `[{"a":[1,"]"]},"\\\""]`, ` [ 1 , 2 ] `, `{"a":1}`, `"x"`, `[[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			_, _ = splitArray(b) // must not panic or loop
			return
		}
		var want []json.RawMessage
		werr := json.Unmarshal(b, &want)
		got, err := splitArray(b)
		if (werr != nil) != (err != nil) {
			t.Fatalf("splitArray(%q): error %v, encoding/json %v", b, err, werr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("splitArray(%q) = %q, encoding/json %q", b, got, want)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("splitArray(%q)[%d] = %q, encoding/json %q", b, i, got[i], want[i])
			}
		}
	})
}
