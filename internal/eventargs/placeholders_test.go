package eventargs

import (
	"encoding/json"
	"errors"
	"testing"
)

var placeholderCases = []struct {
	in          string
	attachments int
	ok          bool
}{
	{`["a",{"_placeholder":true,"num":0}]`, 1, true},
	{`["a",{"_placeholder":true,"num":1}]`, 1, false}, // past the attachments
	{`["a",{"_placeholder":true,"num":-1}]`, 1, false},
	{`["a",{"_placeholder":true,"num":0.5}]`, 1, false},
	{`["a",{"_placeholder":true,"num":1e0}]`, 2, true},
	{`["a",{"_placeholder":true,"num":-0}]`, 1, true},
	{`["a",{"_placeholder":true,"num":"0"}]`, 1, false},
	{`["a",{"_placeholder":true}]`, 1, false},
	{`["a",{"_placeholder":true,"num":null}]`, 1, false},
	{`["a",{"_placeholder":false,"num":9}]`, 1, true},  // no placeholder
	{`["a",{"_placeholder":"true","num":9}]`, 1, true}, // no placeholder: true the string
	{`["a",{"_placeholder":1,"num":9}]`, 1, true},
	{`["a",{"_placeholder":true,"num":9,"_placeholder":false}]`, 1, true}, // the last key counts
	{`["a",{"num":9,"_placeholder":false,"_placeholder":true}]`, 1, false},
	{`["a",{"num":9,"num":0,"_placeholder":true}]`, 1, true},
	{`["a",{"\u005fplaceholder":true,"n\u0075m":3}]`, 1, false}, // keys written with escapes
	{`["a",{"\u005fplaceholder":true,"n\u0075m":0}]`, 1, true},
	{`["a",[{"x":{"_placeholder":true,"num":7}}]]`, 1, false}, // nested
	{`["a",{"x":[1,"s",{"_placeholder":true,"num":0}]},{"_placeholder":true,"num":1}]`, 2, true},
	{`["a",{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":7}}]`, 1, true}, // inside a placeholder: not looked at
	{`["a",{"y":{"_placeholder":true,"num":7},"_placeholder":true,"num":0}]`, 1, true},
	{`["a",{"k":"{\"_placeholder\":true,\"num\":7}"}]`, 1, true}, // a string
	{`[{"":{"_placeholder":true},"":0}]`, 1, true},               // a bad placeholder replaced by a later key
	{`[{"k":{"_placeholder":true},"j":0,"k":{"_placeholder":true,"num":3}}]`, 1, false},
	{` [ "a" , { "_placeholder" : true , "num" : 0 } ] `, 1, true},
	{`["a",{"_placeholder":true,"num":0}]`, 0, false},
	{`[]`, 0, true},
}

func TestCheckPlaceholders(t *testing.T) {
	for _, c := range placeholderCases {
		err := CheckPlaceholders([]byte(c.in), c.attachments)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrIllegalAttachments)) {
			t.Errorf("CheckPlaceholders(%s, %d) = %v, want ok %v", c.in, c.attachments, err, c.ok)
		}
		checkAsDecode(t, []byte(c.in), c.attachments)
	}
	in := []byte(`["a",{"x":[1,"s",{"_placeholder":true,"num":0}]},{"_placeholder":true,"num":1}]`)
	if n := testing.AllocsPerRun(100, func() { _ = CheckPlaceholders(in, 2) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// checkAsDecode holds CheckPlaceholders to Decode's placeholder rule: on valid JSON whose arguments decode, an
// argument decodes with attachments if and only if the check accepts it.
func checkAsDecode(t *testing.T, in []byte, attachments int) {
	t.Helper()
	var tree any
	if attachments == 0 || json.Unmarshal(in, &tree) != nil || depth(tree) >= maxAnyDepth {
		return
	}
	bufs := make([][]byte, attachments)
	for i := range bufs {
		bufs[i] = []byte{byte(i)}
	}
	var v any
	decodeErr := Decode(in, bufs, &v, maxAnyDepth, errMalformed)
	checkErr := CheckPlaceholders(in, attachments)
	if (decodeErr == nil) != (checkErr == nil) {
		t.Fatalf("%s with %d attachments: Decode %v, CheckPlaceholders %v", in, attachments, decodeErr, checkErr)
	}
}

var errMalformed = errors.New("malformed")

func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
	default:
		return 0
	}
	return d + 1
}

func FuzzCheckPlaceholders(f *testing.F) {
	for _, c := range placeholderCases {
		f.Add([]byte(c.in), uint8(c.attachments))
	}
	f.Fuzz(func(t *testing.T, in []byte, attachments uint8) {
		n := int(attachments % 4)
		if !json.Valid(in) {
			return // the parsers check the payload first
		}
		_ = CheckPlaceholders(in, n)
		checkAsDecode(t, in, n)
	})
}
