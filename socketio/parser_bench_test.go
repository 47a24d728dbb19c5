package socketio_test

import (
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
