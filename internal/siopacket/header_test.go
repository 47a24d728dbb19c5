package siopacket

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in   string
		want Header
		data string
		err  bool
	}{
		{in: "0", want: Header{Type: Connect, Nsp: "/", ID: -1}},
		{in: `0/admin,{"token":"x"}`, want: Header{Type: Connect, Nsp: "/admin", ID: -1}, data: `{"token":"x"}`},
		{in: `2["e",1]`, want: Header{Type: Event, Nsp: "/", ID: -1}, data: `["e",1]`},
		{in: `2/chat,12["e"]`, want: Header{Type: Event, Nsp: "/chat", ID: 12}, data: `["e"]`},
		{in: `312[]`, want: Header{Type: Ack, Nsp: "/", ID: 12}, data: `[]`},
		{in: `51-["e",{"_placeholder":true,"num":0}]`, want: Header{Type: BinaryEvent, Attachments: 1, Nsp: "/", ID: -1}, data: `["e",{"_placeholder":true,"num":0}]`},
		{in: `62-/x,7[]`, want: Header{Type: BinaryAck, Attachments: 2, Nsp: "/x", ID: 7}, data: `[]`},
		{in: "1/admin", want: Header{Type: Disconnect, Nsp: "/admin", ID: -1}},
		{in: "", err: true},
		{in: "7", err: true},
		{in: "5[]", err: true},      // no attachment count
		{in: `50-["e"]`, err: true}, // no attachment: socket.io-parser's "Illegal attachments"
		{in: `600-1[]`, err: true},
		{in: "511-[]", err: true},        // more than the limit (10)
		{in: "512345-[]", err: true},     // too many digits
		{in: "24294967295[]", err: true}, // an ack id beyond MaxAckID
	}
	for _, tt := range tests {
		h, data, err := ParseHeader([]byte(tt.in), MaxClientAttachments)
		if tt.err {
			if !errors.Is(err, ErrBadHeader) {
				t.Errorf("%q: err = %v, want ErrBadHeader", tt.in, err)
			}
			continue
		}
		if err != nil || h != tt.want || string(data) != tt.data {
			t.Errorf("%q: got %+v %q %v, want %+v %q", tt.in, h, data, err, tt.want, tt.data)
		}
	}
}

// FuzzParseHeader checks that any header ParseHeader accepts is written back
// by AppendHeader to text that parses to the same header.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"0", `2/chat,12["e"]`, `51-["e",{}]`, `62-/x,7[]`, "4294967294", "5-1", "/,", `50-["e"]`, "60-1[]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		h, data, err := ParseHeader(text, 1000)
		if err != nil {
			if !errors.Is(err, ErrBadHeader) {
				t.Fatalf("error does not wrap ErrBadHeader: %v", err)
			}
			return
		}
		if data != nil && !bytes.HasSuffix(text, data) {
			t.Fatalf("payload %q is not the end of %q", data, text)
		}
		if h.Nsp != "/" && bytes.ContainsRune([]byte(h.Nsp), ',') {
			t.Fatalf("namespace %q holds the separator", h.Nsp)
		}
		typ := h.Type
		if (typ == BinaryEvent || typ == BinaryAck) && h.Attachments == 0 {
			t.Fatalf("%q: a binary packet without attachments accepted", text)
		}
		out := AppendHeader(nil, typ, h.Nsp, h.ID, h.Attachments)
		if len(data) > 0 && (data[0] >= '0' && data[0] <= '9') {
			return // a payload starting with a digit would run into the id
		}
		if len(data) > 0 && data[0] == '/' && h.Nsp == "/" && h.ID < 0 {
			return // "61-/,/0": AppendHeader leaves the main namespace out, so a payload starting with '/' (no JSON does) would read as one
		}
		h2, _, err := ParseHeader(append(out, data...), 1000)
		if err != nil || h2 != h {
			t.Fatalf("%q → %q → %+v %v, want %+v", text, out, h2, err, h)
		}
	})
}
