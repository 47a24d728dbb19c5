package msgpackparser_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/jsvalue"
	"github.com/sioredis/sioredis/socketio"
	"github.com/sioredis/sioredis/socketio/msgpackparser"
)

type nodeLine struct {
	Hex    string          `json:"hex"`
	OK     bool            `json:"ok"`
	Error  string          `json:"error"`
	Packet json.RawMessage `json:"packet"`
}

func runParser(t *testing.T, mode string, items any) []nodeLine {
	t.Helper()
	arg, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	out := testenv.RunNode(t, "msgpack-parser.js", mode, string(arg))
	var lines []nodeLine
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var l nodeLine
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		lines = append(lines, l)
	}
	return lines
}

func bin(b []byte) map[string]string {
	return map[string]string{"$binary": base64(b)}
}

func base64(b []byte) string {
	s, _ := json.Marshal(b) // encoding/json writes []byte as standard base64
	return strings.Trim(string(s), `"`)
}

// TestEncodeAsNode: the bytes of each packet are those the Node server's parser writes for the packet the Node
// server builds (key order included).
func TestEncodeAsNode(t *testing.T) {
	at := time.Date(2017, 12, 19, 14, 0, 0, 7e6, time.UTC)
	cases := []struct {
		name string
		p    socketio.Packet
		node any // the packet as socket.io 4.8 builds it, in JSON form for msgpack-parser.js
	}{
		{"event", socketio.Packet{Type: socketio.PacketEvent, Nsp: "/", ID: -1, Event: "chat", Args: []any{"hi", 42, 1.5, nil, true}},
			jsvalue.Object{{Key: "type", Value: 2}, {Key: "data", Value: []any{"chat", "hi", 42, 1.5, nil, true}}, {Key: "nsp", Value: "/"}}},
		{"event with ack id", socketio.Packet{Type: socketio.PacketEvent, Nsp: "/admin", ID: 7, Event: "q", Args: []any{map[string]any{"a": []int{1, 2}}}},
			jsvalue.Object{{Key: "type", Value: 2}, {Key: "data", Value: []any{"q", map[string]any{"a": []int{1, 2}}}}, {Key: "id", Value: 7}, {Key: "nsp", Value: "/admin"}}},
		{"binary and time", socketio.Packet{Type: socketio.PacketEvent, Nsp: "/", ID: -1, Event: "f", Args: []any{[]byte{1, 2, 3}, map[string]any{"b": []byte{}, "at": at}}},
			jsvalue.Object{{Key: "type", Value: 2}, {Key: "data", Value: []any{"f", bin([]byte{1, 2, 3}), jsvalue.Object{{Key: "at", Value: "2017-12-19T14:00:00.007Z"}, {Key: "b", Value: bin([]byte{})}}}}, {Key: "nsp", Value: "/"}}},
		{"ack", socketio.Packet{Type: socketio.PacketAck, Nsp: "/", ID: 3, Args: []any{"ok", []byte{9}}},
			jsvalue.Object{{Key: "id", Value: 3}, {Key: "type", Value: 3}, {Key: "data", Value: []any{"ok", bin([]byte{9})}}, {Key: "nsp", Value: "/"}}},
		{"empty ack", socketio.Packet{Type: socketio.PacketAck, Nsp: "/", ID: 0},
			jsvalue.Object{{Key: "id", Value: 0}, {Key: "type", Value: 3}, {Key: "data", Value: []any{}}, {Key: "nsp", Value: "/"}}},
		{"connect", socketio.Packet{Type: socketio.PacketConnect, Nsp: "/", ID: -1, Data: map[string]string{"sid": "abc", "pid": "def"}},
			jsvalue.Object{{Key: "type", Value: 0}, {Key: "data", Value: jsvalue.Object{{Key: "pid", Value: "def"}, {Key: "sid", Value: "abc"}}}, {Key: "nsp", Value: "/"}}},
		{"connect error", socketio.Packet{Type: socketio.PacketConnectError, Nsp: "/x", ID: -1, Data: map[string]any{"message": "no", "data": map[string]int{"code": 401}}},
			jsvalue.Object{{Key: "type", Value: 4}, {Key: "data", Value: jsvalue.Object{{Key: "data", Value: map[string]int{"code": 401}}, {Key: "message", Value: "no"}}}, {Key: "nsp", Value: "/x"}}},
		{"disconnect", socketio.Packet{Type: socketio.PacketDisconnect, Nsp: "/", ID: -1},
			jsvalue.Object{{Key: "type", Value: 1}, {Key: "nsp", Value: "/"}}},
		// (Integral numbers of 2^64 and more are float64 here, where notepack writes a wrong uint64.)
		{"long string and big numbers", socketio.Packet{Type: socketio.PacketEvent, Nsp: "/", ID: -1, Event: "n", Args: []any{strings.Repeat("é", 300), 1 << 40, -1 << 40, 1 << 53, 0.1}},
			jsvalue.Object{{Key: "type", Value: 2}, {Key: "data", Value: []any{"n", strings.Repeat("é", 300), 1 << 40, -1 << 40, 1 << 53, 0.1}}, {Key: "nsp", Value: "/"}}},
	}
	var nodePackets []any
	for _, c := range cases {
		nodePackets = append(nodePackets, c.node)
	}
	lines := runParser(t, "encode", nodePackets)
	if len(lines) != len(cases) {
		t.Fatalf("%d lines for %d cases", len(lines), len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msgs, err := msgpackparser.Parser{}.Encode(c.p)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || !msgs[0].Binary {
				t.Fatalf("want one binary message, got %+v", msgs)
			}
			if got := hex.EncodeToString(msgs[0].Data); got != lines[i].Hex {
				t.Errorf("Go   %s\nNode %s", got, lines[i].Hex)
			}
		})
	}
}

