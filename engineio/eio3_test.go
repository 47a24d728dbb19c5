package engineio

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sioredis/sioredis/internal/eiopacket"
)

func TestAppendPayloadV3(t *testing.T) {
	tests := []struct {
		name    string
		packets []eiopacket.Packet
		want    string
	}{
		{"none", nil, "0:"},
		{"one message", []eiopacket.Packet{{Type: eiopacket.Message, Data: []byte("hello")}}, "6:4hello"},
		{"open", []eiopacket.Packet{{Type: eiopacket.Open, Data: []byte(`{"sid":"x"}`)}}, `12:0{"sid":"x"}`},
		// The length counts UTF-16 code units as JavaScript does: € is one, 😀 (outside the BMP) two.
		{"utf-16 length", []eiopacket.Packet{{Type: eiopacket.Message, Data: []byte("€😀")}}, "4:4€😀"},
		{"several", []eiopacket.Packet{{Type: eiopacket.Message, Data: []byte("a")}, {Type: eiopacket.Pong}, {Type: eiopacket.Noop}}, "2:4a1:31:6"},
		{"binary as base64", []eiopacket.Packet{{Type: eiopacket.Message, Data: []byte{1, 2, 3}, Binary: true}}, "6:b4AQID"},
		{"ten and more", []eiopacket.Packet{{Type: eiopacket.Message, Data: []byte("0123456789")}}, "11:40123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendPayloadV3([]byte("prefix"), tt.packets)); got != "prefix"+tt.want {
				t.Errorf("got %q, want %q", got, "prefix"+tt.want)
			}
		})
	}
}

