package jsonarg

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sioredis/sioredis/jsvalue"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`"text"`, json.RawMessage(`"text"`)},
		{` {"b":1,"a":[true,null]} `, json.RawMessage(`{"b":1,"a":[true,null]}`)},
		{`{"$binary":"AQID"}`, []byte{1, 2, 3}},
		{`[1,{"$binary":""}]`, []any{int64(1), []byte{}}},
		{`{"z":{"$binary":"/w=="},"a":"x"}`, jsvalue.Object{{Key: "z", Value: []byte{255}}, {Key: "a", Value: "x"}}},
		{`{"$binary":"AQ==","other":1}`, jsvalue.Object{{Key: "$binary", Value: "AQ=="}, {Key: "other", Value: int64(1)}}},
	}
	for _, tt := range tests {
		got, err := Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{``, `text`, `{"a":}`, `{"$binary":"not base64!"}`, `{"$binary":12}`, `[1,2`} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: got %v, want ErrInvalid", in, err)
		}
	}
}

func TestReadArray(t *testing.T) {
	args, err := ReadArray(strings.NewReader(`["hello", {"$binary":"AQ=="}, 3]`))
	if err != nil || len(args) != 3 {
		t.Fatalf("%v %v", args, err)
	}
	if b, ok := args[1].([]byte); !ok || len(b) != 1 {
		t.Fatalf("binary: %#v", args[1])
	}
	if _, err := ReadArray(strings.NewReader(`{"not":"an array"}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("object: %v", err)
	}
}
