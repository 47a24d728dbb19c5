package jsvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// decodeOne decodes exactly one msgpack value with an independent decoder
// and fails on trailing bytes, as notepack.io does.
func decodeOne(t *testing.T, b []byte) any {
	t.Helper()
	r := bytes.NewReader(b)
	dec := msgpack.NewDecoder(r)
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("independent decoder rejects our output %x: %v", b, err)
	}
	if r.Len() != 0 {
		t.Fatalf("%d trailing bytes after the message", r.Len())
	}
	return v
}

var fuzzSeeds = []string{
	`{"id":"message_id","created_at":"2017-12-19 14:00:00","body":"message_body"}`,
	`[0,127,128,255,256,65535,65536,-1,-32,-33,-129,1.5,4294967296,9007199254740991,-2147483649]`,
	`"h\u00e9llo \ud83d\ude00 \"\\\n"`, `null`, `true`, `[[],{},[[{}]]]`, `1e300`, `-0`, `0.1`,
	`{"a":1,"a":2}`, `{"b":[1,{"c":"\u0000"}],"a":"x"}`, `18446744073709551615`, `-9223372036854775808`,
	`"a\ud800b"`, `{"\udc00":"\ud800\ud800\ude00\\ud800"}`,
}

// FuzzRawJSON checks that any JSON value is written, as msgpack and as JSON,
// to a value equal to what encoding/json reads from the input.
func FuzzRawJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want any
		if err := json.Unmarshal(data, &want); err != nil {
			w := Writer{}
			if err := w.rawJSON(data, 0); err == nil && json.Valid(data) {
				t.Fatalf("accepted %q that encoding/json rejects", data)
			}
			return
		}
		w := Writer{}
		if err := w.rawJSON(data, 0); err != nil {
			if errors.Is(err, ErrUnsupportedValue) {
				return // e.g. depth beyond MaxDepth
			}
			t.Fatalf("rejected valid JSON %q: %v", data, err)
		}
		got := normalize(decodeOne(t, w.Bytes()))
		if !equalJSON(got, normalize(want)) {
			t.Fatalf("msgpack round trip of %q: got %#v want %#v", data, got, want)
		}
		jw := Writer{json: true}
		if err := jw.rawJSON(data, 0); err != nil {
			t.Fatalf("JSON writer rejected %q: %v", data, err)
		}
		var back any
		if err := json.Unmarshal(jw.buf, &back); err != nil {
			t.Fatalf("JSON writer produced invalid JSON %q: %v", jw.buf, err)
		}
		if !equalJSON(normalize(back), normalize(want)) {
			t.Fatalf("JSON round trip of %q: got %s", data, jw.buf)
		}
	})
}

// TestRawJSONLoneSurrogate: JSON text written as JSON keeps a lone surrogate as its escape, in a value or a key, as
// JSON.stringify writes the string JSON.parse reads (a Go string would hold U+FFFD instead); everything else is
// written as before, pairs joined.
func TestRawJSONLoneSurrogate(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`"a\ud800b"`, `"a\ud800b"`},
		{`"a\uD800b"`, `"a\ud800b"`},
		{`"\udc00"`, `"\udc00"`},
		{`"\ud83d\ude00 \ud800\u0041 \\ud800 \u00e9\n"`, "\"😀 \\ud800A \\\\ud800 é\\n\""},
		{`"\ud83d\ud83d\ude00"`, "\"\\ud83d😀\""},
		{`{"k\udfff":["\ud800",1]}`, `{"k\udfff":["\ud800",1]}`},
		{`"\u0041\/"`, `"A/"`},
		{`"x\ud800"`, `"x\ud800"`},
	} {
		w := JSONWriter(nil)
		if err := w.RawJSON([]byte(tt.in)); err != nil || string(w.Bytes()) != tt.want {
			t.Errorf("RawJSON(%s) = %s, %v; want %s", tt.in, w.Bytes(), err, tt.want)
		}
		// What it writes reads back as the same JavaScript string: the same UTF-16 code units.
		if !sameJSString(t, tt.in, string(w.Bytes())) {
			t.Errorf("RawJSON(%s) = %s: another string", tt.in, w.Bytes())
		}
	}
}

// sameJSString reports whether two JSON texts hold the same strings, compared as JavaScript compares them (their
// UTF-16 code units, a lone surrogate included).
func sameJSString(t *testing.T, a, b string) bool {
	t.Helper()
	return jsUnits(a) == jsUnits(b)
}

// jsUnits returns the JSON text with each string's escapes resolved to UTF-16 code units, written as \uXXXX.
func jsUnits(s string) string {
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'u':
				fmt.Fprintf(&out, "\\u%s", strings.ToLower(s[i+2:i+6]))
				i += 5
				continue
			case 'n':
				out.WriteString(`\u000a`)
			case '/':
				out.WriteString(`\u002f`)
			default:
				fmt.Fprintf(&out, "\\u%04x", s[i+1])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, "\\u%04x", u)
		}
		i += size - 1
	}
	return out.String()
}
