package socketio

// The default parser: the packet text of socket.io-parser (its header is internal/siopacket's).

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/eventargs"
	"github.com/sioredis/sioredis/internal/siopacket"
)

// PacketType is the type of a Socket.IO packet.
type PacketType byte

// The Socket.IO v5 packet types (the numbering of package protocol, which
// the Redis adapters carry in their messages too).
const (
	PacketConnect      = PacketType(siopacket.Connect)
	PacketDisconnect   = PacketType(siopacket.Disconnect)
	PacketEvent        = PacketType(siopacket.Event)
	PacketAck          = PacketType(siopacket.Ack)
	PacketConnectError = PacketType(siopacket.ConnectError)
	PacketBinaryEvent  = PacketType(siopacket.BinaryEvent)
	PacketBinaryAck    = PacketType(siopacket.BinaryAck)
)

// Defaults of the limits on the binary attachments of incoming packets (Config.MaxAttachments,
// MaxAttachmentBytes and AttachmentTimeout).
const (
	// DefaultMaxAttachments is socket.io-parser's maxAttachments.
	DefaultMaxAttachments = 10
	// DefaultMaxAttachmentBytes is DefaultMaxAttachments attachments of Engine.IO's default largest message
	// (maxHttpBufferSize, 1 MB).
	DefaultMaxAttachmentBytes = DefaultMaxAttachments * 1_000_000
	// DefaultAttachmentTimeout bounds the wait for the rest of a packet's attachments.
	DefaultAttachmentTimeout = 30 * time.Second
)

// packet is a decoded incoming packet, or the parts of an outgoing one.
type packet struct {
	typ         PacketType
	nsp         string
	id          int64 // -1: none
	data        []byte
	attachments int
	bufs        [][]byte
}

// decodePacket decodes the header and payload of a packet (the text of an Engine.IO message). Binary packets
// then need their attachments, at most maxAttachments (a packet announcing more is refused, as
// socket.io-parser refuses it).
func decodePacket(b []byte, maxAttachments int) (packet, error) {
	h, data, err := siopacket.ParseHeader(b, maxAttachments)
	p := packet{typ: PacketType(h.Type), nsp: h.Nsp, id: h.ID, attachments: h.Attachments, data: data}
	if err != nil {
		return p, fmt.Errorf("%w: %w", ErrBadPacket, err)
	}
	if p.data != nil && !validJSON(p.data) {
		return p, fmt.Errorf("%w: payload is not JSON", ErrBadPacket)
	}
	if err := p.validate(); err != nil {
		return p, err
	}
	return p, nil
}

// validate checks the payload against the packet type, as the protocol requires of a receiver.
func (p *packet) validate() error {
	first := firstByte(p.data)
	switch p.typ {
	case PacketConnect:
		if p.data != nil && first != '{' {
			return fmt.Errorf("%w: CONNECT payload must be an object", ErrBadPacket)
		}
	case PacketDisconnect:
		if p.data != nil {
			return fmt.Errorf("%w: DISCONNECT has no payload", ErrBadPacket)
		}
	case PacketEvent, PacketBinaryEvent:
		if first != '[' {
			return fmt.Errorf("%w: EVENT payload must be an array", ErrBadPacket)
		}
	case PacketAck, PacketBinaryAck:
		if first != '[' || p.id < 0 {
			return fmt.Errorf("%w: ACK needs an id and an array payload", ErrBadPacket)
		}
	case PacketConnectError:
		return fmt.Errorf("%w: CONNECT_ERROR is sent by servers only", ErrBadPacket)
	}
	return nil
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// eventArgs splits an EVENT payload (valid JSON, as decodePacket checked) into its name and arguments.
func (p *packet) eventArgs() (string, Args, error) {
	l, err := eventargs.Split(p.data, 0, p.bufs)
	if err != nil || l.Len() == 0 {
		return "", Args{}, fmt.Errorf("%w: EVENT payload must be a non-empty array", ErrBadPacket)
	}
	name, err := eventName(l.Raw(0))
	if err != nil {
		return "", Args{}, fmt.Errorf("%w: event name must be a string", ErrBadPacket)
	}
	if err := siopacket.ValidateEvent(name); err != nil {
		return "", Args{}, fmt.Errorf("%w: %w", ErrBadPacket, err)
	}
	return name, Args{l: l.Drop(1)}, nil
}

// ackArgs returns the arguments of an ACK payload (valid JSON, as decodePacket checked).
func (p *packet) ackArgs() (Args, error) {
	l, err := eventargs.Split(p.data, 0, p.bufs)
	if err != nil {
		return Args{}, fmt.Errorf("%w: ACK payload must be an array", ErrBadPacket)
	}
	return Args{l: l}, nil
}

// encodePacket returns the Engine.IO messages of a packet whose JSON payload (possibly nil) is data and whose
// binary attachments are bufs: an EVENT or ACK with attachments becomes a BINARY_EVENT or BINARY_ACK.
func encodePacket(typ PacketType, nsp string, id int64, data []byte, bufs [][]byte) []engineio.Message {
	hdr := appendHeader(make([]byte, 0, 24+len(nsp)+len(data)), typ, nsp, id, len(bufs))
	return packetMessages(append(hdr, data...), bufs)
}

// appendHeader appends the header of a packet: type, attachment count, namespace, ack id.
func appendHeader(dst []byte, typ PacketType, nsp string, id int64, attachments int) []byte {
	return siopacket.AppendHeader(dst, int(typ), nsp, id, attachments)
}

func packetMessages(text []byte, bufs [][]byte) []engineio.Message {
	msgs := make([]engineio.Message, 1, 1+len(bufs))
	msgs[0] = engineio.Message{Data: text}
	for _, b := range bufs {
		msgs = append(msgs, engineio.Message{Data: b, Binary: true})
	}
	return msgs
}

// encodeEvent returns the messages of an EVENT packet ([event, ...args]; id >= 0 asks for an acknowledgement)
// or, when event is "", of the ACK packet id carrying args. The arguments follow the rule of package jsvalue;
// binary attachments are copied, so the caller may reuse them once the call returns. More than
// siopacket.MaxClientAttachments attachments, which socket.io-client would refuse, is ErrTooManyAttachments.
func encodeEvent(nsp string, id int64, event string, args []any) ([]engineio.Message, error) {
	typ := PacketEvent
	if event == "" {
		typ = PacketAck
	}
	// The header of the packet without attachments, then the payload; binary packets (rare) get their header
	// rewritten.
	buf := appendHeader(make([]byte, 0, 64+len(nsp)), typ, nsp, id, 0)
	start := len(buf)
	var bufs [][]byte
	var err error
	if typ == PacketEvent {
		buf, bufs, err = siopacket.AppendEventData(buf, event, args, nil)
	} else {
		buf, bufs, err = siopacket.AppendAckData(buf, args, nil)
	}
	if err != nil {
		return nil, err
	}
	if len(bufs) == 0 {
		return packetMessages(buf, nil), nil
	}
	if len(bufs) > siopacket.MaxClientAttachments {
		return nil, fmt.Errorf("%w: %d binary values, socket.io-client accepts at most %d per packet",
			ErrTooManyAttachments, len(bufs), siopacket.MaxClientAttachments)
	}
	hdr := appendHeader(make([]byte, 0, start+8+len(buf)-start), typ, nsp, id, len(bufs))
	for i, b := range bufs {
		bufs[i] = bytes.Clone(b)
		if bufs[i] == nil {
			bufs[i] = []byte{}
		}
	}
	return packetMessages(append(hdr, buf[start:]...), bufs), nil
}

const maxDepth = 1000
