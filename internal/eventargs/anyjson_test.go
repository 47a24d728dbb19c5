package eventargs

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// anyCases are inputs on which parseAny and json.Unmarshal must agree; ok says whether parseAny answers itself
// (false: it leaves the input to encoding/json).
var anyCases = []struct {
	in string
	ok bool
}{
	{`{"seq":1,"user":"bench","text":"xxxx"}`, true},
	{` [1, -0, 2.5e3, 1E-2, 0.5, -12] `, true},
	{`"plain"`, true},
	{`"é ✓ 😀"`, true},
	{`"esc \" \\ \/ \b \f \n \r \t"`, true},
	{`"\u00e9\u2713\ud83d\ude00"`, true},
	{`"\ud83d"`, true},       // lone high surrogate: U+FFFD
	{`"\ude00x"`, true},      // lone low surrogate
	{`"\ud83d\u0041"`, true}, // high surrogate then a non-surrogate: U+FFFD then A
	{`"\ud83d\ud83d\ude00"`, true},
	{"\"bad \xff utf8\"", true},
	{"\"\xed\xa0\x80\"", true}, // a surrogate encoded in UTF-8
	{`{"a":1,"a":2}`, true},    // the last wins
	{`{}`, true},
	{`[]`, true},
	{`[[[]],{"x":[null,true,false]}]`, true},
	{`null`, true},
	{`1e400`, false}, // out of range: encoding/json's error
	{`01`, false},
	{`1.`, false},
	{`.5`, false},
	{`-`, false},
	{`+1`, false},
	{`1e`, false},
	{`"\'"`, false},
	{`"\x"`, false},
	{`"\u12"`, false},
	{"\"tab\there\"", false},
	{`[1,]`, false},
	{`{"a" 1}`, false},
	{`{"a":1,}`, false},
	{`{1:2}`, false},
	{`tru`, false},
	{`truex`, false},
	{`nul`, false},
	{`[1] [2]`, false},
	{``, false},
	{`"open`, false},
	{strings.Repeat("[", maxAnyDepth+1) + strings.Repeat("]", maxAnyDepth+1), false}, // encoding/json decodes it
	{strings.Repeat("[", 10001) + strings.Repeat("]", 10001), false},                 // too deep for both
}

func TestParseAny(t *testing.T) {
	for _, c := range anyCases {
		got, ok := parseAny([]byte(c.in))
		if ok != c.ok {
			t.Errorf("parseAny(%.40q) ok = %v, want %v", c.in, ok, c.ok)
		}
		checkAsEncodingJSON(t, []byte(c.in))
		if ok {
			var want any
			if err := json.Unmarshal([]byte(c.in), &want); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("parseAny(%.40q) = %#v, encoding/json: %#v (%v)", c.in, got, want, err)
			}
		}
	}
}

// checkAsEncodingJSON checks that Decode into an empty any answers what json.Unmarshal does.
func checkAsEncodingJSON(t *testing.T, in []byte) {
	t.Helper()
	var want, got any
	wantErr := json.Unmarshal(in, &want)
	gotErr := Decode(in, nil, &got, 1000, errors.New("malformed"))
	if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
		t.Fatalf("Decode(%.60q): error %v, encoding/json: %v", in, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%.60q) = %#v, encoding/json: %#v", in, got, want)
	}
}

// TestDecodeIntoFullAny checks that an any holding a pointer is decoded through, as json.Unmarshal does.
func TestDecodeIntoFullAny(t *testing.T) {
	var n int
	var v any = &n
	if err := Decode([]byte(`7`), nil, &v, 1000, nil); err != nil || n != 7 || v != any(&n) {
		t.Fatalf("Decode into an any holding *int: %v, n = %d, v = %#v", err, n, v)
	}
	var np *any
	if err := Decode([]byte(`7`), nil, np, 1000, nil); err == nil {
		t.Fatal("Decode into a nil *any: no error")
	}
}

func FuzzParseAny(f *testing.F) {
	for _, c := range anyCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkAsEncodingJSON(t, in)
		if v, ok := parseAny(in); ok {
			var want any
			if err := json.Unmarshal(in, &want); err != nil || !reflect.DeepEqual(v, want) {
				t.Fatalf("parseAny(%q) = %#v, encoding/json: %#v (%v)", in, v, want, err)
			}
		}
	})
}

var benchEvent = []byte(`{"seq":1,"user":"bench","text":"` + strings.Repeat("x", 64) + `"}`)

// BenchmarkDecodeAny decodes the echo benchmark's argument into an any: parseAny against json.Unmarshal.
func BenchmarkDecodeAny(b *testing.B) {
	b.Run("parseAny", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := parseAny(benchEvent); !ok {
				b.Fatal("not parsed")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(benchEvent, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