func TestAppendBinaryPayloadV3(t *testing.T) {
	got := appendBinaryPayloadV3(nil, []eiopacket.Packet{
		{Type: eiopacket.Message, Data: []byte("hé")},
		{Type: eiopacket.Message, Data: []byte{1, 2, 3}, Binary: true},
		{Type: eiopacket.Message, Data: bytes.Repeat([]byte{7}, 11), Binary: true},
	})
	want := []byte{0, 4, 255, '4', 'h', 0xc3, 0xa9} // text: its UTF-8 bytes, counted in bytes
	want = append(want, 1, 4, 255, 4, 1, 2, 3)      // binary: the type byte, then the data
	want = append(want, 1, 1, 2, 255, 4)            // length 12: one byte per digit
	want = append(want, bytes.Repeat([]byte{7}, 11)...)
	if !bytes.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestDecodePayloadV3(t *testing.T) {
	msg := func(s string) eiopacket.Packet { return eiopacket.Packet{Type: eiopacket.Message, Data: []byte(s)} }
	bin := func(b ...byte) eiopacket.Packet {
		return eiopacket.Packet{Type: eiopacket.Message, Data: b, Binary: true}
	}
	tests := []struct {
		name    string
		body    string
		binary  bool
		want    []eiopacket.Packet
		wantErr bool
	}{
		{"one message", "6:4hello", false, []eiopacket.Packet{msg("hello")}, false},
		{"several", "2:4a1:21:4", false, []eiopacket.Packet{msg("a"), {Type: eiopacket.Ping, Data: []byte{}}, msg("")}, false},
		{"utf-16 length", "4:4€😀2:4é", false, []eiopacket.Packet{msg("€😀"), msg("é")}, false},
		{"base64", "6:b4AQID", false, []eiopacket.Packet{bin(1, 2, 3)}, false},
		{"empty packets skipped", "0:2:4a0:", false, []eiopacket.Packet{msg("a")}, false},
		{"xhr2", "\x00\x03\xff4hi\x01\x04\xff\x04\x01\x02\x03", true, []eiopacket.Packet{msg("hi"), bin(1, 2, 3)}, false},
		{"xhr2 two digits", "\x01\x01\x02\xff\x04" + "ABCDEFGHIJK", true, []eiopacket.Packet{bin([]byte("ABCDEFGHIJK")...)}, false},
		{"xhr2 text in base64", "\x00\x06\xffb4AQID", true, []eiopacket.Packet{bin(1, 2, 3)}, false},

		{"empty body", "", false, nil, true},
		{"no length", ":4a", false, nil, true},
		{"length not a number", "x:4a", false, nil, true},
		{"signed length", "+2:4a", false, nil, true},
		{"negative length", "-2:4a", false, nil, true},
		{"too long a length", "00000000000000002:4a", false, nil, true},
		{"packet shorter than its length", "5:4a", false, nil, true},
		{"length splits a surrogate pair", "2:4😀", false, nil, true},
		{"trailing garbage", "2:4ax", false, nil, true},
		{"bad type", "1:9", false, nil, true},
		{"bad base64", "4:b4!!", false, nil, true},
		{"base64 not a message", "6:b2AQID", false, nil, true},
		{"xhr2 bad kind", "\x02\x01\xff4", true, nil, true},
		{"xhr2 digit over 9", "\x00\x0a\xff4", true, nil, true},
		{"xhr2 no 255", "\x00\x01", true, nil, true},
		{"xhr2 no digits", "\x00\xff4", true, nil, true},
		{"xhr2 shorter than its length", "\x00\x05\xff4a", true, nil, true},
		{"xhr2 text not UTF-8", "\x00\x02\xff4\xff", true, nil, true},
		{"xhr2 binary ping", "\x01\x01\xff\x02", true, nil, true},
		{"xhr2 empty binary", "\x01\x00\xff", true, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []eiopacket.Packet
			err := eachPacketV3([]byte(tt.body), tt.binary, func(p eiopacket.Packet) { got = append(got, p) })
			if tt.wantErr {
				if !errors.Is(err, ErrBadPacket) {
					t.Fatalf("err = %v, want ErrBadPacket", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !samePackets(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParsePacketV3(t *testing.T) {
	tests := []struct {
		name    string
		frame   string
		binary  bool
		want    eiopacket.Packet
		wantErr bool
	}{
		{"text", "4hello", false, eiopacket.Packet{Type: eiopacket.Message, Data: []byte("hello")}, false},
		{"binary frame: type byte first", "\x04\x01\x02", true, eiopacket.Packet{Type: eiopacket.Message, Data: []byte{1, 2}, Binary: true}, false},
		{"base64 text frame", "b4AQI=", false, eiopacket.Packet{Type: eiopacket.Message, Data: []byte{1, 2}, Binary: true}, false},
		{"ping", "2", false, eiopacket.Packet{Type: eiopacket.Ping, Data: []byte{}}, false},
		{"empty binary frame", "", true, eiopacket.Packet{}, true},
		{"binary frame, type 7", "\x07", true, eiopacket.Packet{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePacketV3([]byte(tt.frame), tt.binary)
			if tt.wantErr {
				if !errors.Is(err, ErrBadPacket) {
					t.Fatalf("err = %v, want ErrBadPacket", err)
				}
				return
			}
			if err != nil || !samePackets([]eiopacket.Packet{got}, []eiopacket.Packet{tt.want}) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestAppendFrameV3(t *testing.T) {
	p := eiopacket.Packet{Type: eiopacket.Message, Data: []byte{1, 2}, Binary: true}
	if got, want := appendFrameV3(nil, p, false, false), []byte{0x82, 3, 4, 1, 2}; !bytes.Equal(got, want) {
		t.Errorf("binary frame %v, want %v", got, want)
	}
	if got, want := appendFrameV3(nil, p, false, true), []byte{0x82, 3, 4}; !bytes.Equal(got, want) {
		t.Errorf("binary frame header %v, want %v", got, want)
	}
	if got, want := appendFrameV3(nil, p, true, false), append([]byte{0x81, 6}, "b4AQI="...); !bytes.Equal(got, want) {
		t.Errorf("base64 frame %q, want %q", got, want)
	}
	text := eiopacket.Packet{Type: eiopacket.Message, Data: []byte("hi")}
	if got, want := appendFrameV3(nil, text, true, false), append([]byte{0x81, 3}, "4hi"...); !bytes.Equal(got, want) {
		t.Errorf("text frame %q, want %q", got, want)
	}
}

func samePackets(a, b []eiopacket.Packet) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Binary != b[i].Binary || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

// FuzzDecodePayloadV3 checks that the v3 payload decoder never panics, and that what it decodes encodes back to
// a payload (of either framing) that decodes to the same packets.
func FuzzDecodePayloadV3(f *testing.F) {
	for _, s := range []string{"6:4hello", "2:4a1:21:4", "4:4€😀", "6:b4AQID", "0:", "2:4😀", "12:0{\"sid\":\"x\"}"} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("\x00\x03\xff4hi\x01\x04\xff\x04\x01\x02\x03"), true)
	f.Add([]byte("\x01\x01\x02\xff\x04ABCDEFGHIJK"), true)
	f.Fuzz(func(t *testing.T, body []byte, binary bool) {
		var got []eiopacket.Packet
		if err := eachPacketV3(body, binary, func(p eiopacket.Packet) { got = append(got, p) }); err != nil {
			if !errors.Is(err, ErrBadPacket) {
				t.Fatalf("error %v does not wrap ErrBadPacket", err)
			}
			return
		}
		if len(got) > len(body) {
			t.Fatalf("%d packets from %d bytes", len(got), len(body))
		}
		for _, framing := range []bool{false, true} {
			var enc []byte
			if framing {
				enc = appendBinaryPayloadV3(nil, got)
			} else {
				enc = appendPayloadV3(nil, got)
			}
			if len(got) == 0 {
				continue
			}
			var again []eiopacket.Packet
			if err := eachPacketV3(enc, framing, func(p eiopacket.Packet) { again = append(again, p) }); err != nil {
				if framing && !binary {
					continue // text data that is not UTF-8 has no XHR2 text form
				}
				t.Fatalf("re-encoded %q (binary %v) does not decode: %v", enc, framing, err)
			}
			if !samePackets(again, got) {
				t.Fatalf("round trip (binary %v): %+v, then %+v", framing, got, again)
			}
		}
	})
}
