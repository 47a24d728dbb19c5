// Package wsproto is the WebSocket protocol (RFC 6455) as the engineio server and the benchmark load client need
// it, with no connection type of its own: the opening handshake (server accept and client request), frame
// encoding, and an incremental frame decoder that can be fed whatever a non-blocking read returned.
//
// No extension is negotiated (no permessage-deflate), so the reserved bits must be zero.
//
// Nothing here is safe for concurrent use unless its comment says so; the functions are.
package wsproto

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Opcode is the opcode of a frame.
type Opcode byte

// The opcodes of RFC 6455, section 5.2.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether op is a control opcode (close, ping, pong).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// Close status codes used here (RFC 6455, section 7.4.1).
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001
	CloseProtocolError = 1002
	CloseNoStatus      = 1005
	CloseInvalidData   = 1007
	CloseTooBig        = 1009
)

// Sentinel errors of the decoder, for errors.Is.
var (
	// ErrProtocol is wrapped by the decoder's errors for frames that break RFC 6455 (close code 1002).
	ErrProtocol = errors.New("websocket: protocol error")
	// ErrTooLarge is wrapped by the decoder's error for a message above its limit (close code 1009).
	ErrTooLarge = errors.New("websocket: message too large")
	// ErrInvalidUTF8 is wrapped by the decoder's error for a text message that is not UTF-8 (close code 1007).
	ErrInvalidUTF8 = errors.New("websocket: text message is not valid UTF-8")
	// ErrHandshake is wrapped by the errors of the opening handshake.
	ErrHandshake = errors.New("websocket: bad handshake")
)

// CloseCode returns the close status code that reports err to the peer.
func CloseCode(err error) uint16 {
	switch {
	case errors.Is(err, ErrTooLarge):
		return CloseTooBig
	case errors.Is(err, ErrInvalidUTF8):
		return CloseInvalidData
	default:
		return CloseProtocolError
	}
}

const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// HandshakeError is a refused opening handshake: the HTTP status to answer with and why.
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string { return "websocket: bad handshake: " + e.Reason }

// Unwrap makes errors.Is(err, ErrHandshake) true.
func (e *HandshakeError) Unwrap() error { return ErrHandshake }

