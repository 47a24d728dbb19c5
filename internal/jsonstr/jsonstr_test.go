package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestUnquote(t *testing.T) {
	for _, tc := range []struct {
		in, want, bad string
		next          int // -1: len(in)
	}{
		{`"plain" tail`, "plain", "", 7},
		{`"é ✓ 😀"`, "é ✓ 😀", "", -1},
		{`"esc \" \\ \/ \b \f \n \r \t"`, "esc \" \\ / \b \f \n \r \t", "", -1},
		{`"\u00e9\u2713\ud83d\ude00"`, "é✓😀", "", -1},
		{`"\ud83d"`, "\ufffd", "", -1},
		{`"\ude00x"`, "\ufffdx", "", -1},
		{`"\ud83d\u0041"`, "\ufffdA", "", -1},
		{"\"bad \xff utf8\"", "bad \ufffd utf8", "", -1},
		{"\"\xed\xa0\x80\"", "\ufffd\ufffd\ufffd", "", -1},
		{`"open`, "", "unterminated string", -1},
		{`"end\`, "", "unterminated string", -1},
		{"\"tab\there\"", "", "control character in string", 4},
		{`"\x"`, "", "invalid escape", 3},
		{`"\'"`, "", "invalid escape", 3},
		{`"\u12"`, "", "invalid \\u escape", 3},
	} {
		s, next, bad := Unquote([]byte(tc.in), 0)
		want := tc.next
		if want < 0 {
			want = len(tc.in)
		}
		if s != tc.want || bad != tc.bad || next != want {
			t.Errorf("Unquote(%q) = %q, %d, %q; want %q, %d, %q", tc.in, s, next, bad, tc.want, want, tc.bad)
		}
		if tc.bad == "" {
			var js string
			if err := json.Unmarshal([]byte(tc.in[:next]), &js); err != nil || js != s {
				t.Errorf("encoding/json reads %q as %q (%v), Unquote as %q", tc.in[:next], js, err, s)
			}
		}
	}
}

// FuzzUnquote holds Unquote to encoding/json: a string it reads, encoding/json reads the same; one it refuses,
// encoding/json refuses too.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a"`, `"\ud83d\ude00"`, `"\ud83d"`, "\"\xff\"", `"\u12"`, `"`, `"\n"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != '"' {
			return
		}
		s, next, bad := Unquote(data, 0)
		var js string
		if bad != "" {
			if err := json.Unmarshal(data, &js); err == nil {
				t.Fatalf("Unquote(%q): %s at %d, but encoding/json reads %q", data, bad, next, js)
			}
			return
		}
		if err := json.Unmarshal(data[:next], &js); err != nil || js != s {
			t.Fatalf("Unquote(%q) = %q; encoding/json: %q (%v)", data[:next], s, js, err)
		}
	})
}
