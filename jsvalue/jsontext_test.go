package jsvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckJSONText(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{`"plain"`, true},
		{`"é \u00e9 \ud83d\ude00 😀"`, true},
		{`"\\ud800"`, true}, // an escaped backslash, then text
		{`{"a\ud800":1}`, false},
		{`"\ud800"`, false},
		{`"\udc00"`, false},
		{`"\ud800\u0041"`, false},
		{`"\ud800x"`, false},
		{`"\uDBFF\uDFFF"`, true},
		{"\"\xff\"", false},
		{"\"\xed\xa0\x80\"", false}, // a surrogate in UTF-8 bytes (CESU-8)
		{`"\ufffd"`, true},
	} {
		err := CheckJSONText([]byte(tt.in))
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidText)) {
			t.Errorf("CheckJSONText(%s) = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}

// FuzzCheckJSONText: JSON that CheckJSONText accepts decodes without U+FFFD, unless the text held one.
func FuzzCheckJSONText(f *testing.F) {
	for _, s := range []string{`"a"`, `"\ud800"`, `"\ud800\udc00"`, "\"\xff\"", `["\\", "\udfff"]`, `{"k":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || CheckJSONText(data) != nil {
			return
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return // a number out of range
		}
		out, _ := json.Marshal(v)
		if strings.Contains(string(out), "\ufffd") && !bytes.Contains(data, []byte("\ufffd")) &&
			!bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`)) {
			t.Fatalf("accepted %q, decoded with U+FFFD: %s", data, out)
		}
	})
}