// CheckRequest checks that r is a WebSocket opening handshake (RFC 6455, section 4.2.1) and returns its
// Sec-WebSocket-Key, or a *HandshakeError.
func CheckRequest(r *http.Request) (string, error) {
	if r.Method != http.MethodGet {
		return "", &HandshakeError{http.StatusMethodNotAllowed, "method is not GET"}
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		return "", &HandshakeError{http.StatusBadRequest, "Connection header lacks upgrade"}
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		return "", &HandshakeError{http.StatusBadRequest, "Upgrade header is not websocket"}
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		return "", &HandshakeError{http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version"}
	}
	key := strings.TrimSpace(r.Header.Get("Sec-WebSocket-Key"))
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 16 {
		return "", &HandshakeError{http.StatusBadRequest, "bad Sec-WebSocket-Key"}
	}
	return key, nil
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Accept completes a server's opening handshake: it checks r, hijacks the connection from w and writes the 101
// response. It returns the connection and the bytes the client sent after its request that the HTTP server had
// already read (frames to decode first). It keeps none of the HTTP server's buffers. When the request is refused,
// the error is a *HandshakeError and the refusal has been written to w.
func Accept(w http.ResponseWriter, r *http.Request) (net.Conn, []byte, error) {
	return AcceptWithHeader(w, r, nil)
}

// AcceptWithHeader is Accept adding the fields of extra to the 101 response. A field whose name is not an HTTP
// token, whose value holds a control character other than a tab, or that would replace one of the handshake's own
// fields (Upgrade, Connection, Sec-WebSocket-Accept) is left out: extra cannot break the response.
func AcceptWithHeader(w http.ResponseWriter, r *http.Request, extra http.Header) (net.Conn, []byte, error) {
	key, err := CheckRequest(r)
	if err != nil {
		var he *HandshakeError
		errors.As(err, &he)
		if he.Status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, he.Reason, he.Status)
		return nil, nil, err
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "cannot take over the connection", http.StatusInternalServerError)
		return nil, nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	var early []byte
	if n := brw.Reader.Buffered(); n > 0 {
		early = make([]byte, n)
		_, _ = brw.Reader.Read(early)
	}
	resp := make([]byte, 0, 160)
	resp = append(resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	resp = append(resp, AcceptKey(key)...)
	resp = append(resp, "\r\n"...)
	resp = appendExtraHeader(resp, extra)
	resp = append(resp, "\r\n"...)
	// The HTTP server may have set deadlines for reading the request; the WebSocket has none.
	_ = nc.SetDeadline(time.Time{})
	if _, err := nc.Write(resp); err != nil {
		_ = nc.Close()
		return nil, nil, fmt.Errorf("websocket: writing the handshake response: %w", err)
	}
	return nc, early, nil
}

// NewKey returns a random Sec-WebSocket-Key.
func NewKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// ReadResponse reads a server's answer to a client handshake sent with key and checks it. It returns the bytes
// already read past the response (frames to decode first).
func ReadResponse(br *bufio.Reader, req *http.Request, key string) ([]byte, error) {
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, &HandshakeError{resp.StatusCode, "status " + resp.Status}
	}
	if !headerHasToken(resp.Header, "Upgrade", "websocket") || !headerHasToken(resp.Header, "Connection", "upgrade") {
		return nil, &HandshakeError{resp.StatusCode, "101 response without Upgrade: websocket and Connection: Upgrade"}
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != AcceptKey(key) {
		return nil, &HandshakeError{resp.StatusCode, "bad Sec-WebSocket-Accept"}
	}
	var early []byte
	if n := br.Buffered(); n > 0 {
		early = make([]byte, n)
		_, _ = br.Read(early)
	}
	return early, nil
}

// MaxHeaderLen is the longest frame header: 2 bytes, an 8-byte length and a 4-byte mask key.
const MaxHeaderLen = 14

// AppendHeader appends the header of a final, unmasked frame (server to client) of n payload bytes.
func AppendHeader(dst []byte, op Opcode, n int) []byte {
	b0 := 0x80 | byte(op)
	switch {
	case n <= 125:
		return append(dst, b0, byte(n))
	case n <= 0xFFFF:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}

// AppendFrame appends a final, unmasked frame carrying payload.
func AppendFrame(dst []byte, op Opcode, payload []byte) []byte {
	return append(AppendHeader(dst, op, len(payload)), payload...)
}

// AppendMaskedFrame appends a final frame masked with key (client to server).
func AppendMaskedFrame(dst []byte, op Opcode, payload []byte, key [4]byte) []byte {
	start := len(dst)
	dst = AppendHeader(dst, op, len(payload))
	dst[start+1] |= 0x80
	dst = append(dst, key[:]...)
	off := len(dst)
	dst = append(dst, payload...)
	Mask(dst[off:], key, 0)
	return dst
}

// AppendClose appends a close frame with a status code and a reason (cut to fit a control frame).
func AppendClose(dst []byte, code uint16, reason string) []byte {
	if len(reason) > 123 {
		// Cut at a rune boundary: the reason must stay UTF-8.
		n := 123
		for n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		reason = reason[:n]
	}
	var p [125]byte
	binary.BigEndian.PutUint16(p[:], code)
	n := 2 + copy(p[2:], reason)
	return AppendFrame(dst, OpClose, p[:n])
}

// ParseClose returns the status code and reason of a close frame's payload (CloseNoStatus when it is empty),
// or an error for a malformed one.
func ParseClose(payload []byte) (uint16, string, error) {
	switch {
	case len(payload) == 0:
		return CloseNoStatus, "", nil
	case len(payload) == 1:
		return 0, "", fmt.Errorf("%w: 1-byte close payload", ErrProtocol)
	}
	code := binary.BigEndian.Uint16(payload)
	if code < 1000 || code >= 5000 || (code < 3000 && (code == 1004 || code == 1005 || code == 1006 || code > 1014)) {
		return 0, "", fmt.Errorf("%w: close code %d", ErrProtocol, code)
	}
	if !utf8.Valid(payload[2:]) {
		return 0, "", fmt.Errorf("%w: close reason", ErrInvalidUTF8)
	}
	return code, string(payload[2:]), nil
}

// Mask XORs b with key, b starting at offset pos of the payload (masking is its own inverse).
func Mask(b []byte, key [4]byte, pos int) {
	// Rotate the key so that b[0] takes key[pos%4], then work 8 bytes at a time.
	var k [4]byte
	for i := range 4 {
		k[i] = key[(pos+i)&3]
	}
	k32 := uint64(binary.LittleEndian.Uint32(k[:]))
	k64 := k32 | k32<<32
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= k[i&3]
	}
}

// Decoder decodes a stream of frames fed in pieces of any size. (Like the ws library of Node, it accepts payload
// lengths written in a longer form than needed.) It reassembles fragmented messages, checks the
// rules of RFC 6455 (masking direction, reserved bits, control frames, continuation order, UTF-8 of text) and
// bounds message size. Between two Feed calls it keeps only the bytes of an incomplete frame or message, so an
// idle decoder holds no buffer. The zero value decodes unmasked frames (client side) with no size limit.
type Decoder struct {
	// Server makes the decoder require masked frames (frames from a client); otherwise masked frames are refused.
	Server bool
	// MaxMessage bounds the payload of a message (all its fragments), in bytes; 0 means no limit.
	MaxMessage int64

	pending []byte // the start of an incomplete frame
	msg     []byte // the fragments of an incomplete message
	msgOp   Opcode // its opcode, or 0 when no message is in progress
	failed  error
}

// Handler receives the decoded messages and control frames. Its payload is only valid during the call (it may be
// part of the caller's read buffer). Returning an error stops Feed, which returns it.
type Handler func(op Opcode, payload []byte) error

// Feed decodes data, calling h for each complete data message (OpText or OpBinary, fragments joined) and each
// control frame (OpClose, OpPing, OpPong), in order. Data is modified (unmasked in place). After an error,
// every later Feed returns the same error.
func (d *Decoder) Feed(data []byte, h Handler) error {
	if d.failed != nil {
		return d.failed
	}
	buf := data
	if len(d.pending) > 0 {
		if need := len(d.pending) + len(data); need > cap(d.pending) {
			// Room for the whole frame at once when its header says how long it is (a large frame arrives in
			// many reads: growing by append would allocate about five times its size in all), else double.
			p := make([]byte, len(d.pending), max(need, d.frameLen(d.pending), 2*cap(d.pending)))
			copy(p, d.pending)
			d.pending = p
		}
		d.pending = append(d.pending, data...)
		buf = d.pending
	}
	n, err := d.decode(buf, h)
	if err != nil {
		d.failed, d.pending, d.msg = err, nil, nil
		return err
	}
	rest := buf[n:]
	switch {
	case len(rest) == 0:
		d.pending = nil
	case len(d.pending) > 0 && n == 0:
		// Nothing complete yet: the bytes stay where they are (no copy per Feed while a large frame arrives).
	case len(d.pending) > 0:
		// rest is the tail of d.pending: move it to the front, dropping the capacity if it was large.
		if cap(d.pending) > 4*len(rest)+4096 {
			d.pending = append([]byte(nil), rest...)
		} else {
			d.pending = append(d.pending[:0], rest...)
		}
	default:
		d.pending = append(make([]byte, 0, max(len(rest), 64, d.frameLen(rest))), rest...)
	}
	return nil
}

// frameLen returns the length of the frame b starts with when its header is there and its payload within
// MaxMessage (what decode will check), else 0.
func (d *Decoder) frameLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	length, hdr := uint64(b[1]&0x7F), 2
	switch length {
	case 126:
		if len(b) < 4 {
			return 0
		}
		length, hdr = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0
		}
		length, hdr = binary.BigEndian.Uint64(b[2:]), 10
	}
	if b[1]&0x80 != 0 {
		hdr += 4
	}
	if d.MaxMessage <= 0 || length > uint64(d.MaxMessage)-uint64(min(int64(len(d.msg)), d.MaxMessage)) {
		return 0
	}
	return hdr + int(length)
}

