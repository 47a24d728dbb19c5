package protocol

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/sioredis/sioredis/jsvalue"
)

// Payloads recorded from the Node libraries (docs: protocol notes §2 and
// appendix A), decoded field by field.
func TestDecodeRecordedPayloads(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		sharded bool
		hex     string // or
		text    string
		want    Message
	}{
		{name: "tutorial example, flags as an empty array", channel: "socket.io#/#room_777#",
			hex: "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 ad 6d 79 5f 65 76 65 6e 74 5f 6e 61 6d 65 81 a3 66 6f 6f a3 62 61 72 a3 6e 73 70 a1 2f 82 a5 72 6f 6f 6d 73 91 a8 72 6f 6f 6d 5f 37 37 37 a5 66 6c 61 67 73 90",
			want: Message{Format: FormatLegacy, Encoding: EncodingMsgpack, Kind: KindBroadcast, Type: NoType, UID: "emitter", Nsp: "/",
				Rooms: []string{"room_777"}, Flags: map[string]any{}, PacketType: 2, Event: "my_event_name", Args: []any{jsvalue.Object{{Key: "foo", Value: "bar"}}}}},
		{name: "official emitter 5.1 to one room", channel: "socket.io#/#room_777#",
			hex: "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 ad 6d 79 5f 65 76 65 6e 74 5f 6e 61 6d 65 81 a3 66 6f 6f a3 62 61 72 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a8 72 6f 6f 6d 5f 37 37 37 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90",
			want: Message{Format: FormatClassic, Encoding: EncodingMsgpack, Kind: KindBroadcast, Type: NoType, UID: "emitter", Nsp: "/",
				Rooms: []string{"room_777"}, Except: []string{}, Flags: map[string]any{}, PacketType: 2, Event: "my_event_name", Args: []any{jsvalue.Object{{Key: "foo", Value: "bar"}}}}},
		{name: "official emitter except volatile compress", channel: "socket.io#/admin#",
			hex: "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a1 78 01 a3 6e 73 70 a6 2f 61 64 6d 69 6e 83 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 82 a8 76 6f 6c 61 74 69 6c 65 c3 a8 63 6f 6d 70 72 65 73 73 c2 a6 65 78 63 65 70 74 91 a2 72 31",
			want: Message{Format: FormatClassic, Encoding: EncodingMsgpack, Kind: KindBroadcast, Type: NoType, UID: "emitter", Nsp: "/admin",
				Rooms: []string{}, Except: []string{"r1"}, Flags: map[string]any{"volatile": true, "compress": false}, PacketType: 2, Event: "x", Args: []any{int64(1)}}},
		{name: "v4 server broadcast", channel: "socket.io#/#room1#",
			hex: "93 a6 41 62 43 31 32 33 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f a5 77 6f 72 6c 64 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80",
			want: Message{Format: FormatClassic, Encoding: EncodingMsgpack, Kind: KindBroadcast, Type: NoType, UID: "AbC123", Nsp: "/",
				Rooms: []string{"room1"}, Except: []string{}, Flags: map[string]any{}, PacketType: 2, Event: "hello", Args: []any{"world"}}},
		{name: "socket.io-emitter 3.1.2 binary, type 5", channel: "socket.io#/#",
			hex: "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 05 a4 64 61 74 61 92 a3 62 69 6e c4 03 01 02 03 a3 6e 73 70 a1 2f 82 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 80",
			want: Message{Format: FormatLegacy, Encoding: EncodingMsgpack, Kind: KindBroadcast, Type: NoType, UID: "emitter", Nsp: "/",
				Rooms: []string{}, Flags: map[string]any{}, PacketType: 5, Event: "bin", Args: []any{[]byte{1, 2, 3}}}},
		{name: "socket.io-redis 0.1 [packet, opts]", channel: "socket.io#emitter",
			hex: "92 83 a4 74 79 70 65 02 a4 64 61 74 61 92 ac 63 68 61 74 20 6d 65 73 73 61 67 65 a9 73 75 63 68 20 64 61 74 61 a3 6e 73 70 a1 2f 82 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 81 a9 62 72 6f 61 64 63 61 73 74 c3",
			want: Message{Format: FormatLegacy, Encoding: EncodingMsgpack, Kind: KindBroadcast, Type: NoType, Nsp: "/",
				Rooms: []string{}, Flags: map[string]any{"broadcast": true}, PacketType: 2, Event: "chat message", Args: []any{"such data"}}},
		{name: "official socketsJoin", channel: "socket.io-request#/#",
			text: `{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room3"]}`,
			want: Message{Format: FormatClassic, Encoding: EncodingJSON, Kind: KindSocketsJoin, Type: 2, Nsp: "/",
				Rooms: []string{"room1"}, Except: []string{}, TargetRooms: []string{"room3"}}},
		{name: "official socketsLeave", channel: "socket.io-request#/#",
			text: `{"type":3,"opts":{"rooms":[],"except":["r9"]},"rooms":["room1"]}`,
			want: Message{Format: FormatClassic, Encoding: EncodingJSON, Kind: KindSocketsLeave, Type: 3, Nsp: "/",
				Rooms: []string{}, Except: []string{"r9"}, TargetRooms: []string{"room1"}}},
		{name: "official disconnectSockets", channel: "socket.io-request#/admin#",
			text: `{"type":4,"opts":{"rooms":["room2"],"except":[]},"close":true}`,
			want: Message{Format: FormatClassic, Encoding: EncodingJSON, Kind: KindDisconnectSockets, Type: 4, Nsp: "/admin",
				Rooms: []string{"room2"}, Except: []string{}, Close: true}},
		{name: "official serverSideEmit", channel: "socket.io-request#/#",
			text: `{"uid":"emitter","type":6,"data":["hello","world",1,"2"]}`,
			want: Message{Format: FormatClassic, Encoding: EncodingJSON, Kind: KindServerSideEmit, Type: 6, UID: "emitter", Nsp: "/",
				Event: "hello", Args: []any{"world", int64(1), "2"}}},
		{name: "server fetchSockets", channel: "socket.io-request#/#",
			text: `{"uid":"AbC123","requestId":"q1","type":5,"opts":{"rooms":["r"],"except":[]}}`,
			want: Message{Format: FormatClassic, Encoding: EncodingJSON, Kind: KindFetchSockets, Type: 5, UID: "AbC123", Nsp: "/", RequestID: "q1",
				Rooms: []string{"r"}, Except: []string{}}},
		{name: "remoteJoin by socket id", channel: "socket.io-request#/#",
			text: `{"uid":"AbC123","requestId":"q2","type":2,"sid":"s1","room":"r"}`,
			want: Message{Format: FormatClassic, Encoding: EncodingJSON, Kind: KindRemoteJoin, Type: 2, UID: "AbC123", Nsp: "/", RequestID: "q2", SID: "s1", Room: "r"}},
		{name: "legacy allRooms request", channel: "socket.io-request#/#",
			text: `{"requestid":"q3","type":2}`,
			want: Message{Format: FormatLegacy, Encoding: EncodingJSON, Kind: KindAllRooms, Type: 2, Nsp: "/", RequestID: "q3"}},
		{name: "legacy remoteDisconnect", channel: "socket.io-request#/#",
			text: `{"requestid":"q4","type":6,"sid":"s","close":true}`,
			want: Message{Format: FormatLegacy, Encoding: EncodingJSON, Kind: KindRemoteDisconnect, Type: 6, Nsp: "/", RequestID: "q4", SID: "s", Close: true}},
		{name: "fetchSockets response", channel: "socket.io-response#/#",
			text: `{"requestId":"q1","sockets":[{"id":"s1","handshake":{},"rooms":["s1"],"data":{}}]}`,
			want: Message{Format: FormatClassic, Encoding: EncodingJSON, Kind: KindFetchSocketsResponse, Type: NoType, Nsp: "/", RequestID: "q1",
				Data: []any{jsvalue.Object{{Key: "id", Value: "s1"}, {Key: "handshake", Value: jsvalue.Object{}}, {Key: "rooms", Value: []any{"s1"}}, {Key: "data", Value: jsvalue.Object{}}}}}},
		{name: "serverSideEmit response", channel: "socket.io-response#/#AbC123#",
			text: `{"type":6,"requestId":"q5","data":"pong"}`,
			want: Message{Format: FormatClassic, Encoding: EncodingJSON, Kind: KindServerSideEmitResponse, Type: 6, Nsp: "/", RequestID: "q5", Data: "pong", Args: []any{"pong"}}},
		{name: "broadcast client count", channel: "socket.io-response#/#",
			text: `{"type":8,"requestId":"q6","clientCount":3}`,
			want: Message{Format: FormatClassic, Encoding: EncodingJSON, Kind: KindBroadcastClientCount, Type: 8, Nsp: "/", RequestID: "q6", Data: int64(3)}},
		{name: "remote join ack", channel: "socket.io-response#/#",
			text: `{"requestId":"q2"}`,
			want: Message{Format: FormatClassic, Encoding: EncodingJSON, Kind: KindResponse, Type: NoType, Nsp: "/", RequestID: "q2"}},
		{name: "sharded broadcast (JSON)", channel: "socket.io#/#", sharded: true,
			text: `{"uid":"emitter","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["my_event_name",{"foo":"bar"}],"nsp":"/"},"opts":{"rooms":["room_777"],"flags":{},"except":[]}}}`,
			want: Message{Format: FormatCluster, Encoding: EncodingJSON, Kind: KindBroadcast, Type: 3, UID: "emitter", Nsp: "/",
				Rooms: []string{"room_777"}, Except: []string{}, Flags: map[string]any{}, PacketType: 2, Event: "my_event_name", Args: []any{jsvalue.Object{{Key: "foo", Value: "bar"}}}}},
		{name: "sharded binary broadcast (notepack)", channel: "socket.io#/#", sharded: true,
			hex: "84 a3 75 69 64 a7 65 6d 69 74 74 65 72 a3 6e 73 70 a1 2f a4 74 79 70 65 03 a4 64 61 74 61 82 a6 70 61 63 6b 65 74 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a3 62 69 6e c4 03 01 02 03 a3 6e 73 70 a1 2f a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90",
			want: Message{Format: FormatCluster, Encoding: EncodingMsgpack, Kind: KindBroadcast, Type: 3, UID: "emitter", Nsp: "/",
				Rooms: []string{}, Except: []string{}, Flags: map[string]any{}, PacketType: 2, Event: "bin", Args: []any{[]byte{1, 2, 3}}}},
		{name: "sharded join", channel: "socket.io#/#", sharded: true,
			text: `{"uid":"emitter","nsp":"/","type":4,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"rooms":["room3"]}}`,
			want: Message{Format: FormatCluster, Encoding: EncodingJSON, Kind: KindSocketsJoin, Type: 4, UID: "emitter", Nsp: "/",
				Rooms: []string{"room1"}, Except: []string{}, Flags: map[string]any{}, TargetRooms: []string{"room3"}}},
		{name: "sharded disconnect", channel: "socket.io#/#", sharded: true,
			text: `{"uid":"emitter","nsp":"/","type":6,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"close":false}}`,
			want: Message{Format: FormatCluster, Encoding: EncodingJSON, Kind: KindDisconnectSockets, Type: 6, UID: "emitter", Nsp: "/",
				Rooms: []string{}, Except: []string{}, Flags: map[string]any{}}},
		{name: "sharded serverSideEmit", channel: "socket.io#/#", sharded: true,
			text: `{"uid":"emitter","nsp":"/","type":9,"data":{"packet":["hello","world"]}}`,
			want: Message{Format: FormatCluster, Encoding: EncodingJSON, Kind: KindServerSideEmit, Type: 9, UID: "emitter", Nsp: "/", Event: "hello", Args: []any{"world"}}},
		{name: "sharded fetchSockets response", channel: "socket.io#/#0123456789abcdef#", sharded: true,
			text: `{"uid":"0123456789abcdef","nsp":"/","type":8,"data":{"requestId":"r","sockets":[]}}`,
			want: Message{Format: FormatCluster, Encoding: EncodingJSON, Kind: KindFetchSocketsResponse, Type: 8, UID: "0123456789abcdef", Nsp: "/", RequestID: "r", Data: []any{}}},
		{name: "heartbeat", channel: "socket.io#/#", sharded: true,
			text: `{"uid":"abc","nsp":"/","type":2}`,
			want: Message{Format: FormatCluster, Encoding: EncodingJSON, Kind: KindHeartbeat, Type: 2, UID: "abc", Nsp: "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := []byte(tt.text)
			if tt.hex != "" {
				payload = unhex(tt.hex)
			}
			decode := DecodePubSub
			if tt.sharded {
				decode = DecodeSharded
			}
			got, err := decode(DefaultPrefix, tt.channel, payload)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("got  %#v\nwant %#v", *got, tt.want)
			}
		})
	}
}

