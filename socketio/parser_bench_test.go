package socketio_test

import (
	"encoding/json"
	"testing"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/socketio"
)

// BenchmarkJSONParser is the default parser's cost per EVENT, the figures of docs/benchmarks.md ("What the parser
// seam and the observation hooks cost"): go test -run '^$' -bench JSONParser -benchmem ./socketio/
func BenchmarkJSONParser(b *testing.B) {
	msg := map[string]any{"room": "room_777", "body": "hello", "n": 42}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (socketio.JSONParser{}).Encode(socketio.Packet{Type: socketio.PacketEvent, Nsp: "/", ID: socketio.NoAckID,
				Event: "chat", Args: []any{msg}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		dec := socketio.JSONParser{}.NewDecoder(socketio.DecoderConfig{})
		in := engineio.Message{Data: []byte(`2["chat",{"body":"hello","n":42,"room":"room_777"}]`)}
		b.ReportAllocs()
		for b.Loop() {
			if _, complete, err := dec.Decode(in); err != nil || !complete {
				b.Fatal(complete, err)
			}
		}
	})
}

// BenchmarkArgsDecode is the cost of decoding a received argument: into a struct and into an any, without and
// with binary (an attachment in an any field, which comes back as []byte).
func BenchmarkArgsDecode(b *testing.B) {
	type chat struct {
		Room string `json:"room"`
		Body string `json:"body"`
		N    int    `json:"n"`
		Bin  any    `json:"bin"`
	}
	plain := socketio.NewArgs([]json.RawMessage{json.RawMessage(`{"body":"hello","n":42,"room":"room_777"}`)}, nil)
	binary := socketio.NewArgs([]json.RawMessage{json.RawMessage(`{"body":"hello","n":42,"room":"room_777","bin":{"_placeholder":true,"num":0}}`)},
		[][]byte{make([]byte, 64)})
	for _, bc := range []struct {
		name string
		args socketio.Args
	}{{"plain", plain}, {"binary", binary}} {
		b.Run(bc.name+"/struct", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var m chat
				if err := bc.args.Decode(0, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/any", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.args.Values(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