// decode decodes the complete frames at the start of buf and returns how many bytes they took.
func (d *Decoder) decode(buf []byte, h Handler) (int, error) {
	used := 0
	for {
		b := buf[used:]
		if len(b) < 2 {
			return used, nil
		}
		fin, rsv, op := b[0]&0x80 != 0, b[0]&0x70, Opcode(b[0]&0x0F)
		masked, length := b[1]&0x80 != 0, int64(b[1]&0x7F)
		hdr := 2
		switch length {
		case 126:
			if len(b) < 4 {
				return used, nil
			}
			length, hdr = int64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return used, nil
			}
			u := binary.BigEndian.Uint64(b[2:])
			if u>>63 != 0 {
				return 0, fmt.Errorf("%w: payload length with its top bit set", ErrProtocol)
			}
			length, hdr = int64(u), 10
		}
		if rsv != 0 {
			return 0, fmt.Errorf("%w: reserved bits set with no extension", ErrProtocol)
		}
		if masked != d.Server {
			if d.Server {
				return 0, fmt.Errorf("%w: unmasked frame from a client", ErrProtocol)
			}
			return 0, fmt.Errorf("%w: masked frame from a server", ErrProtocol)
		}
		switch {
		case op.IsControl():
			if !fin || length > 125 {
				return 0, fmt.Errorf("%w: fragmented or long control frame", ErrProtocol)
			}
			if op != OpClose && op != OpPing && op != OpPong {
				return 0, fmt.Errorf("%w: unknown opcode %#x", ErrProtocol, byte(op))
			}
		case op == OpContinuation:
			if d.msgOp == 0 {
				return 0, fmt.Errorf("%w: continuation frame with no message in progress", ErrProtocol)
			}
		case op == OpText || op == OpBinary:
			if d.msgOp != 0 {
				return 0, fmt.Errorf("%w: new message before the end of a fragmented one", ErrProtocol)
			}
		default:
			return 0, fmt.Errorf("%w: unknown opcode %#x", ErrProtocol, byte(op))
		}
		if !op.IsControl() && d.MaxMessage > 0 && length > d.MaxMessage-int64(len(d.msg)) {
			return 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, d.MaxMessage)
		}
		var key [4]byte
		if masked {
			if len(b) < hdr+4 {
				return used, nil
			}
			copy(key[:], b[hdr:])
			hdr += 4
		}
		if int64(len(b)-hdr) < length {
			return used, nil
		}
		payload := b[hdr : hdr+int(length)]
		if masked {
			Mask(payload, key, 0)
		}
		used += hdr + int(length)
		if err := d.frame(fin, op, payload, h); err != nil {
			return 0, err
		}
	}
}