func TestDecodeStreamEntry(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]any
		want   Message
	}{
		{"JSON broadcast", map[string]any{"uid": "emitter", "nsp": "/", "type": "3",
			"data": `{"packet":{"type":2,"data":["my_event_name",{"foo":"bar"}],"nsp":"/"},"opts":{"rooms":["room_777"],"flags":{},"except":[]}}`},
			Message{Format: FormatStream, Encoding: EncodingJSON, Kind: KindBroadcast, Type: 3, UID: "emitter", Nsp: "/",
				Rooms: []string{"room_777"}, Except: []string{}, Flags: map[string]any{}, PacketType: 2, Event: "my_event_name", Args: []any{jsvalue.Object{{Key: "foo", Value: "bar"}}}}},
		{"binary broadcast (base64 msgpack)", map[string]any{"uid": "emitter", "nsp": "/", "type": "3",
			"data": "gqZwYWNrZXSDpHR5cGUCpGRhdGGSo2JpbsQDAQIDo25zcKEvpG9wdHODpXJvb21zkKVmbGFnc4CmZXhjZXB0kA=="},
			Message{Format: FormatStream, Encoding: EncodingMsgpack, Kind: KindBroadcast, Type: 3, UID: "emitter", Nsp: "/",
				Rooms: []string{}, Except: []string{}, Flags: map[string]any{}, PacketType: 2, Event: "bin", Args: []any{[]byte{1, 2, 3}}}},
		{"heartbeat without data", map[string]any{"uid": "x", "nsp": "/admin", "type": "2"},
			Message{Format: FormatStream, Kind: KindHeartbeat, Type: 2, UID: "x", Nsp: "/admin"}},
		{"[]byte fields", map[string]any{"uid": []byte("x"), "nsp": []byte("/"), "type": []byte("9"), "data": []byte(`{"packet":["e"]}`)},
			Message{Format: FormatStream, Encoding: EncodingJSON, Kind: KindServerSideEmit, Type: 9, UID: "x", Nsp: "/", Event: "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeStreamEntry(tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("got  %#v\nwant %#v", *got, tt.want)
			}
		})
	}
	for _, bad := range []map[string]any{
		{"sioredis-probe": "x"},
		{"nsp": "/", "type": "three"},
		{"nsp": "/", "type": "3", "data": "!!!"},
		{"nsp": "/", "type": "3", "data": `{"packet":1}`},
		{"nsp": 1, "type": "3"},
	} {
		if _, err := DecodeStreamEntry(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v: got %v", bad, err)
		}
	}
}

