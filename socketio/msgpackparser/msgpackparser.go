// Package msgpackparser is the packet format of socket.io-msgpack-parser 3 for the Go server: Node's
// `parser: require("socket.io-msgpack-parser")`, given to socketio.Config.Parser. Each Socket.IO packet is one
// binary Engine.IO message holding a msgpack map {type, data, nsp, id} as notepack.io 2 (the parser's codec)
// writes and reads it; binary values are msgpack bin inside the packet, never attachments.
//
// Received packets are checked as the Node parser checks them (an integer type from 0 to 4, a string
// namespace, a payload of the type's shape, an integer id) and then as the Go server checks the default
// parser's (an EVENT names a valid event, an ACK has an id from 0 to 2^32-2, a client sends no CONNECT_ERROR);
// a text message means the client speaks the default parser. Each of these closes the connection with a parse
// error, as the Node server closes it. A packet is bounded by the Engine.IO message size
// (engineio.Config.MaxHTTPBufferSize, 1 MB by default, as in Node) and decoded without allocating more than a
// small multiple of it (protocol.DecodeNotepack2); nesting is bounded to 1000 levels.
//
// The arguments of a received event reach handlers as socketio.Args, whose JSON is what JSON.stringify writes of
// the values Node would see: binary as []byte, a Date as its ISO string, undefined as null in arrays and absent
// in objects, NaN and infinities as null, another extension (type T, data D) as the array [T, D]. Object keys keep
// their order. A received map that is itself {"_placeholder": true, "num": N} reads as binary N when the packet
// carries binary (Args' placeholder form); the default parser has the same ambiguity.
package msgpackparser

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/socketio"
)

// Parser is socket.io-msgpack-parser's format, a socketio.Parser. It is a value without state, safe for
// concurrent use.
type Parser struct{}

var _ socketio.Parser = Parser{}

// maxAckID is the largest acknowledgement id accepted, the default parser's bound.
const maxAckID = math.MaxInt32 * 2

// Encode returns the one binary message of p. The keys are in the order the Node server writes them: type,
// data, [id,] nsp for an EVENT, id, type, data, nsp for an ACK.
func (Parser) Encode(p socketio.Packet) ([]engineio.Message, error) {
	var o protocol.Object
	typ := protocol.Member{Key: "type", Value: int(p.Type)}
	nsp := protocol.Member{Key: "nsp", Value: p.Nsp}
	switch p.Type {
	case socketio.PacketEvent:
		if err := protocol.ValidateEvent(p.Event); err != nil {
			return nil, err
		}
		data := make([]any, 0, 1+len(p.Args))
		data = append(append(data, p.Event), p.Args...)
		o = protocol.Object{typ, {Key: "data", Value: data}}
		if p.ID >= 0 {
			o = append(o, protocol.Member{Key: "id", Value: p.ID})
		}
		o = append(o, nsp)
	case socketio.PacketAck:
		data := p.Args
		if data == nil {
			data = []any{}
		}
		o = protocol.Object{{Key: "id", Value: p.ID}, typ, {Key: "data", Value: data}, nsp}
	case socketio.PacketConnect, socketio.PacketConnectError:
		o = protocol.Object{typ}
		if p.Data != nil {
			o = append(o, protocol.Member{Key: "data", Value: p.Data})
		}
		o = append(o, nsp)
	default:
		o = protocol.Object{typ, nsp}
	}
	b, err := protocol.AppendMsgpack(nil, o)
	if err != nil {
		return nil, err
	}
	return []engineio.Message{{Data: b, Binary: true}}, nil
}

// NewDecoder returns a decoder; the attachment limits of cfg do not apply (there are no attachments).
func (Parser) NewDecoder(socketio.DecoderConfig) socketio.Decoder { return decoder{} }

type decoder struct{}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: msgpack parser: "+format, append([]any{socketio.ErrBadPacket}, args...)...)
}

// Decode decodes one packet: every message is a whole packet.
func (decoder) Decode(msg engineio.Message) (socketio.ReceivedPacket, bool, error) {
	p, err := Decode(msg)
	return p, err == nil, err
}

