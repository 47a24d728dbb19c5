package eiopacket

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []Packet
		wantErr bool
	}{
		{"one message", "4hello", []Packet{{Type: Message, Data: []byte("hello")}}, false},
		{"several", "4test1\x1e4test2\x1e2", []Packet{
			{Type: Message, Data: []byte("test1")},
			{Type: Message, Data: []byte("test2")},
			{Type: Ping, Data: []byte{}},
		}, false},
		{"text and binary", "4hello\x1ebAQIDBA==", []Packet{
			{Type: Message, Data: []byte("hello")},
			{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true},
		}, false},
		{"utf-8", "4€😀", []Packet{{Type: Message, Data: []byte("€😀")}}, false},
		{"empty binary", "b", []Packet{{Type: Message, Data: []byte{}, Binary: true}}, false},
		{"empty body", "", nil, true},
		{"bad type", "abc", nil, true},
		{"type 7", "7", nil, true},
		{"trailing separator", "4a\x1e", nil, true},
		{"bad base64", "b!!!", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePayload([]byte(tt.body))
			if tt.wantErr {
				if !errors.Is(err, ErrBadPacket) {
					t.Fatalf("err = %v, want ErrBadPacket", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d packets, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].Type != tt.want[i].Type || got[i].Binary != tt.want[i].Binary || !bytes.Equal(got[i].Data, tt.want[i].Data) {
					t.Errorf("packet %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestAppendPayload(t *testing.T) {
	tests := []struct {
		name    string
		packets []Packet
		want    string
	}{
		{"message", []Packet{{Type: Message, Data: []byte("hello")}}, "4hello"},
		{"ping and noop", []Packet{{Type: Ping}, {Type: Noop}}, "2\x1e6"},
		{"binary", []Packet{{Type: Message, Data: []byte("hello")}, {Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}}, "4hello\x1ebAQIDBA=="},
		{"close", []Packet{{Type: Close}}, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendPayload(nil, tt.packets)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1e4b", "4hello\x1ebAQIDBA==", "2", "6\x1e1", "b", "", "\x1e", "bAQ"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		packets, err := DecodePayload(body)
		if err != nil {
			if !errors.Is(err, ErrBadPacket) {
				t.Fatalf("error %v does not wrap ErrBadPacket", err)
			}
			return
		}
		// What decodes re-encodes to a payload that decodes to the same packets.
		again, err := DecodePayload(AppendPayload(nil, packets))
		if err != nil || len(again) != len(packets) {
			t.Fatalf("round trip: %v, %d vs %d packets", err, len(again), len(packets))
		}
		for i := range again {
			if again[i].Type != packets[i].Type || again[i].Binary != packets[i].Binary || !bytes.Equal(again[i].Data, packets[i].Data) {
				t.Fatalf("round trip packet %d: %+v vs %+v", i, again[i], packets[i])
			}
		}
	})
}

func FuzzParsePacket(f *testing.F) {
	f.Add([]byte("2probe"), false)
	f.Add([]byte("5"), false)
	f.Add([]byte{1, 2, 3}, true)
	f.Fuzz(func(t *testing.T, frame []byte, binary bool) {
		p, err := Parse(frame, binary)
		if err != nil {
			return
		}
		if !binary && !bytes.Equal(AppendPacket(nil, p), frame) {
			t.Fatalf("round trip of %q", frame)
		}
	})
}

// TestEachPacket: packets are handed over as decoded, up to the first bad one, whose error ends the payload.
func TestEachPacket(t *testing.T) {
	var got []string
	err := EachInPayload([]byte("4a\x1e2\x1e\x1e4b"), func(p Packet) { got = append(got, p.Type.String()+":"+string(p.Data)) })
	if !errors.Is(err, ErrBadPacket) {
		t.Errorf("err = %v, want ErrBadPacket", err)
	}
	if want := []string{"message:a", "ping:"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
