package socketio

import (
	"encoding/json"
	"strings"
	"testing"
)

var validJSONSeeds = []string{
	``, ` `, `1`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-`, `1e`, `-1.25e-10`, `2.`,
	`"a"`, `"`, `"\"`, `"\u00e9"`, `"\u00g9"`, `"\u00e"`, `"\x"`, "\"\x01\"", "\"\x1f\"", "\" \x7f\"", "\"\xff\xfe\"", `"\/\b\f\n\r\t"`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, ` null `, "\tnull\r\n",
	`[]`, `[ ]`, `[`, `]`, `[1,]`, `[,1]`, `[1 2]`, `[1,2]`, `[[]]`, `[[],[]]`, `[[1],[2,[3]]]`, `[}`, `{]`,
	`{}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":[1,{"b":null}]}`,
	`{"a":1}x`, `[1] [2]`, `["chat",{"room":"r1","text":"hi"}]`, `["x",{"_placeholder":true,"num":0}]`,
}

func TestValidJSON(t *testing.T) {
	for _, s := range validJSONSeeds {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", s, got, want)
		}
	}
	// encoding/json's nesting limit, kept.
	for _, depth := range []int{64, 65, maxJSONDepth, maxJSONDepth + 1} {
		for _, open := range []string{"[", `{"k":`} {
			end := "]"
			if open != "[" {
				end = "}"
			}
			s := strings.Repeat(open, depth) + "1" + strings.Repeat(end, depth)
			if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
				t.Errorf("depth %d of %s: validJSON = %v, json.Valid says %v", depth, open, got, want)
			}
		}
	}
}

func TestValidJSONDoesNotAllocate(t *testing.T) {
	data := []byte(`["echo",{"id":7,"text":"hello","tags":["a","b"],"nested":{"x":[1,2,{"y":null}]}}]`)
	if n := testing.AllocsPerRun(100, func() { validJSON(data) }); n != 0 {
		t.Errorf("validJSON allocated %v times", n)
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range validJSONSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := validJSON(data), json.Valid(data); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", data, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	data := []byte(`["echo",{"id":7,"text":"hello world, this is a message of about a hundred bytes","n":[1,2,3]}]`)
	b.Run("validJSON", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			validJSON(data)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			json.Valid(data)
		}
	})
}
