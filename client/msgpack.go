package client

import (
	"encoding/json"
	"fmt"

	"github.com/sioredis/sioredis/internal/msgpackpacket"
	"github.com/sioredis/sioredis/jsvalue"
)

// Parser is the packet format of a Manager's connection: socket.io-client's parser option. The server must use
// the same one.
type Parser uint8

const (
	// ParserJSON is socket.io-parser's format (the default): JSON text, binary as attachments.
	ParserJSON Parser = iota
	// ParserMsgpack is socket.io-msgpack-parser 3's: one msgpack map {type, data, nsp, id} per packet, binary
	// inside (the server's socketio/msgpackparser).
	ParserMsgpack
)

// msgpackPacket writes a packet (its JSON data with placeholders, and the attachments they name) as one message
// of the msgpack parser, with socket.io-client's key order: type, data, id, nsp (an ACK: type, id, data, nsp).
func msgpackPacket(typ int, nsp string, id int64, data []byte, atts [][]byte) ([]eioPacket, error) {
	o := jsvalue.Object{{Key: "type", Value: typ}}
	var payload any
	if len(data) > 0 {
		v, err := jsvalue.DecodeJSONOrdered(data)
		if err != nil {
			return nil, err
		}
		payload = withBinary(v, atts, 0)
	}
	idm := jsvalue.Member{Key: "id", Value: id}
	switch {
	case typ == pAck:
		o = append(o, idm, jsvalue.Member{Key: "data", Value: payload})
	case payload != nil:
		o = append(o, jsvalue.Member{Key: "data", Value: payload})
		if id >= 0 {
			o = append(o, idm)
		}
	case id >= 0:
		o = append(o, idm) // kept as given, without data (FuzzMsgpackPacket: a decoded packet re-encodes to itself)
	}
	o = append(o, jsvalue.Member{Key: "nsp", Value: nsp})
	b, err := jsvalue.AppendMsgpack(nil, o)
	if err != nil {
		return nil, err
	}
	return []eioPacket{{typ: '4', data: b, binary: true}}, nil
}

// withBinary replaces, in place, the placeholders of v by the attachments they name.
func withBinary(v any, atts [][]byte, depth int) any {
	if depth > maxDepth*10 {
		return v
	}
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			x[i] = withBinary(e, atts, depth+1)
		}
	case jsvalue.Object:
		if len(x) == 2 && x[0].Key == "_placeholder" && x[0].Value == true && x[1].Key == "num" {
			i := int64(-1)
			switch n := x[1].Value.(type) {
			case json.Number:
				if v, err := n.Int64(); err == nil {
					i = v
				}
			case int64:
				i = n
			case float64:
				if n == float64(int64(n)) {
					i = int64(n)
				}
			}
			if i >= 0 && i < int64(len(atts)) {
				return atts[i]
			}
		}
		for i := range x {
			x[i].Value = withBinary(x[i].Value, atts, depth+1)
		}
	}
	return v
}

// decodeMsgpackPacket decodes one message of the msgpack parser into the packet and attachments the JSON
// parser would have given.
func decodeMsgpackPacket(b []byte) (packet, [][]byte, error) {
	p := packet{id: -1}
	d, err := msgpackpacket.Decode(b)
	if err != nil {
		return p, nil, fmt.Errorf("%w: %w", ErrBadPacket, err)
	}
	p.typ, p.nsp = d.Type, d.Nsp
	if d.HasID {
		if d.ID < 0 {
			return p, nil, fmt.Errorf("%w: negative ack id", ErrBadPacket)
		}
		p.id = d.ID
	}
	if (p.typ == pAck) && p.id < 0 {
		return p, nil, fmt.Errorf("%w: bad ack", ErrBadPacket)
	}
	switch {
	case d.Payload == nil:
		return p, nil, nil
	case d.IsString(): // a CONNECT_ERROR's message alone
		data, err := jsvalue.AppendJSON(nil, jsvalue.Object{{Key: "message", Value: d.String()}})
		if err != nil {
			return p, nil, fmt.Errorf("%w: %w", ErrBadPacket, err)
		}
		p.data = data
		return p, nil, nil
	}
	data, bufs, err := d.JSON(false)
	if err != nil {
		return p, nil, fmt.Errorf("%w: %w", ErrBadPacket, err)
	}
	p.data = data
	return p, bufs, nil
}
