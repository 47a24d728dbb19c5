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
// small multiple of it (jsvalue.DecodeNotepack2); nesting is bounded to 1000 levels.
//
// The arguments of a received event reach handlers as socketio.Args, whose JSON is what JSON.stringify writes of
// the values Node would see: binary as []byte, a Date as its ISO string, undefined as null in arrays and absent
// in objects, NaN and infinities as null, another extension (type T, data D) as the array [T, D]. Object keys keep
// their order. A received map that is itself {"_placeholder": true, "num": N} reads as binary N when the packet
// carries binary (Args' placeholder form); the default parser has the same ambiguity.
package msgpackparser

import (
	"fmt"
	"math"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/msgpackpacket"
	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/jsvalue"
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
	var o jsvalue.Object
	typ := jsvalue.Member{Key: "type", Value: int(p.Type)}
	nsp := jsvalue.Member{Key: "nsp", Value: p.Nsp}
	switch p.Type {
	case socketio.PacketEvent:
		if err := siopacket.ValidateEvent(p.Event); err != nil {
			return nil, err
		}
		data := make([]any, 0, 1+len(p.Args))
		data = append(append(data, p.Event), p.Args...)
		o = jsvalue.Object{typ, {Key: "data", Value: data}}
		if p.ID >= 0 {
			o = append(o, jsvalue.Member{Key: "id", Value: p.ID})
		}
		o = append(o, nsp)
	case socketio.PacketAck:
		data := p.Args
		if data == nil {
			data = []any{}
		}
		o = jsvalue.Object{{Key: "id", Value: p.ID}, typ, {Key: "data", Value: data}, nsp}
	case socketio.PacketConnect, socketio.PacketConnectError:
		o = jsvalue.Object{typ}
		if p.Data != nil {
			o = append(o, jsvalue.Member{Key: "data", Value: p.Data})
		}
		o = append(o, nsp)
	default:
		o = jsvalue.Object{typ, nsp}
	}
	b, err := jsvalue.AppendMsgpack(nil, o)
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
	d, err := msgpackpacket.Decode(msg.Data)
	if err != nil {
		return p, fmt.Errorf("%w: %w", socketio.ErrBadPacket, err)
	}
	p.Type, p.Nsp, p.ID = socketio.PacketType(d.Type), d.Nsp, socketio.NoAckID
	if d.HasID {
		if d.ID < 0 || d.ID > maxAckID {
			return p, bad("packet id %d out of range", d.ID)
		}
		p.ID = d.ID
	}
	switch p.Type {
	case socketio.PacketConnect:
		auth, bufs, err := d.JSON(false)
		if err != nil {
			return p, fmt.Errorf("%w: %w", socketio.ErrBadPacket, err)
		}
		if len(bufs) > 0 {
			return p, bad("binary in the CONNECT payload is not supported")
		}
		p.Auth = auth
	case socketio.PacketConnectError:
		return p, bad("CONNECT_ERROR is sent by servers only")
	case socketio.PacketEvent:
		name, ok := d.First()
		if !ok {
			return p, bad("invalid payload: EVENT data must be a non-empty array whose first element is the event name")
		}
		if err := siopacket.ValidateEvent(name); err != nil {
			return p, fmt.Errorf("%w: %w", socketio.ErrBadPacket, err)
		}
		p.Event = name
		p.Args, err = args(d, true)
		if err != nil {
			return p, err
		}
	case socketio.PacketAck:
		if p.ID < 0 {
			return p, bad("ACK without an id")
		}
		p.Args, err = args(d, false)
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// args returns the elements of the packet's array payload (but the event name, with dropName) as Args, their
// JSON written in one pass from the msgpack (no Go value per element) and kept as it is.
func args(d msgpackpacket.Packet, dropName bool) (socketio.Args, error) {
	array, bufs, err := d.JSON(dropName)
	if err != nil {
		return socketio.Args{}, fmt.Errorf("%w: %w", socketio.ErrBadPacket, err)
	}
	return socketio.NewArgsJSON(array, bufs)
}