func mp(t *testing.T, v any) string {
	t.Helper()
	b, err := jsvalue.AppendMsgpack(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func obj(kv ...any) jsvalue.Object {
	var o jsvalue.Object
	for i := 0; i < len(kv); i += 2 {
		o = append(o, jsvalue.Member{Key: kv[i].(string), Value: kv[i+1]})
	}
	return o
}

// TestDecodeAsNode feeds the same messages to the Node parser and to this one: what Node's decoder throws on is
// refused (ErrBadPacket), what it accepts is accepted, except where the Go server is stricter on purpose (as it
// is with the default parser).
func TestDecodeAsNode(t *testing.T) {
	const undef = "d40000"
	cases := []struct {
		name     string
		hex      string
		stricter bool   // Node's parser accepts it, the Go server refuses it
		want     string // accepted: the decoded event, "|", the arguments' JSON
	}{
		{name: "event", hex: mp(t, obj("type", 2, "data", []any{"e", 1, "x"}, "nsp", "/")), want: `e|1,"x"`},
		{name: "event with options and id", hex: mp(t, obj("type", 2, "data", []any{"e"}, "options", obj("compress", true), "id", 4, "nsp", "/a")), want: `e|`},
		{name: "connect without data", hex: mp(t, obj("type", 0, "nsp", "/")), want: `|`},
		{name: "connect with undefined data", hex: "83a474797065" + "00" + "a464617461" + undef + "a36e7370a12f", want: `|`},
		{name: "connect with auth", hex: mp(t, obj("type", 0, "data", obj("token", "s", "n", 1), "nsp", "/")), want: `|`},
		{name: "float type", hex: "83a474797065cb4000000000000000a46461746191a165a36e7370a12f" /* type 2.0 */, want: `e|`},
		{name: "type 5", hex: mp(t, obj("type", 5, "data", []any{"e"}, "nsp", "/"))},
		{name: "type -1", hex: mp(t, obj("type", -1, "data", []any{"e"}, "nsp", "/"))},
		{name: "type string", hex: mp(t, obj("type", "2", "data", []any{"e"}, "nsp", "/"))},
		{name: "no type", hex: mp(t, obj("data", []any{"e"}, "nsp", "/"))},
		{name: "not a map", hex: mp(t, []any{2, "/"})},
		{name: "no nsp", hex: mp(t, obj("type", 2, "data", []any{"e"}))},
		{name: "nsp number", hex: mp(t, obj("type", 2, "data", []any{"e"}, "nsp", 1))},
		{name: "event data object", hex: mp(t, obj("type", 2, "data", obj("a", 1), "nsp", "/"))},
		{name: "event without data", hex: mp(t, obj("type", 2, "nsp", "/"))},
		{name: "ack data string", hex: mp(t, obj("type", 3, "data", "x", "id", 1, "nsp", "/"))},
		{name: "connect data array", hex: mp(t, obj("type", 0, "data", []any{1}, "nsp", "/"))},
		{name: "connect data null", hex: mp(t, obj("type", 0, "data", nil, "nsp", "/"))},
		{name: "disconnect with data", hex: mp(t, obj("type", 1, "data", obj(), "nsp", "/"))},
		{name: "id string", hex: mp(t, obj("type", 2, "data", []any{"e"}, "id", "1", "nsp", "/"))},
		{name: "id float", hex: mp(t, obj("type", 2, "data", []any{"e"}, "id", 1.5, "nsp", "/"))},
		{name: "id null", hex: mp(t, obj("type", 2, "data", []any{"e"}, "id", nil, "nsp", "/"))},
		{name: "truncated", hex: mp(t, obj("type", 2, "data", []any{"e"}, "nsp", "/"))[:10]},
		{name: "trailing bytes", hex: mp(t, obj("type", 1, "nsp", "/")) + "00"},
		{name: "empty", hex: ""},
		{name: "negative id", hex: mp(t, obj("type", 3, "data", []any{}, "id", -1, "nsp", "/")), stricter: true},
		{name: "ack without id", hex: mp(t, obj("type", 3, "data", []any{}, "nsp", "/")), stricter: true},
		{name: "empty event", hex: mp(t, obj("type", 2, "data", []any{}, "nsp", "/")), stricter: true},
		{name: "event name number", hex: mp(t, obj("type", 2, "data", []any{1}, "nsp", "/")), stricter: true},
		{name: "reserved event", hex: mp(t, obj("type", 2, "data", []any{"connect"}, "nsp", "/")), stricter: true},
		{name: "connect error from a client", hex: mp(t, obj("type", 4, "data", "x", "nsp", "/")), stricter: true},
		{name: "ack", hex: mp(t, obj("type", 3, "data", []any{"ok", []byte{1}}, "id", 9, "nsp", "/")), want: `|"ok",{"_placeholder":true,"num":0}`},
		// notepack 2: fixext 1 type 0 is undefined, ext 8 type 0 an ArrayBuffer, fixext 8 type 0 a Date.
		{name: "undefined, ArrayBuffer, Date, ext, NaN", hex: "83a474797065" + "02" + "a464617461" + "96a165" + undef + "c7020005 06" +
			"d700" + "000001606f12ef07" + "d5070102" + "cb7ff8000000000000" + "a36e7370a12f",
			want: `e|null,{"_placeholder":true,"num":0},"2017-12-19T14:00:00.007Z",[7,{"_placeholder":true,"num":1}],null`},
		{name: "undefined in an object", hex: "83a474797065" + "02" + "a464617461" + "92a165" + "82a161" + undef + "a16201" + "a36e7370a12f", want: `e|{"b":1}`},
	}
	var hexes []string
	for i := range cases {
		cases[i].hex = strings.ReplaceAll(cases[i].hex, " ", "")
		hexes = append(hexes, cases[i].hex)
	}
	lines := runParser(t, "decode", hexes)
	if len(lines) != len(cases) {
		t.Fatalf("%d lines for %d cases", len(lines), len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := hex.DecodeString(c.hex)
			if err != nil {
				t.Fatal(err)
			}
			p, err := msgpackparser.Decode(engineio.Message{Data: b, Binary: true})
			node := lines[i]
			switch {
			case err != nil && !errors.Is(err, socketio.ErrBadPacket):
				t.Fatalf("error %v does not wrap ErrBadPacket", err)
			case err == nil && !node.OK:
				t.Fatalf("accepted what Node refuses (%s): %+v", node.Error, p)
			case err != nil && node.OK && !c.stricter:
				t.Fatalf("refused what Node accepts (%s): %v", node.Packet, err)
			case err == nil && c.stricter:
				t.Fatalf("accepted: %+v", p)
			case err == nil && c.want != "":
				var raws []string
				for j := range p.Args.Len() {
					raws = append(raws, string(p.Args.Raw(j)))
				}
				if got := p.Event + "|" + strings.Join(raws, ","); got != c.want {
					t.Errorf("got %s, want %s", got, c.want)
				}
			}
			if err != nil {
				t.Logf("Go: %v; Node: %s", err, node.Error)
			}
		})
	}
}

// TestDecodeDetails checks what the Server gets of accepted packets.
func TestDecodeDetails(t *testing.T) {
	b, _ := jsvalue.AppendMsgpack(nil, obj("type", 0, "data", obj("token", "s", "n", 1), "nsp", "/admin"))
	p, err := msgpackparser.Decode(engineio.Message{Data: b, Binary: true})
	if err != nil || p.Type != socketio.PacketConnect || p.Nsp != "/admin" || string(p.Auth) != `{"token":"s","n":1}` || p.ID != socketio.NoAckID {
		t.Fatalf("%+v %v", p, err)
	}
	b, _ = jsvalue.AppendMsgpack(nil, obj("type", 2, "data", []any{"e", []byte{1, 2}, obj("x", []byte{3})}, "id", 12, "nsp", "/"))
	p, err = msgpackparser.Decode(engineio.Message{Data: b, Binary: true})
	if err != nil || p.ID != 12 || p.Args.Len() != 2 {
		t.Fatalf("%+v %v", p, err)
	}
	var first []byte
	var second struct{ X []byte }
	if err := p.Args.DecodeAll(&first, &second); err != nil || !bytes.Equal(first, []byte{1, 2}) || !bytes.Equal(second.X, []byte{3}) {
		t.Fatalf("%v %v %v", first, second, err)
	}
	// A text message is a client of the default parser.
	if _, err := msgpackparser.Decode(engineio.Message{Data: []byte(`40`)}); !errors.Is(err, socketio.ErrBadPacket) {
		t.Fatalf("text message: %v", err)
	}
	// An argument the encoder refuses is an error of Encode.
	if _, err := (msgpackparser.Parser{}).Encode(socketio.Packet{Type: socketio.PacketEvent, Nsp: "/", ID: -1, Event: "e", Args: []any{make(chan int)}}); !errors.Is(err, socketio.ErrUnsupportedValue) {
		t.Fatalf("chan: %v", err)
	}
	if _, err := (msgpackparser.Parser{}).Encode(socketio.Packet{Type: socketio.PacketEvent, Nsp: "/", ID: -1, Event: "disconnect"}); !errors.Is(err, socketio.ErrReservedEvent) {
		t.Fatalf("reserved: %v", err)
	}
}
