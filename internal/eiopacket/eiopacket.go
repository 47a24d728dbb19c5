// Package eiopacket is the Engine.IO v4 packet format, in one place: a packet
// is a type digit and its data in a WebSocket text frame, its data alone in a
// binary frame (binary messages), and long-polling payloads join packets with
// the record separator 0x1e, binary ones as "b" and base64. The server
// (engineio) and the client share it.
package eiopacket

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// Type is the type of an Engine.IO packet, the digit that starts its encoding.
type Type byte

// The Engine.IO v4 packet types.
const (
	Open    Type = 0
	Close   Type = 1
	Ping    Type = 2
	Pong    Type = 3
	Message Type = 4
	Upgrade Type = 5
	Noop    Type = 6
)

// String returns the protocol name of t ("open", "message", ...).
func (t Type) String() string {
	switch t {
	case Open:
		return "open"
	case Close:
		return "close"
	case Ping:
		return "ping"
	case Pong:
		return "pong"
	case Message:
		return "message"
	case Upgrade:
		return "upgrade"
	case Noop:
		return "noop"
	}
	return fmt.Sprintf("Type(%d)", byte(t))
}

// recordSeparator separates the packets of an HTTP long-polling payload.
const recordSeparator = 0x1e

// ErrBadPacket is wrapped by the errors of the decoders.
var ErrBadPacket = errors.New("engineio: malformed packet")

// Packet is one Engine.IO packet. Binary is only meaningful for message packets: their data is then sent as a
// binary WebSocket frame, or base64-encoded with a "b" prefix in a long-polling payload.
type Packet struct {
	Type   Type
	Data   []byte
	Binary bool
}

// Parse decodes one packet as carried by a WebSocket frame: a text frame holds the type digit and the data,
// a binary frame holds the data of a binary message packet. The returned packet's Data aliases frame.
func Parse(frame []byte, binary bool) (Packet, error) {
	if binary {
		return Packet{Type: Message, Data: frame, Binary: true}, nil
	}
	if len(frame) == 0 {
		return Packet{}, fmt.Errorf("%w: empty packet", ErrBadPacket)
	}
	t := frame[0] - '0'
	if frame[0] < '0' || t > byte(Noop) {
		return Packet{}, fmt.Errorf("%w: unknown packet type %q", ErrBadPacket, frame[0])
	}
	return Packet{Type: Type(t), Data: frame[1:]}, nil
}

// DecodePayload decodes the body of a long-polling request: packets separated by the record separator 0x1e, each
// a type digit and its data, or "b" and the base64 of a binary message. Text packets alias body.
func DecodePayload(body []byte) ([]Packet, error) {
	var packets []Packet
	if err := EachInPayload(body, func(p Packet) { packets = append(packets, p) }); err != nil {
		return nil, err
	}
	return packets, nil
}

// EachInPayload calls fn with each packet of a long-polling payload, in order, decoding one at a time, and stops at
// the first that does not decode, whose error it returns. It keeps nothing per packet: what it costs beyond the
// body is the data of binary packets, however many separators the body holds. Text packets alias body.
func EachInPayload(body []byte, fn func(Packet)) error {
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
		return Packet{Type: Message, Data: data[:m], Binary: true}, nil
	}
	return Parse(part, false)
}

// AppendPacket appends the WebSocket text-frame encoding of a non-binary packet (type digit and data) to dst.
func AppendPacket(dst []byte, p Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
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
