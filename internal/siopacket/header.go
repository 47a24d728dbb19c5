package siopacket

import (
	"bytes"
	"errors"
	"math"
	"strconv"
)

// The text of a packet of the default parser (socket.io-parser), in one place:
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// followed, for BINARY_EVENT and BINARY_ACK, by one binary Engine.IO message
// per attachment; the payload refers to attachment k with
// {"_placeholder":true,"num":k}.

// Header is the part of a packet's text before its payload.
type Header struct {
	Type        int
	Attachments int    // BINARY_EVENT and BINARY_ACK only
	Nsp         string // "/" when the packet names none
	ID          int64  // the acknowledgement id, -1 when there is none
}

// ErrBadHeader is wrapped by the errors of ParseHeader; the server and the
// client wrap it in turn in their own ErrBadPacket.
var ErrBadHeader = errors.New("bad packet header")

// MaxAckID is the largest acknowledgement id ParseHeader accepts: ids are
// counters, and a larger one is a hostile or broken peer.
const MaxAckID = math.MaxInt32 * 2

// ParseHeader reads the header of a packet's text and returns it with the
// payload that follows (aliasing text; nil when there is none). It does not
// look at the payload. A packet announcing more than maxAttachments
// attachments is refused, as socket.io-parser refuses it.
func ParseHeader(text []byte, maxAttachments int) (Header, []byte, error) {
	h := Header{Nsp: "/", ID: -1}
	if len(text) == 0 || text[0] < '0' || text[0] > '6' {
		return h, nil, errorf(ErrBadHeader, "unknown packet type")
	}
	h.Type = int(text[0] - '0')
	i := 1
	if h.Type == BinaryEvent || h.Type == BinaryAck {
		j := i
		for j < len(text) && text[j] >= '0' && text[j] <= '9' {
			j++
		}
		if j == i || j >= len(text) || text[j] != '-' || j-i > 4 {
			return h, nil, errorf(ErrBadHeader, "bad attachment count")
		}
		n, _ := strconv.Atoi(string(text[i:j]))
		if n < 1 {
			// socket.io-parser refuses it too ("Illegal attachments"): a binary packet has attachments.
			return h, nil, errorf(ErrBadHeader, "bad attachment count")
		}
		if n > maxAttachments {
			return h, nil, errorf(ErrBadHeader, "%d attachments, at most %d", n, maxAttachments)
		}
		h.Attachments = n
		i = j + 1
	}
	if i < len(text) && text[i] == '/' {
		j := bytes.IndexByte(text[i:], ',')
		if j < 0 {
			h.Nsp = string(text[i:])
			i = len(text)
		} else {
			h.Nsp = string(text[i : i+j])
			i += j + 1
		}
	}
	if i < len(text) && text[i] >= '0' && text[i] <= '9' {
		j := i
		for j < len(text) && text[j] >= '0' && text[j] <= '9' {
			j++
		}
		id, err := strconv.ParseInt(string(text[i:j]), 10, 64)
		if err != nil || id > MaxAckID {
			return h, nil, errorf(ErrBadHeader, "bad ack id")
		}
		h.ID = id
		i = j
	}
	if i < len(text) {
		return h, text[i:], nil
	}
	return h, nil, nil
}

// AppendHeader appends the header of a packet to dst. An EVENT or ACK with
// attachments is written as BINARY_EVENT or BINARY_ACK.
func AppendHeader(dst []byte, typ int, nsp string, id int64, attachments int) []byte {
	if attachments > 0 {
		switch typ {
		case Event:
			typ = BinaryEvent
		case Ack:
			typ = BinaryAck
		}
	}
	dst = append(dst, byte('0'+typ))
	if typ == BinaryEvent || typ == BinaryAck {
		dst = strconv.AppendInt(dst, int64(attachments), 10)
		dst = append(dst, '-')
	}
	if nsp != "/" && nsp != "" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if id >= 0 {
		dst = strconv.AppendInt(dst, id, 10)
	}
	return dst
}
