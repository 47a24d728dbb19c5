package protocol

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzClassicBroadcast checks that every broadcast we accept to publish is
// one msgpack value of exactly the shape Node servers decode without
// throwing: [uid, {type, data, nsp}, {rooms, flags, except}].
func FuzzClassicBroadcast(f *testing.F) {
	for _, s := range []string{`{"id":"m","body":"b"}`, `[1,-1,1.5,1e300]`, `"\u00e9\ud83d\ude00"`, `null`, `{"a":1,"a":2}`} {
		f.Add("ev", "room", []byte(s), false)
	}
	f.Fuzz(func(t *testing.T, event, room string, arg []byte, legacy bool) {
		op := &Op{Nsp: "/", Event: event, Args: []any{json.RawMessage(arg), []byte(room)}}
		if room != "" {
			op.Rooms = []string{room}
		}
		b, err := AppendClassicBroadcast(nil, EmitterUID, op, legacy)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedValue) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		msg, ok := decodeOne(t, b).([]any)
		if !ok || len(msg) != 3 {
			t.Fatalf("not a 3-element array: %#v", msg)
		}
		if msg[0] != EmitterUID {
			t.Fatalf("uid %#v", msg[0])
		}
		packet, ok1 := msg[1].(map[string]any)
		opts, ok2 := msg[2].(map[string]any)
		if !ok1 || !ok2 {
			t.Fatalf("packet or opts not a map: %#v", msg)
		}
		data, ok := packet["data"].([]any)
		if !ok || len(data) != 3 || packet["nsp"] != "/" {
			t.Fatalf("bad packet %#v", packet)
		}
		if _, ok := opts["rooms"].([]any); !ok {
			t.Fatalf("bad opts %#v", opts)
		}
		if _, ok := opts["flags"].(map[string]any); !ok {
			t.Fatalf("bad flags %#v", opts)
		}
	})
}
