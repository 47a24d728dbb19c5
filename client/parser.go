package client

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Socket.IO v5 packet types.
const (
	pConnect      = 0
	pDisconnect   = 1
	pEvent        = 2
	pAck          = 3
	pConnectError = 4
	pBinaryEvent  = 5
	pBinaryAck    = 6
)

// maxAttachments bounds the attachments one incoming packet may announce (socket.io-client's default).
const maxAttachments = 10

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
	p := packet{id: -1, nsp: "/"}
	if len(s) == 0 {
		return p, fmt.Errorf("%w: empty packet", ErrBadPacket)
	}
	if s[0] < '0' || s[0] > '6' {
		return p, fmt.Errorf("%w: unknown packet type %q", ErrBadPacket, s[0])
	}
	p.typ = int(s[0] - '0')
	i := 1
	if p.typ == pBinaryEvent || p.typ == pBinaryAck {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i || j >= len(s) || s[j] != '-' || j-i > 3 {
			return p, fmt.Errorf("%w: bad attachment count", ErrBadPacket)
		}
		n, _ := strconv.Atoi(string(s[i:j]))
		if n > maxAttachments {
			return p, fmt.Errorf("%w: %d attachments", ErrBadPacket, n)
		}
		p.attachments = n
		i = j + 1
	}
	if i < len(s) && s[i] == '/' {
		j := bytes.IndexByte(s[i:], ',')
		if j < 0 {
			p.nsp = string(s[i:])
			i = len(s)
		} else {
			p.nsp = string(s[i : i+j])
			i += j + 1
		}
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j > i {
		if j-i > 15 {
			return p, fmt.Errorf("%w: ack id too long", ErrBadPacket)
		}
		p.id, _ = strconv.ParseInt(string(s[i:j]), 10, 64)
		i = j
	}
	if i < len(s) {
		if !json.Valid(s[i:]) {
			return p, fmt.Errorf("%w: data is not JSON", ErrBadPacket)
		}
		p.data = json.RawMessage(bytes.Clone(s[i:]))
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

// splitArgs splits the JSON array data into its elements.
func splitArgs(data json.RawMessage) ([]json.RawMessage, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPacket, err)
	}
	return raw, nil
}

// eioPacket is an Engine.IO packet: its type ('0'…'6') and data; binary only for messages ('4').
type eioPacket struct {
	typ    byte
	data   []byte
	binary bool
}

// errBadPayload is wrapped by decodePayload's errors.
var errBadPayload = errors.New("bad polling payload")

// decodePayload decodes a long-polling payload: packets separated by 0x1e, binary ones as "b" + base64.
func decodePayload(b []byte) ([]eioPacket, error) {
	var out []eioPacket
	for part := range bytes.SplitSeq(b, []byte{0x1e}) {
		if len(part) == 0 {
			return nil, fmt.Errorf("%w: empty packet", errBadPayload)
		}
		if part[0] == 'b' {
			d, err := base64.StdEncoding.DecodeString(string(part[1:]))
			if err != nil {
				return nil, fmt.Errorf("%w: %w", errBadPayload, err)
			}
			out = append(out, eioPacket{typ: '4', data: d, binary: true})
			continue
		}
		if part[0] < '0' || part[0] > '6' {
			return nil, fmt.Errorf("%w: packet type %q", errBadPayload, part[0])
		}
		out = append(out, eioPacket{typ: part[0], data: bytes.Clone(part[1:])})
	}
	return out, nil
}

// appendPayload encodes packets as a long-polling payload.
func appendPayload(dst []byte, pkts []eioPacket) []byte {
	for i, p := range pkts {
		if i > 0 {
			dst = append(dst, 0x1e)
		}
		if p.binary {
			dst = append(dst, 'b')
			dst = base64.StdEncoding.AppendEncode(dst, p.data)
			continue
		}
		dst = append(dst, p.typ)
		dst = append(dst, p.data...)
	}
	return dst
}

// encodePacket writes a Socket.IO packet as Engine.IO messages: the header and JSON data, then the attachments.
func encodePacket(typ int, nsp string, id int64, data []byte, attachments [][]byte) []eioPacket {
	if len(attachments) > 0 {
		switch typ {
		case pEvent:
			typ = pBinaryEvent
		case pAck:
			typ = pBinaryAck
		}
	}
	b := make([]byte, 0, len(data)+len(nsp)+16)
	b = append(b, byte('0'+typ))
	if typ == pBinaryEvent || typ == pBinaryAck {
		b = strconv.AppendInt(b, int64(len(attachments)), 10)
		b = append(b, '-')
	}
	if nsp != "/" && nsp != "" {
		b = append(b, nsp...)
		b = append(b, ',')
	}
	if id >= 0 {
		b = strconv.AppendInt(b, id, 10)
	}
	b = append(b, data...)
	out := make([]eioPacket, 0, 1+len(attachments))
	out = append(out, eioPacket{typ: '4', data: b})
	for _, a := range attachments {
		out = append(out, eioPacket{typ: '4', data: a, binary: true})
	}
	return out
}