func TestDecodeMalformedMessages(t *testing.T) {
	tests := []struct {
		name    string
		decode  func([]byte) (*Message, error)
		payload string
	}{
		{"broadcast not an array", DecodeClassicBroadcast, "\x80"},
		{"broadcast of 4 elements", DecodeClassicBroadcast, "\x94\xc0\xc0\xc0\xc0"},
		{"broadcast uid not a string", DecodeClassicBroadcast, "\x93\x01\x80\x80"},
		{"broadcast packet not a map", DecodeClassicBroadcast, "\x93\xa1x\x01\x80"},
		{"broadcast without packet type", DecodeClassicBroadcast, "\x93\xa1x\x81\xa4data\x90\x80"},
		{"broadcast opts not a map", DecodeClassicBroadcast, "\x93\xa1x\x82\xa4type\x02\xa4data\x90\xc0"},
		{"broadcast rooms not an array", DecodeClassicBroadcast, "\x93\xa1x\x82\xa4type\x02\xa4data\x90\x81\xa5rooms\x01"},
		{"broadcast trailing bytes (#522)", DecodeClassicBroadcast, "\x93\xa1x\x82\xa4type\x02\xa4data\x90\x80\xc0"},
		{"request not a map", DecodeClassicRequest, `[1]`},
		{"request without type", DecodeClassicRequest, `{"uid":"x"}`},
		{"request with a leading space goes to msgpack", DecodeClassicRequest, ` {"type":2}`},
		{"request type not a number", DecodeClassicRequest, `{"type":"2"}`},
		{"request event data not an array", DecodeClassicRequest, `{"type":6,"data":"x"}`},
		{"request close not a boolean", DecodeClassicRequest, `{"type":4,"opts":{},"close":1}`},
		{"legacy request close not a boolean", DecodeClassicRequest, `{"type":6,"requestid":"r","sid":"s","close":"x"}`},
		{"legacy request sid not a string", DecodeClassicRequest, `{"type":6,"requestid":"r","sid":[]}`},
		{"response not a map", DecodeClassicResponse, `"x"`},
		{"cluster message not a map", DecodeClusterMessage, `[]`},
		{"cluster data not a map", DecodeClusterMessage, `{"uid":"x","nsp":"/","type":3,"data":[]}`},
		{"cluster nsp not a string", DecodeClusterMessage, `{"uid":"x","nsp":1,"type":2}`},
		{"cluster event name not a scalar", DecodeClusterMessage, `{"type":9,"data":{"packet":[{}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := tt.decode([]byte(tt.payload)); !errors.Is(err, ErrMalformed) || m != nil {
				t.Fatalf("got %+v, %v; want nil, ErrMalformed", m, err)
			}
		})
	}
}

// roundTrip is what an encoded operation must decode back to.
type roundTrip struct {
	Kind                  Kind
	Nsp, Event            string
	Rooms, Except, Target []string
	Close, Volatile       bool
	Args                  []any
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func projection(m *Message) roundTrip {
	_, volatile := m.Flags["volatile"]
	return roundTrip{m.Kind, m.Nsp, m.Event, nonNil(m.Rooms), nonNil(m.Except), nonNil(m.TargetRooms), m.Close, volatile, m.Args}
}

// Everything our encoders write decodes back to the operation.
func TestDecodeRoundTrip(t *testing.T) {
	binArgs := []any{"s", 1, -2.5, true, nil, []byte{0, 255}, map[string]any{"k": []any{1, "x"}}}
	binWant := []any{"s", int64(1), -2.5, true, nil, []byte{0, 255}, jsvalue.Object{{Key: "k", Value: []any{int64(1), "x"}}}}
	textArgs := []any{"s", 1, -2.5, true, nil}
	textWant := []any{"s", int64(1), -2.5, true, nil}
	tests := []struct {
		name string
		op   Op
		want roundTrip
	}{
		{"broadcast with binary", Op{Kind: OpBroadcast, Nsp: "/admin", Rooms: []string{"a", "b"}, Except: []string{"c"}, Flags: Flags{Volatile: true, Compress: CompressFalse}, Event: "ev", Args: binArgs},
			roundTrip{KindBroadcast, "/admin", "ev", []string{"a", "b"}, []string{"c"}, []string{}, false, true, binWant}},
		{"broadcast", Op{Kind: OpBroadcast, Nsp: "/", Rooms: []string{"r"}, Event: "ev", Args: textArgs},
			roundTrip{KindBroadcast, "/", "ev", []string{"r"}, []string{}, []string{}, false, false, textWant}},
		{"join", Op{Kind: OpSocketsJoin, Nsp: "/", Rooms: []string{"a"}, JoinRooms: []string{"x", "y"}},
			roundTrip{KindSocketsJoin, "/", "", []string{"a"}, []string{}, []string{"x", "y"}, false, false, nil}},
		{"leave", Op{Kind: OpSocketsLeave, Nsp: "/", Except: []string{"e"}, JoinRooms: []string{"x"}},
			roundTrip{KindSocketsLeave, "/", "", []string{}, []string{"e"}, []string{"x"}, false, false, nil}},
		{"disconnect", Op{Kind: OpDisconnectSockets, Nsp: "/", Rooms: []string{"r"}, Close: true},
			roundTrip{KindDisconnectSockets, "/", "", []string{"r"}, []string{}, []string{}, true, false, nil}},
		{"serverSideEmit", Op{Kind: OpServerSideEmit, Nsp: "/", Event: "hello", Args: textArgs},
			roundTrip{KindServerSideEmit, "/", "hello", []string{}, []string{}, []string{}, false, false, textWant}},
		{"serverSideEmit with binary", Op{Kind: OpServerSideEmit, Nsp: "/", Event: "hello", Args: binArgs},
			roundTrip{KindServerSideEmit, "/", "hello", []string{}, []string{}, []string{}, false, false, binWant}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := &tt.op
			check := func(what string, m *Message, err error, format Format) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if got := projection(m); !reflect.DeepEqual(got, tt.want) || m.Format != format {
					t.Fatalf("%s: got %s %#v\nwant %s %#v", what, m.Format, got, format, tt.want)
				}
			}
			if op.Kind == OpBroadcast {
				b, err := AppendClassicBroadcast(nil, EmitterUID, op, false)
				if err != nil {
					t.Fatal(err)
				}
				m, err := DecodePubSub(DefaultPrefix, BroadcastChannel(DefaultPrefix, op.Nsp, op.Rooms), b)
				check("classic", m, err, FormatClassic)

				b, err = AppendClassicBroadcast(nil, EmitterUID, op, true)
				if err != nil {
					t.Fatal(err)
				}
				m, err = DecodePubSub(DefaultPrefix, BroadcastChannel(DefaultPrefix, op.Nsp, op.Rooms), b)
				format := FormatLegacy
				if len(op.Except) > 0 && len(op.Args) == len(textArgs) {
					format = FormatClassic // except is sent, and no binary makes it type 5
				}
				check("legacy", m, err, format)
			} else {
				b, err := AppendClassicRequest(nil, EmitterUID, op)
				if err != nil {
					t.Fatal(err)
				}
				m, err := DecodePubSub(DefaultPrefix, RequestChannel(DefaultPrefix, op.Nsp), b)
				check("classic request", m, err, FormatClassic)
			}
			b, err := AppendClusterMessage(nil, EmitterUID, op)
			if err != nil {
				t.Fatal(err)
			}
			m, err := DecodeSharded(DefaultPrefix, ShardedBroadcastChannel(DefaultPrefix, op.Nsp, ShardedStatic, op.Rooms), b)
			check("cluster", m, err, FormatCluster)
			if m.UID != EmitterUID || m.Type != ClusterType(op) {
				t.Fatalf("uid %q type %d", m.UID, m.Type)
			}
			data, binary, err := AppendStreamData(nil, op)
			if err != nil {
				t.Fatal(err)
			}
			field := string(data)
			if binary {
				field = base64.StdEncoding.EncodeToString(data)
			}
			m, err = DecodeStreamEntry(map[string]any{"uid": EmitterUID, "nsp": op.Nsp, "type": strconv.Itoa(ClusterType(op)), "data": field})
			check("stream", m, err, FormatStream)
		})
	}
}

func TestParseChannel(t *testing.T) {
	tests := []struct {
		channel string
		want    ChannelInfo
	}{
		{"socket.io#/#", ChannelInfo{ChannelBroadcast, "/", ""}},
		{"socket.io#/admin#room_777#", ChannelInfo{ChannelBroadcast, "/admin", "room_777"}},
		{"socket.io#/#a#b*c#", ChannelInfo{ChannelBroadcast, "/", "a#b*c"}},
		{"socket.io-request#/#", ChannelInfo{ChannelRequest, "/", ""}},
		{"socket.io-response#/#", ChannelInfo{ChannelResponse, "/", ""}},
		{"socket.io-response#/#AbC123#", ChannelInfo{ChannelResponse, "/", "AbC123"}},
		{"socket.io#emitter", ChannelInfo{}},
		{"socket.io-request#/#x#", ChannelInfo{}},
		{"socket.io#/#room", ChannelInfo{}},
		{"other#/#", ChannelInfo{}},
	}
	for _, tt := range tests {
		if got := ParseChannel(DefaultPrefix, tt.channel); got != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.channel, got, tt.want)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	op := &Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name",
		Args: []any{map[string]any{"id": "message_id", "created_at": "2017-12-19 14:00:00", "body": "message_body"}}}
	classic, err := AppendClassicBroadcast(nil, EmitterUID, op, false)
	if err != nil {
		b.Fatal(err)
	}
	cluster, err := AppendClusterMessage(nil, EmitterUID, op)
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct {
		name    string
		payload []byte
		decode  func([]byte) (*Message, error)
	}{
		{"classic broadcast (msgpack)", classic, DecodeClassicBroadcast},
		{"cluster message (JSON)", cluster, DecodeClusterMessage},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.payload)))
			for b.Loop() {
				if _, err := bb.decode(bb.payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
