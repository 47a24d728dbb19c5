package jsvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

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