func (d *Decoder) frame(fin bool, op Opcode, payload []byte, h Handler) error {
	if op.IsControl() {
		return h(op, payload)
	}
	if op != OpContinuation {
		d.msgOp = op
	}
	if !fin {
		if need := len(d.msg) + len(payload); need > cap(d.msg) {
			m := make([]byte, len(d.msg), max(need, 2*cap(d.msg))) // doubling: fragments cost twice their size in all
			copy(m, d.msg)
			d.msg = m
		}
		d.msg = append(d.msg, payload...)
		return nil
	}
	op, d.msgOp = d.msgOp, 0
	if len(d.msg) > 0 {
		payload = append(d.msg, payload...)
		d.msg = nil
	}
	if op == OpText && !utf8.Valid(payload) {
		return ErrInvalidUTF8
	}
	return h(op, payload)
}

// Buffered returns the number of bytes the decoder holds: an incomplete frame or message.
func (d *Decoder) Buffered() int { return len(d.pending) + len(d.msg) }

// appendExtraHeader appends the valid fields of h (see AcceptWithHeader) as response header lines.
func appendExtraHeader(b []byte, h http.Header) []byte {
	for name, values := range h {
		switch http.CanonicalHeaderKey(name) {
		case "Upgrade", "Connection", "Sec-Websocket-Accept":
			continue
		}
		if !isToken(name) {
			continue
		}
		for _, v := range values {
			if !validFieldValue(v) {
				continue
			}
			b = append(b, name...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return b
}

// isToken reports whether s is an HTTP token (RFC 9110, section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validFieldValue reports whether v holds no control character but tabs (no CR or LF: no injected line).
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
