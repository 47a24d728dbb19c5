package jsvalue_test

import (
	"fmt"
	"time"

	"github.com/sioredis/sioredis/jsvalue"
)

func ExampleDecodeMsgpack() {
	// notepack.io's encoding of [1.5, {"1": "x"}, new Date(0), Buffer.from([1, 2])].
	v, err := jsvalue.DecodeMsgpack([]byte("\x94\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\x81\x01\xa1x\xd6\xff\x00\x00\x00\x00\xc4\x02\x01\x02"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v\n", v)
	_, err = jsvalue.DecodeMsgpack([]byte("\xdb\xff\xff\xff\xff"))
	fmt.Println(err)
	// Output:
	// [1.5 map[1:x] 1970-01-01 00:00:00 +0000 UTC [1 2]]
	// sioredis: malformed message: msgpack at offset 5: 4294967295 bytes announced, 0 left
}

// A Writer writes one tree in either encoding through the same calls.
func ExampleWriter() {
	for _, w := range []jsvalue.Writer{jsvalue.JSONWriter(nil), jsvalue.MsgpackWriter(nil)} {
		w.BeginObject(2)
		w.Key("event")
		w.Str("saved")
		w.Key("at")
		if err := w.Value(time.Date(2017, 12, 19, 14, 0, 0, 0, time.UTC)); err != nil {
			panic(err)
		}
		w.EndObject()
		fmt.Printf("%q\n", w.Bytes())
	}
	// Output:
	// "{\"event\":\"saved\",\"at\":\"2017-12-19T14:00:00.000Z\"}"
	// "\x82\xa5event\xa5saved\xa2at\xb82017-12-19T14:00:00.000Z"
}

// AppendJSON writes what JSON.stringify writes: no HTML escaping, a
// JavaScript Date's string for time.Time, struct tags as encoding/json reads
// them; an Object keeps its keys in order.
func ExampleAppendJSON() {
	type msg struct {
		Body string    `json:"body"`
		At   time.Time `json:"at"`
		Tags []string  `json:"tags,omitempty"`
	}
	b, err := jsvalue.AppendJSON(nil, []any{
		msg{Body: "<b>hi</b>", At: time.Date(2017, 12, 19, 14, 0, 0, 0, time.UTC)},
		jsvalue.Object{{Key: "z", Value: 1}, {Key: "a", Value: 2.5}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// [{"body":"<b>hi</b>","at":"2017-12-19T14:00:00.000Z"},{"z":1,"a":2.5}]
}
