package socketio

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/siopacket"
)

func TestDecodePacket(t *testing.T) {
	tests := []struct {
		in          string
		typ         PacketType
		nsp         string
		id          int64
		data        string
		attachments int
		wantErr     bool
	}{
		{in: "0", typ: PacketConnect, nsp: "/", id: -1},
		{in: "0/admin,", typ: PacketConnect, nsp: "/admin", id: -1},
		{in: `0/admin,{"token":"123"}`, typ: PacketConnect, nsp: "/admin", id: -1, data: `{"token":"123"}`},
		{in: "1", typ: PacketDisconnect, nsp: "/", id: -1},
		{in: "1/admin,", typ: PacketDisconnect, nsp: "/admin", id: -1},
		{in: `2["foo"]`, typ: PacketEvent, nsp: "/", id: -1, data: `["foo"]`},
		{in: `2/admin,["bar"]`, typ: PacketEvent, nsp: "/admin", id: -1, data: `["bar"]`},
		{in: `212["foo"]`, typ: PacketEvent, nsp: "/", id: 12, data: `["foo"]`},
		{in: `3/admin,13["bar"]`, typ: PacketAck, nsp: "/admin", id: 13, data: `["bar"]`},
		{in: `51-["baz",{"_placeholder":true,"num":0}]`, typ: PacketBinaryEvent, nsp: "/", id: -1, data: `["baz",{"_placeholder":true,"num":0}]`, attachments: 1},
		{in: `52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, typ: PacketBinaryEvent, nsp: "/admin", id: -1, data: `["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, attachments: 2},
		{in: `61-15["bar",{"_placeholder":true,"num":0}]`, typ: PacketBinaryAck, nsp: "/", id: 15, data: `["bar",{"_placeholder":true,"num":0}]`, attachments: 1},
		{in: "", wantErr: true},
		{in: "7", wantErr: true},
		{in: "2", wantErr: true},                // EVENT without payload
		{in: `2{"a":1}`, wantErr: true},         // EVENT payload not an array
		{in: `2["a"`, wantErr: true},            // not JSON
		{in: `0"x"`, wantErr: true},             // CONNECT payload not an object
		{in: `1["x"]`, wantErr: true},           // DISCONNECT with payload
		{in: `3["x"]`, wantErr: true},           // ACK without id
		{in: `4{"message":"x"}`, wantErr: true}, // CONNECT_ERROR from a client
		{in: `5["x"]`, wantErr: true},           // no attachment count
		{in: `5999-["x"]`, wantErr: true},       // too many attachments
		{in: `511-["x"]`, wantErr: true},        // more than socket.io-parser's maxAttachments (10)
		{in: `299999999999["x"]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := decodePacket([]byte(tt.in), DefaultMaxAttachments)
			if tt.wantErr {
				if !errors.Is(err, ErrBadPacket) {
					t.Fatalf("err = %v, want ErrBadPacket", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.typ != tt.typ || p.nsp != tt.nsp || p.id != tt.id || string(p.data) != tt.data || p.attachments != tt.attachments {
				t.Errorf("got %+v", p)
			}
		})
	}
}

func TestEventArgs(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		n       int
		wantErr bool
	}{
		{`2["foo",1,{"a":2}]`, "foo", 2, false},
		{`2["foo"]`, "foo", 0, false},
		{`2[]`, "", 0, true},
		{`2[1]`, "", 0, true},
		{`2["disconnect"]`, "", 0, true}, // reserved
		{`2["connect",1]`, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := decodePacket([]byte(tt.in), DefaultMaxAttachments)
			if err != nil {
				t.Fatal(err)
			}
			name, args, err := p.eventArgs()
			if tt.wantErr {
				if !errors.Is(err, ErrBadPacket) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || name != tt.name || args.Len() != tt.n {
				t.Errorf("got %q %d %v", name, args.Len(), err)
			}
		})
	}
}

func TestEncodePacket(t *testing.T) {
	enc := func(typ PacketType, nsp string, id int64, args ...any) []engineio.Message {
		if typ != PacketAck {
			t.Fatalf("enc is for ACK packets")
		}
		msgs, err := encodeEvent(nsp, id, "", args)
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	event := func(nsp string, id int64, name string, args ...any) []engineio.Message {
		msgs, err := encodeEvent(nsp, id, name, args)
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	type file struct {
		Name string    `json:"name"`
		Data []byte    `json:"data"`
		At   time.Time `json:"at"`
	}
	at := time.Date(2017, 12, 19, 15, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		msgs []engineio.Message
		want []string
	}{
		{"event", event("/", -1, "foo"), []string{`2["foo"]`}},
		{"event in namespace", event("/admin", -1, "bar"), []string{`2/admin,["bar"]`}},
		{"event with ack id", event("/", 12, "foo"), []string{`212["foo"]`}},
		{"ack", enc(PacketAck, "/admin", 13, "bar"), []string{`3/admin,13["bar"]`}},
		{"empty ack", enc(PacketAck, "/", 3), []string{`33[]`}},
		{"binary event", event("/", -1, "baz", []byte{1, 2, 3, 4}), []string{`51-["baz",{"_placeholder":true,"num":0}]`, "\x01\x02\x03\x04"}},
		{"two attachments", event("/admin", -1, "baz", []byte{1, 2}, map[string]any{"x": []any{[]byte{3, 4}}}),
			[]string{`52-/admin,["baz",{"_placeholder":true,"num":0},{"x":[{"_placeholder":true,"num":1}]}]`, "\x01\x02", "\x03\x04"}},
		{"binary ack", enc(PacketAck, "/", 15, "bar", []byte{1}), []string{`61-15["bar",{"_placeholder":true,"num":0}]`, "\x01"}},
		{"values", event("/", -1, "v", nil, true, 1.5, 7, "é", struct {
			A int `json:"a"`
		}{3}), []string{`2["v",null,true,1.5,7,"é",{"a":3}]`}},
		{"struct with binary and time", event("/", -1, "file", file{"a", []byte{7}, at}),
			[]string{`51-["file",{"name":"a","data":{"_placeholder":true,"num":0},"at":"2017-12-19T14:00:00.000Z"}]`, "\x07"}},
		{"JSON.stringify strings", event("/", -1, "s", "<a&b>"), []string{`2["s","<a&b>"]`}},
		{"connect", encodePacket(PacketConnect, "/admin", -1, []byte(`{"sid":"x"}`), nil), []string{`0/admin,{"sid":"x"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.msgs) != len(tt.want) {
				t.Fatalf("%d messages, want %d", len(tt.msgs), len(tt.want))
			}
			for i, m := range tt.msgs {
				if string(m.Data) != tt.want[i] || m.Binary != (i > 0) {
					t.Errorf("message %d = %q (binary %v), want %q", i, m.Data, m.Binary, tt.want[i])
				}
			}
		})
	}
}

func TestEncodeEventErrors(t *testing.T) {
	many := make([]any, siopacket.MaxClientAttachments+1)
	for i := range many {
		many[i] = []byte{byte(i)}
	}
	tests := []struct {
		name  string
		event string
		args  []any
		want  error
	}{
		{"reserved", "disconnect", nil, ErrReservedEvent},
		{"empty", "", []any{1}, nil}, // "" is an ACK
		{"unsupported", "e", []any{make(chan int)}, ErrUnsupportedValue},
		{"NaN", "e", []any{math.NaN()}, ErrUnsupportedValue},
		{"too many attachments", "e", many, ErrTooManyAttachments},
		{"attachments at the limit", "e", many[:siopacket.MaxClientAttachments], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := encodeEvent("/", -1, tt.event, tt.args)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// Emitted binary is copied: the caller may reuse its buffer once Emit returns.
func TestEncodeEventCopiesAttachments(t *testing.T) {
	b := []byte{1, 2}
	msgs, err := encodeEvent("/", -1, "e", []any{b})
	if err != nil {
		t.Fatal(err)
	}
	b[0] = 9
	if len(msgs) != 2 || !bytes.Equal(msgs[1].Data, []byte{1, 2}) {
		t.Fatalf("attachment = %v", msgs)
	}
}

func TestArgsDecodeBinary(t *testing.T) {
	p, err := decodePacket([]byte(`52-["e",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1},"n":1}]`), DefaultMaxAttachments)
	if err != nil {
		t.Fatal(err)
	}
	p.bufs = [][]byte{{1, 2}, {3}}
	_, args, err := p.eventArgs()
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	var s struct {
		B []byte `json:"b"`
		N int    `json:"n"`
	}
	if err := args.DecodeAll(&b, &s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, []byte{1, 2}) || !bytes.Equal(s.B, []byte{3}) || s.N != 1 {
		t.Errorf("got %v %+v", b, s)
	}
	var v any
	if err := args.Decode(1, &v); err != nil || !bytes.Equal(v.(map[string]any)["b"].([]byte), []byte{3}) {
		t.Errorf("any: %v %v", v, err)
	}
	if err := args.Decode(2, &v); !errors.Is(err, ErrNoArg) {
		t.Errorf("past the end: %v", err)
	}
	p.bufs = p.bufs[:1] // a placeholder pointing past the attachments
	_, args, _ = p.eventArgs()
	if err := args.Decode(1, &v); !errors.Is(err, ErrBadPacket) {
		t.Errorf("bad placeholder: %v", err)
	}
}

func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{"0", "0/admin,", `0/admin,{"token":"123"}`, "1", `2["foo"]`, `212["foo"]`,
		`3/admin,13["bar"]`, `51-["baz",{"_placeholder":true,"num":0}]`, `61-15["bar",{"_placeholder":true,"num":0}]`,
		`2["a",{"_placeholder":true,"num":9}]`, "5", "2/", `2/a,["x"`, `510-["x"]`, `511-["x"]`, `6100-1["x"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePacket(b, DefaultMaxAttachments)
		if err != nil {
			if !errors.Is(err, ErrBadPacket) {
				t.Fatalf("error %v does not wrap ErrBadPacket", err)
			}
			return
		}
		if p.attachments > DefaultMaxAttachments {
			t.Fatalf("%d attachments accepted, the limit is %d", p.attachments, DefaultMaxAttachments)
		}
		for range p.attachments {
			p.bufs = append(p.bufs, []byte{1})
		}
		var args Args
		switch p.typ {
		case PacketEvent, PacketBinaryEvent:
			_, args, err = p.eventArgs()
		case PacketAck, PacketBinaryAck:
			args, err = p.ackArgs()
		}
		if err != nil {
			return
		}
		_, _ = args.Values() // must not panic
	})
}
