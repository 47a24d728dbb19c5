package engineio

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/sioredis/sioredis/internal/wsproto"
)

// PacketType is the type of an Engine.IO packet, the digit that starts its encoding.
type PacketType byte

// The Engine.IO v4 packet types.
const (
	PacketOpen    PacketType = 0
	PacketClose   PacketType = 1
	PacketPing    PacketType = 2
	PacketPong    PacketType = 3
	PacketMessage PacketType = 4
	PacketUpgrade PacketType = 5
	PacketNoop    PacketType = 6
)

// String returns the protocol name of t ("open", "message", ...).
func (t PacketType) String() string {
	switch t {
	case PacketOpen:
		return "open"
	case PacketClose:
		return "close"
	case PacketPing:
		return "ping"
	case PacketPong:
		return "pong"
	case PacketMessage:
		return "message"
	case PacketUpgrade:
		return "upgrade"
	case PacketNoop:
		return "noop"
	}
	return fmt.Sprintf("PacketType(%d)", byte(t))
}

// recordSeparator separates the packets of an HTTP long-polling payload.
const recordSeparator = 0x1e

// Packet is one Engine.IO packet. Binary is only meaningful for message packets: their data is then sent as a
// binary WebSocket frame, or base64-encoded with a "b" prefix in a long-polling payload.
type Packet struct {
	Type   PacketType
	Data   []byte
	Binary bool
}

// ParsePacket decodes one packet as carried by a WebSocket frame: a text frame holds the type digit and the data,
// a binary frame holds the data of a binary message packet. The returned packet's Data aliases frame.
func ParsePacket(frame []byte, binary bool) (Packet, error) {
	if binary {
		return Packet{Type: PacketMessage, Data: frame, Binary: true}, nil
	}
	if len(frame) == 0 {
		return Packet{}, fmt.Errorf("%w: empty packet", ErrBadPacket)
	}
	t := frame[0] - '0'
	if frame[0] < '0' || t > byte(PacketNoop) {
		return Packet{}, fmt.Errorf("%w: unknown packet type %q", ErrBadPacket, frame[0])
	}
	return Packet{Type: PacketType(t), Data: frame[1:]}, nil
}

// DecodePayload decodes the body of a long-polling request: packets separated by the record separator 0x1e, each
// a type digit and its data, or "b" and the base64 of a binary message. Text packets alias body.
func DecodePayload(body []byte) ([]Packet, error) {
	var packets []Packet
	if err := eachPacket(body, func(p Packet) { packets = append(packets, p) }); err != nil {
		return nil, err
	}
	return packets, nil
}

// eachPacket calls fn with each packet of a long-polling payload, in order, decoding one at a time, and stops at
// the first that does not decode, whose error it returns. It keeps nothing per packet: what it costs beyond the
// body is the data of binary packets, however many separators the body holds. Text packets alias body.
func eachPacket(body []byte, fn func(Packet)) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: empty payload", ErrBadPacket)
	}
	for {
		part, rest, more := bytes.Cut(body, []byte{recordSeparator})
		p, err := parsePayloadPart(part)
		if err != nil {
			return err
		}
		fn(p)
		if !more {
			return nil
		}
		body = rest
	}
}

// parsePayloadPart decodes one packet of a long-polling payload.
func parsePayloadPart(part []byte) (Packet, error) {
	if len(part) > 0 && part[0] == 'b' {
		data := make([]byte, base64.StdEncoding.DecodedLen(len(part)-1))
		m, err := base64.StdEncoding.Decode(data, part[1:])
		if err != nil {
			return Packet{}, fmt.Errorf("%w: bad base64 in binary packet: %v", ErrBadPacket, err)
		}
		return Packet{Type: PacketMessage, Data: data[:m], Binary: true}, nil
	}
	return ParsePacket(part, false)
}

// AppendPacket appends the WebSocket text-frame encoding of a non-binary packet (type digit and data) to dst.
func AppendPacket(dst []byte, p Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// appendFrame appends the WebSocket frame carrying p: a binary frame holding the data of a binary message, or a
// text frame holding its AppendPacket encoding. With header only, the data itself is left out (the caller writes
// it from where it is).
func appendFrame(dst []byte, p Packet, headerOnly bool) []byte {
	if p.Binary {
		dst = wsproto.AppendHeader(dst, wsproto.OpBinary, len(p.Data))
	} else {
		dst = wsproto.AppendHeader(dst, wsproto.OpText, 1+len(p.Data))
		dst = append(dst, '0'+byte(p.Type))
	}
	if headerOnly {
		return dst
	}
	return append(dst, p.Data...)
}

// AppendPayload appends the long-polling encoding of packets to dst: each packet as by AppendPacket, binary
// message packets as "b" and base64, separated by 0x1e.
func AppendPayload(dst []byte, packets []Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		if p.Binary {
			dst = append(dst, 'b')
			dst = base64.StdEncoding.AppendEncode(dst, p.Data)
			continue
		}
		dst = AppendPacket(dst, p)
	}
	return dst
}
