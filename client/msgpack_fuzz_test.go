package client

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzMsgpackPacket: the client's decoder of the msgpack parser never panics, refuses with ErrBadPacket, gives
// JSON data whose placeholders name its attachments, and what it accepts encodes again into a packet it accepts.
func FuzzMsgpackPacket(f *testing.F) {
	for _, p := range []struct {
		typ  int
		nsp  string
		id   int64
		data string
		atts [][]byte
	}{
		{pEvent, "/", -1, `["e",1,{"_placeholder":true,"num":0}]`, [][]byte{{1}}},
		{pAck, "/admin", 4, `[{"a":[true,null]}]`, nil},
		{pConnect, "/", -1, `{"sid":"x","pid":"y"}`, nil},
		{pConnectError, "/p", -1, `{"message":"no","data":{"code":42}}`, nil},
		{pDisconnect, "/", -1, ``, nil},
	} {
		pkts, err := msgpackPacket(p.typ, p.nsp, p.id, []byte(p.data), p.atts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pkts[0].data)
	}
	f.Add([]byte("\x83\xa4type\x04\xa4data\xa2no\xa3nsp\xa1/"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, bufs, err := decodeMsgpackPacket(b)
		if err != nil {
			if !errors.Is(err, ErrBadPacket) {
				t.Fatalf("%v does not wrap ErrBadPacket", err)
			}
			return
		}
		if p.data != nil && !json.Valid(p.data) {
			t.Fatalf("data %q is not JSON", p.data)
		}
		pkts, err := msgpackPacket(p.typ, p.nsp, p.id, p.data, bufs)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", p, err)
		}
		q, qbufs, err := decodeMsgpackPacket(pkts[0].data)
		if err != nil || q.typ != p.typ || q.id != p.id || len(qbufs) != len(bufs) || (q.nsp != p.nsp && utf8.ValidString(p.nsp)) {
			t.Fatalf("round trip: %+v %v; was %+v", q, err, p)
		}
	})
}
