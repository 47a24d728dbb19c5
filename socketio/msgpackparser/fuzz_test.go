package msgpackparser_test

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/socketio"
	"github.com/sioredis/sioredis/socketio/msgpackparser"
)

// FuzzDecode: the decoder never panics, refuses with ErrBadPacket, decodes as its reference (checkAsReference),
// and what it accepts the Server can use: the arguments decode, and an accepted event encodes again into a packet
// it accepts.
func FuzzDecode(f *testing.F) {
	seeds := []socketio.Packet{
		{Type: socketio.PacketEvent, Nsp: "/", ID: -1, Event: "e", Args: []any{1, "x", []byte{1}, map[string]any{"a": []any{nil, true}}}},
		{Type: socketio.PacketEvent, Nsp: "/admin", ID: 3, Event: "q"},
		{Type: socketio.PacketEvent, Nsp: "/", ID: -1, Event: `a"b\`, Args: []any{1}}, // the name is cut from the JSON
		{Type: socketio.PacketEvent, Nsp: "/", ID: -1, Event: "\\\"\x01"},
		{Type: socketio.PacketAck, Nsp: "/", ID: 0, Args: []any{[]byte{}}},
		{Type: socketio.PacketConnect, Nsp: "/", ID: -1, Data: map[string]any{"token": "t"}},
		{Type: socketio.PacketDisconnect, Nsp: "/", ID: -1},
	}
	for _, p := range seeds {
		msgs, err := msgpackparser.Parser{}.Encode(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msgs[0].Data)
	}
	f.Add([]byte("\x83\xa4type\x02\xa4data\x93\xa1e\xd4\x00\x00\xc7\x01\x00\x05\xa3nsp\xa1/"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAsReference(t, b)
		p, err := msgpackparser.Decode(engineio.Message{Data: b, Binary: true})
		if err != nil {
			if !errors.Is(err, socketio.ErrBadPacket) {
				t.Fatalf("%v does not wrap ErrBadPacket", err)
			}
			return
		}
		vals, err := p.Args.Values()
		if err != nil {
			t.Fatalf("accepted arguments do not decode: %v", err)
		}
		if p.Type != socketio.PacketEvent {
			return
		}
		msgs, err := msgpackparser.Parser{}.Encode(socketio.Packet{Type: p.Type, Nsp: p.Nsp, ID: p.ID, Event: p.Event, Args: vals})
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", vals, err)
		}
		q, err := msgpackparser.Decode(msgs[0])
		// Strings that are not UTF-8 are written with U+FFFD, as JavaScript would.
		sameText := func(a, b string) bool { return a == b || !utf8.ValidString(a) }
		if err != nil || !sameText(p.Event, q.Event) || !sameText(p.Nsp, q.Nsp) || q.ID != p.ID || q.Args.Len() != p.Args.Len() {
			t.Fatalf("round trip: %+v, %v; was %+v", q, err, p)
		}
	})
}
