package eventargs

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
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
		{"[1\n,\t2 ]", []string{`1`, `2`}},
		{`{"a":1}`, nil},
		{`"x"`, nil},
		{`1`, nil},
	}
	for _, tt := range tests {
		l, err := Split([]byte(tt.in), 0, nil)
		if tt.want == nil {
			if !errors.Is(err, ErrNotArray) {
				t.Errorf("Split(%s): %v, want an error wrapping ErrNotArray", tt.in, err)
			}
			continue
		}
		checkList(t, tt.in, l, err, tt.want)
		// The same without the first element.
		if len(tt.want) > 0 {
			l, err = Split([]byte(tt.in), 1, nil)
			checkList(t, tt.in+" less one", l, err, tt.want[1:])
		}
	}
	// Above bigArray, the elements are counted first: the offsets take one allocation of their size.
	big := []byte(`["e"` + strings.Repeat(`, 1`, 10_000) + `]`)
	want := make([]string, 10_000)
	for i := range want {
		want[i] = "1"
	}
	if n := testing.AllocsPerRun(10, func() { _, _ = Split(big, 1, nil) }); n != 1 {
		t.Errorf("%v allocations for a large array", n)
	}
	lb, err := Split(big, 1, nil)
	checkList(t, "large array", lb, err, want)
	if cap(lb.offs) != len(lb.offs) {
		t.Errorf("offsets: %d of %d used", len(lb.offs), cap(lb.offs))
	}

	l, _ := Split([]byte(`["a","b","c"]`), 0, nil)
	checkList(t, "Drop(2)", l.Drop(2), nil, []string{`"c"`})
	checkList(t, "Drop(5)", l.Drop(5), nil, []string{})
	checkList(t, "Join", Join([]json.RawMessage{json.RawMessage(`1`), json.RawMessage(` {"a":2}`)}, nil), nil, []string{`1`, ` {"a":2}`})
	if l.Raw(-1) != nil || l.Raw(3) != nil {
		t.Error("Raw out of range is not nil")
	}
}

func checkList(t *testing.T, name string, l List, err error, want []string) {
	t.Helper()
	if err != nil || l.Len() != len(want) {
		t.Errorf("%s: Len %d, %v; want %q", name, l.Len(), err, want)
		return
	}
	for i := range want {
		if string(l.Raw(i)) != want[i] {
			t.Errorf("%s: Raw(%d) = %s, want %s", name, i, l.Raw(i), want[i])
		}
	}
}

// FuzzSplit checks Split against encoding/json on every valid JSON input: the same elements, or an error exactly
// when the input is not an array.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{`[]`, `["a",1]`, `[{"a":[1,"]"]},"\\\""]`, ` [ 1 , 2 ] `, `{"a":1}`, `"x"`, `[[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			_, _ = Split(b, 0, nil) // must not panic or loop
			return
		}
		var want []json.RawMessage
		werr := json.Unmarshal(b, &want)
		got, err := Split(b, 0, nil)
		if (werr != nil) != (err != nil) {
			t.Fatalf("Split(%q): error %v, encoding/json %v", b, err, werr)
		}
		if err != nil {
			return
		}
		if got.Len() != len(want) {
			t.Fatalf("Split(%q): %d elements, encoding/json %q", b, got.Len(), want)
		}
		for i := range want {
			if !bytes.Equal(got.Raw(i), want[i]) {
				t.Fatalf("Split(%q).Raw(%d) = %q, encoding/json %q", b, i, got.Raw(i), want[i])
			}
		}
	})
}
