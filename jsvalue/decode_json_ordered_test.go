package jsvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
)

// refDecodeJSONOrdered is an independent ordered decoder built on
// encoding/json's tokenizer (the implementation DecodeJSONOrdered had before
// its own parser): the reference of FuzzDecodeJSONOrdered.
func refDecodeJSONOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := refOrderedJSON(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorf(ErrMalformed, "json: data after the value")
	}
	return v, nil
}

func refOrderedJSON(dec *json.Decoder, depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, errorf(ErrMalformed, "json: nested deeper than %d levels", MaxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, errorf(ErrMalformed, "json: %v", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			list := []any{}
			for dec.More() {
				v, err := refOrderedJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, errorf(ErrMalformed, "json: %v", err)
			}
			return list, nil
		case '{':
			o := Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, errorf(ErrMalformed, "json: %v", err)
				}
				v, err := refOrderedJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o = refSet(o, kt.(string), v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, errorf(ErrMalformed, "json: %v", err)
			}
			return o, nil
		}
	case json.Number:
		return fromJSON(t, depth)
	}
	return tok, nil
}

// refSet is the reference's rule for a member: a duplicate key keeps its first place and takes the last value.
func refSet(o Object, key string, v any) Object {
	for i := range o {
		if o[i].Key == key {
			o[i].Value = v
			return o
		}
	}
	return append(o, Member{Key: key, Value: v})
}

func TestDecodeJSONOrdered(t *testing.T) {
	for _, s := range append(fuzzSeeds, ` {"z":[1,{"b":2,"a":3}],"y":"\ud83d\ude00\ud800x"} `, `[1.0,-0,1e400,-1e400,1e-400,18446744073709551616]`, "\"\xff\"") {
		got, err := DecodeJSONOrdered([]byte(s))
		want, werr := refDecodeJSONOrdered([]byte(s))
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v %v\nwant %#v %v", s, got, err, want, werr)
		}
	}
	for _, bad := range []string{"", "{", "[1,]", `{"a" 1}`, "01", "1 2", "nul", `"\x"`, "\"\x01\""} {
		if _, err := DecodeJSONOrdered([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", bad, err)
		}
	}
}

// FuzzDecodeJSONOrdered checks the decoder against the reference on any
// input: the same values where both accept, and refusals (wrapping
// ErrMalformed) where the reference refuses.
func FuzzDecodeJSONOrdered(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeJSONOrdered(data)
		want, werr := refDecodeJSONOrdered(data)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: got error %v, reference %v", data, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
		}
	})
}

func TestObjectUnmarshalJSON(t *testing.T) {
	var v struct {
		O    Object `json:"o"`
		Keep Object `json:"keep"`
	}
	v.Keep = Object{{Key: "x", Value: true}}
	err := json.Unmarshal([]byte(`{"o":{"z":1,"a":{"y":2,"b":[1.5,"s",null]},"z":3},"keep":null}`), &v)
	want := Object{{Key: "z", Value: int64(3)}, {Key: "a", Value: Object{{Key: "y", Value: int64(2)}, {Key: "b", Value: []any{1.5, "s", nil}}}}}
	if err != nil || !reflect.DeepEqual(v.O, want) || len(v.Keep) != 1 {
		t.Errorf("got %#v, %v; want %#v and Keep kept", v, err, want)
	}
	var o Object
	if err := json.Unmarshal([]byte(`[1]`), &o); !errors.Is(err, ErrMalformed) {
		t.Errorf("an array: %v", err)
	}
}
