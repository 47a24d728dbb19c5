package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sioredis/sioredis/internal/eiopacket"
	"github.com/sioredis/sioredis/internal/eventargs"
	"github.com/sioredis/sioredis/internal/siopacket"
)

// Socket.IO v5 packet types.
const (
	pConnect      = siopacket.Connect
	pDisconnect   = siopacket.Disconnect
	pEvent        = siopacket.Event
	pAck          = siopacket.Ack
	pConnectError = siopacket.ConnectError
	pBinaryEvent  = siopacket.BinaryEvent
	pBinaryAck    = siopacket.BinaryAck
)

// maxAttachments bounds the attachments one incoming packet may announce (socket.io-client's default).
const maxAttachments = siopacket.MaxClientAttachments

// maxDepth bounds the nesting of decoded argument values.
const maxDepth = 100

// packet is a decoded Socket.IO packet header and its JSON data.
type packet struct {
	typ         int
	attachments int
	nsp         string
	id          int64 // -1 when the packet has no ack id
	data        json.RawMessage
}

// decodePacket decodes the text of a Socket.IO packet (an Engine.IO message): type, attachment count, namespace,
// ack id and JSON data, as socket.io-parser writes them. The data is checked to be JSON, not interpreted.
func decodePacket(s []byte) (packet, error) {
	h, data, err := siopacket.ParseHeader(s, maxAttachments)
	p := packet{typ: h.Type, attachments: h.Attachments, nsp: h.Nsp, id: h.ID}
	if err != nil {
		return p, fmt.Errorf("%w: %w", ErrBadPacket, err)
	}
	if data != nil {
		if !json.Valid(data) {
			return p, fmt.Errorf("%w: data is not JSON", ErrBadPacket)
		}
		p.data = json.RawMessage(bytes.Clone(data))
	}
	switch p.typ {
	case pEvent, pBinaryEvent:
		if len(p.data) == 0 || p.data[0] != '[' {
			return p, fmt.Errorf("%w: event data is not an array", ErrBadPacket)
		}
	case pAck, pBinaryAck:
		if p.id < 0 || len(p.data) == 0 || p.data[0] != '[' {
			return p, fmt.Errorf("%w: bad ack", ErrBadPacket)
		}
	}
	return p, nil
}

// splitArgs splits the JSON array data (valid JSON, as decodePacket checked) into its elements.
func splitArgs(data json.RawMessage, bufs [][]byte) (eventargs.List, error) {
	l, err := eventargs.Split(data, 0, bufs)
	if err != nil {
		return l, fmt.Errorf("%w: %w", ErrBadPacket, err)
	}
	return l, nil
}

// eioPacket is an Engine.IO packet: its type ('0'…'6') and data; binary only for messages ('4').
type eioPacket struct {
	typ    byte
	data   []byte
	binary bool
}

// errBadPayload is wrapped by decodePayload's errors.
var errBadPayload = errors.New("bad polling payload")

// decodePayload decodes a long-polling payload (internal/eiopacket's format).
func decodePayload(b []byte) ([]eioPacket, error) {
	var out []eioPacket
	if err := eiopacket.EachInPayload(b, func(p eiopacket.Packet) { out = append(out, fromWire(p)) }); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadPayload, err)
	}
	return out, nil
}

// appendPayload encodes packets as a long-polling payload.
func appendPayload(dst []byte, pkts []eioPacket) []byte {
	wire := make([]eiopacket.Packet, len(pkts))
	for i, p := range pkts {
		wire[i] = eiopacket.Packet{Type: eiopacket.Type(p.typ - '0'), Data: p.data, Binary: p.binary}
	}
	return eiopacket.AppendPayload(dst, wire)
}

// fromWire converts a decoded Engine.IO packet to the client's form, copying its data (the decoders alias their
// input, which the transports reuse).
func fromWire(p eiopacket.Packet) eioPacket {
	return eioPacket{typ: '0' + byte(p.Type), data: bytes.Clone(p.Data), binary: p.Binary}
}

// encodePacket writes a Socket.IO packet as Engine.IO messages: the header and JSON data, then the attachments.
func encodePacket(typ int, nsp string, id int64, data []byte, attachments [][]byte) []eioPacket {
	b := siopacket.AppendHeader(make([]byte, 0, len(data)+len(nsp)+16), typ, nsp, id, len(attachments))
	b = append(b, data...)
	out := make([]eioPacket, 0, 1+len(attachments))
	out = append(out, eioPacket{typ: '4', data: b})
	for _, a := range attachments {
		out = append(out, eioPacket{typ: '4', data: a, binary: true})
	}
	return out
}