// Decode decodes one Engine.IO message as a packet of the msgpack parser. Errors wrap socketio.ErrBadPacket.
func Decode(msg engineio.Message) (socketio.ReceivedPacket, error) {
	var p socketio.ReceivedPacket
	if !msg.Binary {
		return p, bad("text message: the client does not use the msgpack parser")
	}
	v, err := protocol.DecodeNotepack2(msg.Data)
	if err != nil {
		return p, bad("%w", err)
	}
	obj, _ := v.(protocol.Object)
	var typ, nsp, data, id any
	var hasData bool
	for _, m := range obj {
		switch m.Key {
		case "type":
			typ = m.Value
		case "nsp":
			nsp = m.Value
		case "data":
			data, hasData = m.Value, true
		case "id":
			id = m.Value
		}
	}
	t, ok := integer(typ)
	if !ok || t < int64(socketio.PacketConnect) || t > int64(socketio.PacketConnectError) {
		return p, bad("invalid packet type")
	}
	p.Type = socketio.PacketType(t)
	if p.Nsp, ok = nsp.(string); !ok {
		return p, bad("invalid namespace")
	}
	if _, undef := data.(protocol.Undefined); undef {
		hasData = false
	}
	p.ID = socketio.NoAckID
	if _, undef := id.(protocol.Undefined); id != nil && !undef {
		n, ok := integer(id)
		if !ok {
			return p, bad("invalid packet id")
		}
		if n < 0 || n > maxAckID {
			return p, bad("packet id %d out of range", n)
		}
		p.ID = n
	} else if id == nil && hasKey(obj, "id") {
		return p, bad("invalid packet id") // null is no integer
	}
	arr, isArray := data.([]any)
	switch p.Type {
	case socketio.PacketConnect:
		if !hasData {
			return p, nil
		}
		auth, ok := data.(protocol.Object)
		if !ok {
			return p, bad("invalid payload: CONNECT data must be an object")
		}
		raws, bufs, err := toJSON([]any{auth})
		if err != nil {
			return p, err
		}
		if len(bufs) > 0 {
			return p, bad("binary in the CONNECT payload is not supported")
		}
		p.Auth = raws[0]
	case socketio.PacketDisconnect:
		if hasData {
			return p, bad("invalid payload: DISCONNECT has no data")
		}
	case socketio.PacketConnectError:
		return p, bad("CONNECT_ERROR is sent by servers only")
	case socketio.PacketEvent:
		if !isArray || len(arr) == 0 {
			return p, bad("invalid payload: EVENT data must be a non-empty array")
		}
		name, ok := arr[0].(string)
		if !ok {
			return p, bad("event name must be a string")
		}
		if err := protocol.ValidateEvent(name); err != nil {
			return p, fmt.Errorf("%w: %w", socketio.ErrBadPacket, err)
		}
		raws, bufs, err := toJSON(arr[1:])
		if err != nil {
			return p, err
		}
		p.Event, p.Args = name, socketio.NewArgs(raws, bufs)
	case socketio.PacketAck:
		if !isArray {
			return p, bad("invalid payload: ACK data must be an array")
		}
		if p.ID < 0 {
			return p, bad("ACK without an id")
		}
		raws, bufs, err := toJSON(arr)
		if err != nil {
			return p, err
		}
		p.Args = socketio.NewArgs(raws, bufs)
	}
	return p, nil
}

func hasKey(o protocol.Object, k string) bool {
	for _, m := range o {
		if m.Key == k {
			return true
		}
	}
	return false
}

// integer returns v as an integer when it is one: JavaScript's Number.isInteger.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) && x >= -(1<<63) && x < 1<<63 {
			return int64(x), true
		}
	case uint64:
		return math.MaxInt64, true // an integer, too large for any field
	}
	return 0, false
}

// toJSON returns the JSON of each value, binary as placeholders numbering bufs.
func toJSON(vals []any) ([]json.RawMessage, [][]byte, error) {
	for i, v := range vals {
		vals[i] = plain(v)
	}
	buf, bufs, err := protocol.AppendAckData(nil, vals, nil)
	if err != nil {
		return nil, nil, bad("%w", err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(buf, &raws); err != nil {
		return nil, nil, bad("%w", err)
	}
	return raws, bufs, nil
}

// plain replaces, in place, what JSON cannot hold by what JSON.stringify writes of the value notepack 2 decodes.
func plain(v any) any {
	switch x := v.(type) {
	case protocol.Undefined:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case protocol.Ext:
		return []any{int64(x.Type), x.Data}
	case time.Time:
		return x
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
	case protocol.Object:
		out := x[:0]
		for _, m := range x {
			if _, undef := m.Value.(protocol.Undefined); undef {
				continue // JSON.stringify leaves undefined properties out
			}
			m.Value = plain(m.Value)
			out = append(out, m)
		}
		return out
	}
	return v
}
