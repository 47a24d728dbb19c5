package engineio

// Engine.IO protocol v3 (engine.io-client 3.x, under socket.io-client 2.x), accepted with Config.AllowEIO3. What
// differs from v4, and only that, is here:
//
//   - long-polling payloads: "<length>:<packet>" one after the other, the length counting the UTF-16 code units of
//     the packet as JavaScript counts a string's length, binary messages as "b4<base64>"; or, for a client that
//     takes binary (no "b64" query parameter), when a payload holds a binary message, the XHR2 framing: for each
//     packet, 0 (text) or 1 (binary), its length in bytes as one byte per decimal digit, 255, then the packet: a
//     text packet's UTF-8, or the type as a byte (4) followed by the data;
//   - WebSocket: a binary frame holds the type byte (4) then the data, and a client asking for base64 sends and
//     gets "b4<base64>" text frames;
//   - the heartbeat is reversed: the client pings, the server answers with a pong and closes a client that has not
//     pinged for PingInterval + PingTimeout.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/sioredis/sioredis/internal/eiopacket"
	"github.com/sioredis/sioredis/internal/wsproto"
)

// maxLengthDigits bounds the length prefix of a v3 payload's packet (the reference decoder accepts up to 310
// digits; no packet this server accepts has more than 16).
const maxLengthDigits = 16

// utf16Len returns the length of b as a JavaScript string: its UTF-16 code units. An invalid byte counts as one
// unit (a U+FFFD once decoded).
func utf16Len(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		b = b[size:]
	}
	return n
}

// utf16Prefix returns the length in bytes of the first units UTF-16 code units of b, or false when b is shorter
// or the prefix would split a character.
func utf16Prefix(b []byte, units int) (int, bool) {
	i := 0
	for units > 0 {
		if i >= len(b) {
			return 0, false
		}
		r, size := utf8.DecodeRune(b[i:])
		u := 1
		if r >= 0x10000 {
			u = 2
		}
		if u > units {
			return 0, false
		}
		units -= u
		i += size
	}
	return i, true
}

// appendPacketV3 appends the text encoding of one packet: the type digit and the data, or "b", the type digit and
// the base64 of a binary message.
func appendPacketV3(dst []byte, p eiopacket.Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b', '0'+byte(p.Type))
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	return eiopacket.AppendPacket(dst, p)
}

// appendPayloadV3 appends the text encoding of a v3 long-polling payload: each packet as "<length>:<packet>",
// binary messages in base64. No packet at all is "0:", as the reference encoder writes it.
func appendPayloadV3(dst []byte, packets []eiopacket.Packet) []byte {
	if len(packets) == 0 {
		return append(dst, '0', ':')
	}
	for _, p := range packets {
		start := len(dst)
		dst = appendPacketV3(dst, p)
		// The length goes before the packet: encode, measure, then move the packet right.
		var num [20]byte
		n := strconv.AppendInt(num[:0], int64(utf16Len(dst[start:])), 10)
		n = append(n, ':')
		dst = append(dst, n...)
		copy(dst[start+len(n):], dst[start:len(dst)-len(n)])
		copy(dst[start:], n)
	}
	return dst
}

// appendBinaryPayloadV3 appends the XHR2 binary encoding of a v3 long-polling payload.
func appendBinaryPayloadV3(dst []byte, packets []eiopacket.Packet) []byte {
	for _, p := range packets {
		kind := byte(0)
		if p.Binary {
			kind = 1
		}
		dst = append(dst, kind)
		for _, d := range strconv.AppendInt(nil, int64(1+len(p.Data)), 10) {
			dst = append(dst, d-'0')
		}
		dst = append(dst, 255)
		if p.Binary {
			dst = append(dst, byte(p.Type))
		} else {
			dst = append(dst, '0'+byte(p.Type))
		}
		dst = append(dst, p.Data...)
	}
	return dst
}

// hasBinary reports whether packets holds a binary message.
func hasBinary(packets []eiopacket.Packet) bool {
	for _, p := range packets {
		if p.Binary {
			return true
		}
	}
	return false
}

// parseTextPacketV3 decodes one text packet of v3: a type digit and its data, or "b4" and the base64 data of a
// binary message (clients send only messages in binary). Text data aliases b.
func parseTextPacketV3(b []byte) (eiopacket.Packet, error) {
	if len(b) > 0 && b[0] == 'b' {
		if len(b) < 2 || b[1] != '0'+byte(eiopacket.Message) {
			return eiopacket.Packet{}, fmt.Errorf("%w: base64 packet that is not a message", ErrBadPacket)
		}
		data := make([]byte, base64.StdEncoding.DecodedLen(len(b)-2))
		m, err := base64.StdEncoding.Decode(data, b[2:])
		if err != nil {
			return eiopacket.Packet{}, fmt.Errorf("%w: bad base64 in binary packet: %v", ErrBadPacket, err)
		}
		return eiopacket.Packet{Type: eiopacket.Message, Data: data[:m], Binary: true}, nil
	}
	return eiopacket.Parse(b, false)
}

