package client

import (
	"bytes"
	"testing"
)

func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{`0{"sid":"a"}`, `2["e",1]`, `2/admin,3["e",{"a":[1]}]`, `51-["e",{"_placeholder":true,"num":0}]`,
		`3/x,7[null]`, `4{"message":"no","data":{"c":1}}`, `1/admin,`, `61-/a,2[{"_placeholder":true,"num":0}]`, `5999-[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePacket(b)
		if err != nil {
			return
		}
		if p.attachments > maxAttachments || p.attachments < 0 {
			t.Fatalf("attachments %d", p.attachments)
		}
		if p.typ == pEvent || p.typ == pBinaryEvent || p.typ == pAck || p.typ == pBinaryAck {
			l, err := splitArgs(p.data, make([][]byte, p.attachments))
			if err != nil {
				t.Fatalf("array data does not split: %v", err)
			}
			a := Args{l: l}
			_, _ = a.Values()
			_, _ = a.ValuesOrdered()
		}
		// What decodes re-encodes to the same header and data.
		enc := encodePacket(p.typ, p.nsp, p.id, p.data, make([][]byte, p.attachments))
		q, err := decodePacket(enc[0].data)
		if err != nil || q.typ != p.typ || q.nsp != p.nsp || q.id != p.id || !bytes.Equal(q.data, p.data) || q.attachments != p.attachments {
			t.Fatalf("round trip of %q: %q → %+v, %v", b, enc[0].data, q, err)
		}
	})
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"0{}", "4hello\x1e4world", "bAQID\x1e2", "6", "40\x1e42[\"a\"]\x1ebAA=="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := decodePayload(b)
		if err != nil {
			return
		}
		again, err := decodePayload(appendPayload(nil, pkts))
		if err != nil || len(again) != len(pkts) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range pkts {
			if again[i].typ != pkts[i].typ || again[i].binary != pkts[i].binary || !bytes.Equal(again[i].data, pkts[i].data) {
				t.Fatalf("packet %d differs", i)
			}
		}
	})
}