// parsePacketV3 decodes one v3 packet as a WebSocket frame carries it: a text frame as parseTextPacketV3, a
// binary frame as the type byte followed by the data. Data aliases frame but for base64.
func parsePacketV3(frame []byte, binary bool) (eiopacket.Packet, error) {
	if !binary {
		return parseTextPacketV3(frame)
	}
	if len(frame) == 0 || frame[0] > byte(eiopacket.Noop) {
		return eiopacket.Packet{}, fmt.Errorf("%w: bad binary packet type", ErrBadPacket)
	}
	t := eiopacket.Type(frame[0])
	return eiopacket.Packet{Type: t, Data: frame[1:], Binary: t == eiopacket.Message}, nil
}

// eachPacketV3 calls fn with each packet of a v3 long-polling payload, binary (XHR2 framing, the body of a POST
// sent as application/octet-stream) or text, in order, and stops at the first that does not decode, whose error
// it returns. Empty text packets ("0:") are skipped, as the reference decoder skips them.
func eachPacketV3(body []byte, binary bool, fn func(eiopacket.Packet)) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: empty payload", ErrBadPacket)
	}
	if binary {
		return eachBinaryPacketV3(body, fn)
	}
	for len(body) > 0 {
		colon := bytes.IndexByte(body, ':')
		if colon <= 0 || colon > maxLengthDigits {
			return fmt.Errorf("%w: bad length prefix", ErrBadPacket)
		}
		n, err := strconv.Atoi(string(body[:colon]))
		if err != nil || n < 0 || body[0] == '+' || body[0] == '-' {
			return fmt.Errorf("%w: bad length prefix %q", ErrBadPacket, body[:colon])
		}
		body = body[colon+1:]
		size, ok := utf16Prefix(body, n)
		if !ok {
			return fmt.Errorf("%w: packet shorter than its length %d", ErrBadPacket, n)
		}
		if size > 0 {
			p, err := parseTextPacketV3(body[:size])
			if err != nil {
				return err
			}
			fn(p)
		}
		body = body[size:]
	}
	return nil
}

func eachBinaryPacketV3(body []byte, fn func(eiopacket.Packet)) error {
	for len(body) > 0 {
		kind := body[0]
		if kind > 1 {
			return fmt.Errorf("%w: bad binary payload packet kind %d", ErrBadPacket, kind)
		}
		i, n := 1, 0
		for ; i < len(body) && body[i] != 255; i++ {
			if body[i] > 9 || i > maxLengthDigits {
				return fmt.Errorf("%w: bad binary payload length", ErrBadPacket)
			}
			n = n*10 + int(body[i])
		}
		if i == 1 || i == len(body) || n > len(body)-i-1 {
			return fmt.Errorf("%w: bad binary payload length", ErrBadPacket)
		}
		msg := body[i+1 : i+1+n]
		body = body[i+1+n:]
		var p eiopacket.Packet
		var err error
		if kind == 0 {
			if !utf8.Valid(msg) {
				return fmt.Errorf("%w: text packet is not UTF-8", ErrBadPacket)
			}
			p, err = parseTextPacketV3(msg)
		} else if p, err = parsePacketV3(msg, true); err == nil && p.Type != eiopacket.Message {
			err = fmt.Errorf("%w: binary packet that is not a message", ErrBadPacket)
		}
		if err != nil {
			return err
		}
		fn(p)
	}
	return nil
}

// appendFrameV3 appends the WebSocket frame carrying a v3 packet: for a binary message, a binary frame holding
// the type byte and the data, or, with b64, a text frame holding "b4" and the base64 of the data; any other
// packet as appendFrame does. With headerOnly, the data of a binary frame is left out (the caller writes it from
// where it is).
func appendFrameV3(dst []byte, p eiopacket.Packet, b64, headerOnly bool) []byte {
	switch {
	case p.Binary && b64:
		n := base64.StdEncoding.EncodedLen(len(p.Data))
		dst = wsproto.AppendHeader(dst, wsproto.OpText, 2+n)
		dst = append(dst, 'b', '0'+byte(p.Type))
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	case p.Binary:
		dst = wsproto.AppendHeader(dst, wsproto.OpBinary, 1+len(p.Data))
		dst = append(dst, byte(p.Type))
		if headerOnly {
			return dst
		}
		return append(dst, p.Data...)
	}
	return appendFrame(dst, p, headerOnly)
}
