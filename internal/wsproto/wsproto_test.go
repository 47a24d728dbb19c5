package wsproto

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
)

// ---------------------------------------------------------------------------------------------------------------
// Helpers. They encode frames independently of the code under test (no AppendHeader, no Mask), so that a bug
// in the encoder cannot hide the same bug in the decoder.

const (
	fin   = 0x80
	rsv1  = 0x40
	rsv2  = 0x20
	rsv3  = 0x10
	opTxt = byte(OpText)
	opBin = byte(OpBinary)
	opCnt = byte(OpContinuation)
	opCls = byte(OpClose)
	opPng = byte(OpPing)
	opPog = byte(OpPong)
)

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// rawFrame encodes a frame with first byte b0 (FIN, RSV and opcode), in the shortest length form, masked with
// testKey when masked is set.
func rawFrame(b0 byte, masked bool, payload []byte) []byte {
	out := []byte{b0}
	var mbit byte
	if masked {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		out = append(out, mbit|byte(n))
	case n <= 0xFFFF:
		out = append(out, mbit|126, byte(n>>8), byte(n))
	default:
		out = append(out, mbit|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if !masked {
		return append(out, payload...)
	}
	out = append(out, testKey[:]...)
	for i, c := range payload {
		out = append(out, c^testKey[i%4])
	}
	return out
}

// cf is a frame from a server (unmasked), sf one from a client (masked).
func cf(b0 byte, payload string) []byte { return rawFrame(b0, false, []byte(payload)) }
func sf(b0 byte, payload string) []byte { return rawFrame(b0, true, []byte(payload)) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

type msg struct {
	op Opcode
	p  string
}

func (m msg) String() string { return fmt.Sprintf("{%#x %q}", byte(m.op), m.p) }

// feed feeds copies of chunks to d in order and collects what it hands over, stopping at the first error.
func feed(d *Decoder, chunks ...[]byte) ([]msg, error) {
	var got []msg
	h := func(op Opcode, p []byte) error {
		got = append(got, msg{op, string(p)})
		return nil
	}
	for _, c := range chunks {
		if err := d.Feed(bytes.Clone(c), h); err != nil {
			return got, err
		}
	}
	return got, nil
}

// splits returns data cut in several ways: whole, a byte at a time, in pieces of 2, 3 and 7 bytes, and in two at
// every index for short data.
func splits(data []byte) map[string][][]byte {
	out := map[string][][]byte{"whole": {data}}
	for _, size := range []int{1, 2, 3, 7} {
		var chunks [][]byte
		for i := 0; i < len(data); i += size {
			chunks = append(chunks, data[i:min(i+size, len(data))])
		}
		out[fmt.Sprintf("by%d", size)] = chunks
	}
	if len(data) <= 64 {
		for i := 1; i < len(data); i++ {
			out[fmt.Sprintf("at%d", i)] = [][]byte{data[:i], data[i:]}
		}
	}
	return out
}

func sameMsgs(a, b []msg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------------------------------------------
// Handshake.

func TestAcceptKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}, // RFC 6455, section 1.3
		{"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="}, // RFC 6455, section 1.2
	}
	for _, tt := range tests {
		if got := AcceptKey(tt.key); got != tt.want {
			t.Errorf("AcceptKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestNewKey(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		k := NewKey()
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != 16 {
			t.Fatalf("NewKey() = %q: not the base64 of 16 bytes (%d bytes, %v)", k, len(b), err)
		}
		if seen[k] {
			t.Fatalf("NewKey() returned %q twice", k)
		}
		seen[k] = true
		r := upgradeRequest(http.MethodGet, nil)
		r.Header.Set("Sec-WebSocket-Key", k)
		if got, err := CheckRequest(r); err != nil || got != k {
			t.Fatalf("CheckRequest with NewKey() %q = %q, %v", k, got, err)
		}
	}
}

const goodKey = "dGhlIHNhbXBsZSBub25jZQ=="

// upgradeRequest returns a valid opening handshake, then changes its headers: an empty value deletes a header,
// several values are sent as several header lines.
func upgradeRequest(method string, hdr map[string][]string) *http.Request {
	r := httptest.NewRequest(method, "http://example.com/engine.io/?EIO=4&transport=websocket", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", goodKey)
	for k, vs := range hdr {
		r.Header.Del(k)
		for _, v := range vs {
			if v != "" {
				r.Header.Add(k, v)
			}
		}
	}
	return r
}

func TestCheckRequest(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		hdr     map[string][]string
		status  int    // 0: accepted
		wantKey string // when accepted
	}{
		{name: "plain", method: "GET", wantKey: goodKey},
		{name: "connection list", method: "GET", hdr: map[string][]string{"Connection": {"keep-alive, Upgrade"}}, wantKey: goodKey},
		{name: "connection list no spaces", method: "GET", hdr: map[string][]string{"Connection": {"keep-alive,upgrade"}}, wantKey: goodKey},
		{name: "connection list spaces", method: "GET", hdr: map[string][]string{"Connection": {"  Upgrade  ,keep-alive"}}, wantKey: goodKey},
		{name: "connection two lines", method: "GET", hdr: map[string][]string{"Connection": {"keep-alive", "Upgrade"}}, wantKey: goodKey},
		{name: "connection upper case", method: "GET", hdr: map[string][]string{"Connection": {"UPGRADE"}}, wantKey: goodKey},
		{name: "upgrade mixed case", method: "GET", hdr: map[string][]string{"Upgrade": {"WebSocket"}}, wantKey: goodKey},
		{name: "upgrade list", method: "GET", hdr: map[string][]string{"Upgrade": {"h2c, websocket"}}, wantKey: goodKey},
		{name: "upgrade two lines", method: "GET", hdr: map[string][]string{"Upgrade": {"h2c", "websocket"}}, wantKey: goodKey},
		{name: "key with spaces", method: "GET", hdr: map[string][]string{"Sec-WebSocket-Key": {"  " + goodKey + " "}}, wantKey: goodKey},

		{name: "POST", method: "POST", status: http.StatusMethodNotAllowed},
		{name: "HEAD", method: "HEAD", status: http.StatusMethodNotAllowed},
		{name: "PUT with nothing else", method: "PUT", hdr: map[string][]string{"Connection": {""}, "Upgrade": {""}, "Sec-WebSocket-Key": {""}}, status: http.StatusMethodNotAllowed},

		{name: "no connection", method: "GET", hdr: map[string][]string{"Connection": {""}}, status: http.StatusBadRequest},
		{name: "connection keep-alive", method: "GET", hdr: map[string][]string{"Connection": {"keep-alive"}}, status: http.StatusBadRequest},
		{name: "connection upgraded", method: "GET", hdr: map[string][]string{"Connection": {"upgraded, keep-alive"}}, status: http.StatusBadRequest},
		{name: "connection upgrade as part of a token", method: "GET", hdr: map[string][]string{"Connection": {"keep-alive upgrade"}}, status: http.StatusBadRequest},
		{name: "no upgrade", method: "GET", hdr: map[string][]string{"Upgrade": {""}}, status: http.StatusBadRequest},
		{name: "upgrade h2c", method: "GET", hdr: map[string][]string{"Upgrade": {"h2c"}}, status: http.StatusBadRequest},
		{name: "upgrade websockets", method: "GET", hdr: map[string][]string{"Upgrade": {"websockets"}}, status: http.StatusBadRequest},

		{name: "no version", method: "GET", hdr: map[string][]string{"Sec-WebSocket-Version": {""}}, status: http.StatusUpgradeRequired},
		{name: "version 8", method: "GET", hdr: map[string][]string{"Sec-WebSocket-Version": {"8"}}, status: http.StatusUpgradeRequired},
		{name: "version 14", method: "GET", hdr: map[string][]string{"Sec-WebSocket-Version": {"14"}}, status: http.StatusUpgradeRequired},

		{name: "no key", method: "GET", hdr: map[string][]string{"Sec-WebSocket-Key": {""}}, status: http.StatusBadRequest},
		{name: "key not base64", method: "GET", hdr: map[string][]string{"Sec-WebSocket-Key": {"not base64 at all!!!"}}, status: http.StatusBadRequest},
		{name: "key 15 bytes", method: "GET", hdr: map[string][]string{"Sec-WebSocket-Key": {base64.StdEncoding.EncodeToString(make([]byte, 15))}}, status: http.StatusBadRequest},
		{name: "key 17 bytes", method: "GET", hdr: map[string][]string{"Sec-WebSocket-Key": {base64.StdEncoding.EncodeToString(make([]byte, 17))}}, status: http.StatusBadRequest},
		{name: "key url encoding", method: "GET", hdr: map[string][]string{"Sec-WebSocket-Key": {base64.RawURLEncoding.EncodeToString(make([]byte, 16))}}, status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := CheckRequest(upgradeRequest(tt.method, tt.hdr))
			if tt.status == 0 {
				if err != nil || key != tt.wantKey {
					t.Fatalf("CheckRequest = %q, %v; want %q, nil", key, err, tt.wantKey)
				}
				return
			}
			var he *HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("CheckRequest = %q, %v; want a *HandshakeError", key, err)
			}
			if he.Status != tt.status {
				t.Errorf("status = %d (%s), want %d", he.Status, he.Reason, tt.status)
			}
			if !errors.Is(err, ErrHandshake) {
				t.Errorf("errors.Is(%v, ErrHandshake) = false", err)
			}
			if key != "" {
				t.Errorf("key = %q with an error", key)
			}
			if he.Reason == "" || !strings.Contains(err.Error(), he.Reason) {
				t.Errorf("Error() = %q, reason %q", err.Error(), he.Reason)
			}
		})
	}
}

// TestAcceptRefusal checks that Accept writes the refusal, with Sec-WebSocket-Version on a 426.
func TestAcceptRefusal(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		hdr     map[string][]string
		status  int
		version string
	}{
		{"POST", "POST", nil, http.StatusMethodNotAllowed, ""},
		{"no upgrade", "GET", map[string][]string{"Upgrade": {""}}, http.StatusBadRequest, ""},
		{"version 8", "GET", map[string][]string{"Sec-WebSocket-Version": {"8"}}, http.StatusUpgradeRequired, "13"},
		{"bad key", "GET", map[string][]string{"Sec-WebSocket-Key": {"abc"}}, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			nc, early, err := Accept(w, upgradeRequest(tt.method, tt.hdr))
			var he *HandshakeError
			if nc != nil || early != nil || !errors.As(err, &he) || he.Status != tt.status {
				t.Fatalf("Accept = %v, %q, %v; want a refusal with status %d", nc, early, err, tt.status)
			}
			if w.Code != tt.status {
				t.Errorf("written status %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("Sec-WebSocket-Version"); got != tt.version {
				t.Errorf("Sec-WebSocket-Version = %q, want %q", got, tt.version)
			}
			if !strings.Contains(w.Body.String(), he.Reason) {
				t.Errorf("body %q lacks the reason %q", w.Body.String(), he.Reason)
			}
		})
	}

	t.Run("no hijack", func(t *testing.T) {
		w := httptest.NewRecorder() // not an http.Hijacker
		nc, _, err := Accept(w, upgradeRequest("GET", nil))
		if nc != nil || err == nil {
			t.Fatalf("Accept on a ResponseRecorder = %v, %v; want an error", nc, err)
		}
		if w.Code != http.StatusInternalServerError {
			t.Errorf("status %d, want 500", w.Code)
		}
	})
}

func TestReadResponse(t *testing.T) {
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	good := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	tests := []struct {
		name      string
		resp      string
		wantEarly string
		status    int  // for a *HandshakeError
		wantErr   bool // any error wrapping ErrHandshake
	}{
		{name: "good", resp: good},
		{name: "good with frames after it", resp: good + "\x81\x02hi\x89\x00", wantEarly: "\x81\x02hi\x89\x00"},
		{name: "lower case header", resp: strings.Replace(good, "Sec-WebSocket-Accept", "sec-websocket-accept", 1)},
		{name: "200", resp: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, wantErr: true},
		{name: "400", resp: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", status: 400, wantErr: true},
		{name: "wrong accept", resp: strings.Replace(good, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "s3pPLMBiTxaQ9kYGzzhZRbK+xOp=", 1), status: 101, wantErr: true},
		{name: "no accept", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", status: 101, wantErr: true},
		{name: "not HTTP", resp: "SSH-2.0-OpenSSH\r\n\r\n", wantErr: true},
		{name: "truncated", resp: "HTTP/1.1 101 Switching", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "http://example.com/", nil)
			early, err := ReadResponse(bufio.NewReader(strings.NewReader(tt.resp)), req, key)
			if !tt.wantErr {
				if err != nil || string(early) != tt.wantEarly {
					t.Fatalf("ReadResponse = %q, %v; want %q, nil", early, err, tt.wantEarly)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrHandshake) {
				t.Fatalf("ReadResponse = %q, %v; want an error wrapping ErrHandshake", early, err)
			}
			var he *HandshakeError
			if tt.status != 0 && (!errors.As(err, &he) || he.Status != tt.status) {
				t.Fatalf("ReadResponse error %v; want a *HandshakeError with status %d", err, tt.status)
			}
		})
	}
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding.

func TestAppendHeader(t *testing.T) {
	tests := []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x82, 0}},
		{1, []byte{0x82, 1}},
		{125, []byte{0x82, 125}},
		{126, []byte{0x82, 126, 0, 126}},
		{127, []byte{0x82, 126, 0, 127}},
		{256, []byte{0x82, 126, 1, 0}},
		{65535, []byte{0x82, 126, 0xff, 0xff}},
		{65536, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{70000, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70}},
		{1 << 40, []byte{0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		prefix := []byte("xyz")
		got := AppendHeader(bytes.Clone(prefix), OpBinary, tt.n)
		if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], tt.want) {
			t.Errorf("AppendHeader(%d) = % x, want xyz + % x", tt.n, got, tt.want)
		}
		if len(got)-len(prefix) > MaxHeaderLen-4 {
			t.Errorf("AppendHeader(%d): %d bytes, more than MaxHeaderLen-4", tt.n, len(got)-len(prefix))
		}
	}
	// The opcode goes in the first byte, with FIN.
	for _, op := range []Opcode{OpText, OpBinary, OpClose, OpPing, OpPong} {
		if got := AppendHeader(nil, op, 3); got[0] != 0x80|byte(op) {
			t.Errorf("AppendHeader(op %#x)[0] = %#x", byte(op), got[0])
		}
	}
}

// TestAppendFrameRoundTrip encodes frames at the length boundaries both ways and decodes them, fed whole and in
// pieces.
func TestAppendFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 5, 8, 125, 126, 127, 65535, 65536, 65537, 200000} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i*7 + i>>8)
		}
		prefix := []byte{1, 2, 3}

		unmasked := AppendFrame(bytes.Clone(prefix), OpBinary, payload)
		if want := cat(prefix, rawFrame(fin|opBin, false, payload)); !bytes.Equal(unmasked, want) {
			t.Fatalf("AppendFrame(%d bytes) differs from the reference encoding", n)
		}
		masked := AppendMaskedFrame(bytes.Clone(prefix), OpBinary, payload, testKey)
		if want := cat(prefix, rawFrame(fin|opBin, true, payload)); !bytes.Equal(masked, want) {
			t.Fatalf("AppendMaskedFrame(%d bytes) differs from the reference encoding:\n got % x\nwant % x",
				n, masked[:min(len(masked), 20)], want[:min(len(want), 20)])
		}

		for _, tc := range []struct {
			server bool
			data   []byte
		}{{false, unmasked[len(prefix):]}, {true, masked[len(prefix):]}} {
			for _, piece := range []int{len(tc.data), 1000, 3} {
				if piece == 3 && n > 1000 {
					continue
				}
				d := &Decoder{Server: tc.server}
				var chunks [][]byte
				for i := 0; i < len(tc.data); i += piece {
					chunks = append(chunks, tc.data[i:min(i+piece, len(tc.data))])
				}
				got, err := feed(d, chunks...)
				if err != nil || len(got) != 1 || got[0].op != OpBinary || got[0].p != string(payload) {
					t.Fatalf("server %v, %d bytes in pieces of %d: decoded %d messages, %v", tc.server, n, piece, len(got), err)
				}
				if d.Buffered() != 0 {
					t.Fatalf("Buffered() = %d after a complete frame", d.Buffered())
				}
			}
		}
	}
}

func TestAppendClose(t *testing.T) {
	tests := []struct {
		name       string
		code       uint16
		reason     string
		wantReason string
	}{
		{"normal", CloseNormal, "bye", "bye"},
		{"no reason", CloseGoingAway, "", ""},
		{"123 bytes", CloseNormal, strings.Repeat("r", 123), strings.Repeat("r", 123)},
		{"cut", CloseTooBig, strings.Repeat("abcdefghij", 20), strings.Repeat("abcdefghij", 20)[:123]},
		{"utf-8", CloseNormal, "au revoir, été", "au revoir, été"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := AppendClose([]byte("pre"), tt.code, tt.reason)
			if string(f[:3]) != "pre" {
				t.Fatalf("prefix lost: % x", f[:3])
			}
			got, err := feed(&Decoder{}, f[3:])
			if err != nil || len(got) != 1 || got[0].op != OpClose {
				t.Fatalf("decoded %v, %v; want one close frame", got, err)
			}
			if len(got[0].p) > 125 {
				t.Fatalf("close payload of %d bytes", len(got[0].p))
			}
			code, reason, err := ParseClose([]byte(got[0].p))
			if err != nil || code != tt.code || reason != tt.wantReason {
				t.Fatalf("ParseClose = %d, %q, %v; want %d, %q", code, reason, err, tt.code, tt.wantReason)
			}
		})
	}
}

// TestAppendCloseCutsAtRuneBoundary: a reason longer than 123 bytes must not be cut inside a UTF-8 sequence, or
// the close frame is invalid (a peer answers it with 1007, and ParseClose refuses it).
func TestAppendCloseCutsAtRuneBoundary(t *testing.T) {
	for _, reason := range []string{strings.Repeat("é", 100), strings.Repeat("€", 50), "x" + strings.Repeat("😀", 40)} {
		f := AppendClose(nil, CloseNormal, reason)
		payload := f[2:]
		if len(payload) > 125 {
			t.Fatalf("close payload of %d bytes", len(payload))
		}
		code, got, err := ParseClose(payload)
		if err != nil {
			t.Errorf("AppendClose(%d bytes of %q...) wrote a reason that ParseClose refuses: %v (payload ends % x)",
				len(reason), reason[:4], err, payload[len(payload)-4:])
			continue
		}
		if code != CloseNormal || !strings.HasPrefix(reason, got) || len(got) < 120 {
			t.Errorf("ParseClose = %d, %d bytes of reason; want 1000 and a prefix of the reason of 120 to 123 bytes", code, len(got))
		}
	}
}

func TestParseClose(t *testing.T) {
	code := func(c uint16, reason string) []byte { return append(binary.BigEndian.AppendUint16(nil, c), reason...) }
	tests := []struct {
		name       string
		payload    []byte
		wantCode   uint16
		wantReason string
		wantErr    error
	}{
		{"empty", nil, CloseNoStatus, "", nil},
		{"1 byte", []byte{0x03}, 0, "", ErrProtocol},
		{"1000", code(1000, ""), 1000, "", nil},
		{"1000 reason", code(1000, "bye"), 1000, "bye", nil},
		{"1001", code(1001, "away"), 1001, "away", nil},
		{"1002", code(1002, ""), 1002, "", nil},
		{"1003", code(1003, ""), 1003, "", nil},
		{"1007", code(1007, ""), 1007, "", nil},
		{"1009", code(1009, ""), 1009, "", nil},
		{"1011", code(1011, ""), 1011, "", nil},
		{"1014", code(1014, ""), 1014, "", nil},
		{"3000", code(3000, "app"), 3000, "app", nil},
		{"4000", code(4000, ""), 4000, "", nil},
		{"4999", code(4999, "x"), 4999, "x", nil},
		{"utf-8 reason", code(1000, "été"), 1000, "été", nil},

		{"0", code(0, ""), 0, "", ErrProtocol},
		{"999", code(999, ""), 0, "", ErrProtocol},
		{"1004", code(1004, ""), 0, "", ErrProtocol},
		{"1005 on the wire", code(1005, ""), 0, "", ErrProtocol},
		{"1006 on the wire", code(1006, ""), 0, "", ErrProtocol},
		{"1015 on the wire", code(1015, ""), 0, "", ErrProtocol},
		{"1016", code(1016, ""), 0, "", ErrProtocol},
		{"2000", code(2000, ""), 0, "", ErrProtocol},
		{"2999", code(2999, ""), 0, "", ErrProtocol},
		{"5000", code(5000, ""), 0, "", ErrProtocol},
		{"65535", code(65535, ""), 0, "", ErrProtocol},
		{"invalid reason", code(1000, "ok\xff"), 0, "", ErrInvalidUTF8},
		{"truncated rune reason", code(1000, "\xc3"), 0, "", ErrInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r, err := ParseClose(tt.payload)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseClose(% x) = %d, %q, %v; want %v", tt.payload, c, r, err, tt.wantErr)
				}
				return
			}
			if err != nil || c != tt.wantCode || r != tt.wantReason {
				t.Fatalf("ParseClose(% x) = %d, %q, %v; want %d, %q", tt.payload, c, r, err, tt.wantCode, tt.wantReason)
			}
		})
	}
}

func TestCloseCode(t *testing.T) {
	tests := []struct {
		err  error
		want uint16
	}{
		{ErrProtocol, CloseProtocolError},
		{fmt.Errorf("%w: x", ErrProtocol), CloseProtocolError},
		{ErrTooLarge, CloseTooBig},
		{fmt.Errorf("%w: more than 5 bytes", ErrTooLarge), CloseTooBig},
		{ErrInvalidUTF8, CloseInvalidData},
		{fmt.Errorf("wrapped: %w", ErrInvalidUTF8), CloseInvalidData},
		{io.ErrUnexpectedEOF, CloseProtocolError},
		{errors.New("other"), CloseProtocolError},
	}
	for _, tt := range tests {
		if got := CloseCode(tt.err); got != tt.want {
			t.Errorf("CloseCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	// The decoder's own errors map to the right codes.
	for _, tc := range []struct {
		d    Decoder
		data []byte
		want uint16
	}{
		{Decoder{Server: true}, cf(fin|opTxt, "x"), CloseProtocolError},
		{Decoder{Server: true, MaxMessage: 1}, sf(fin|opBin, "xx"), CloseTooBig},
		{Decoder{Server: true}, sf(fin|opTxt, "\xff"), CloseInvalidData},
	} {
		_, err := feed(&tc.d, tc.data)
		if err == nil || CloseCode(err) != tc.want {
			t.Errorf("decoding % x: error %v, close code %d; want %d", tc.data, err, CloseCode(err), tc.want)
		}
	}
}

func TestMask(t *testing.T) {
	key := [4]byte{0xa1, 0xb2, 0xc3, 0xd4}
	naive := func(b []byte, pos int) []byte {
		out := bytes.Clone(b)
		for i := range out {
			out[i] ^= key[(pos+i)%4]
		}
		return out
	}
	for pos := range 8 {
		for n := range 21 {
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(i*31 + 5)
			}
			// Mask the middle of a larger buffer: the bytes around it must not change.
			buf := append(append([]byte{0xee, 0xee}, src...), 0xee, 0xee)
			Mask(buf[2:2+n], key, pos)
			if want := naive(src, pos); !bytes.Equal(buf[2:2+n], want) {
				t.Fatalf("Mask(%d bytes, pos %d) = % x, want % x", n, pos, buf[2:2+n], want)
			}
			if buf[0] != 0xee || buf[1] != 0xee || buf[n+2] != 0xee || buf[n+3] != 0xee {
				t.Fatalf("Mask(%d bytes, pos %d) wrote outside its slice: % x", n, pos, buf)
			}
			Mask(buf[2:2+n], key, pos)
			if !bytes.Equal(buf[2:2+n], src) {
				t.Fatalf("Mask twice (%d bytes, pos %d) is not the identity", n, pos)
			}
			// Masking in two pieces, the second at its position in the payload, is masking the whole.
			for cut := 0; cut <= n; cut++ {
				b := bytes.Clone(src)
				Mask(b[:cut], key, pos)
				Mask(b[cut:], key, pos+cut)
				if want := naive(src, pos); !bytes.Equal(b, want) {
					t.Fatalf("Mask in two at %d (%d bytes, pos %d) = % x, want % x", cut, n, pos, b, want)
				}
			}
		}
	}
	Mask(nil, key, 3) // no panic
}

// ---------------------------------------------------------------------------------------------------------------
// Decoder.

func TestDecoderValid(t *testing.T) {
	big := strings.Repeat("0123456789", 7000) // 70000 bytes: 64-bit length
	mid := strings.Repeat("m", 300)           // 16-bit length
	tests := []struct {
		name   string
		server bool
		max    int64
		data   []byte
		want   []msg
	}{
		{"text", true, 0, sf(fin|opTxt, "hello"), []msg{{OpText, "hello"}}},
		{"client text", false, 0, cf(fin|opTxt, "hello"), []msg{{OpText, "hello"}}},
		{"empty text", true, 0, sf(fin|opTxt, ""), []msg{{OpText, ""}}},
		{"binary invalid utf-8", true, 0, sf(fin|opBin, "\xff\x00\xfe"), []msg{{OpBinary, "\xff\x00\xfe"}}},
		{"16-bit length", true, 0, sf(fin|opBin, mid), []msg{{OpBinary, mid}}},
		{"64-bit length", false, 0, cf(fin|opTxt, big), []msg{{OpText, big}}},
		{"several frames", true, 0, cat(
			sf(fin|opPng, "p1"), sf(fin|opTxt, "one"), sf(fin|opBin, "\x00two"), sf(fin|opPog, ""),
			sf(fin|opTxt, "three"), sf(fin|opCls, "\x03\xe8bye"),
		), []msg{{OpPing, "p1"}, {OpText, "one"}, {OpBinary, "\x00two"}, {OpPong, ""}, {OpText, "three"}, {OpClose, "\x03\xe8bye"}}},
		{"fragmented text", true, 0, cat(sf(opTxt, "hel"), sf(opCnt, "lo "), sf(fin|opCnt, "world")),
			[]msg{{OpText, "hello world"}}},
		{"fragmented binary with ping and pong", true, 0, cat(
			sf(opBin, "ab"), sf(fin|opPng, "ping!"), sf(opCnt, "cd"), sf(fin|opPog, "pong"), sf(fin|opCnt, "ef"),
			sf(fin|opTxt, "after"),
		), []msg{{OpPing, "ping!"}, {OpPong, "pong"}, {OpBinary, "abcdef"}, {OpText, "after"}}},
		{"fragmented with close inside", false, 0, cat(cf(opTxt, "a"), cf(fin|opCls, "\x03\xe8"), cf(fin|opCnt, "b")),
			[]msg{{OpClose, "\x03\xe8"}, {OpText, "ab"}}},
		{"empty fragments", true, 0, cat(sf(opTxt, ""), sf(opCnt, ""), sf(fin|opCnt, "")), []msg{{OpText, ""}}},
		{"empty first fragment", true, 0, cat(sf(opBin, ""), sf(fin|opCnt, "x")), []msg{{OpBinary, "x"}}},
		{"rune split across fragments", true, 0, cat(sf(opTxt, "h\xe2"), sf(opCnt, "\x82"), sf(fin|opCnt, "\xac!")),
			[]msg{{OpText, "h€!"}}},
		{"two fragmented messages", true, 0, cat(sf(opTxt, "a"), sf(fin|opCnt, "b"), sf(opBin, "c"), sf(fin|opCnt, "d")),
			[]msg{{OpText, "ab"}, {OpBinary, "cd"}}},
		{"control frame of 125 bytes", true, 0, sf(fin|opPng, strings.Repeat("p", 125)), []msg{{OpPing, strings.Repeat("p", 125)}}},
		{"at the limit", true, 10, sf(fin|opBin, "0123456789"), []msg{{OpBinary, "0123456789"}}},
		{"fragments at the limit", true, 10, cat(sf(opTxt, "01234"), sf(fin|opCnt, "56789")), []msg{{OpText, "0123456789"}}},
		{"control frames do not count", true, 4, cat(sf(opTxt, "01"), sf(fin|opPng, "long ping payload"), sf(fin|opCnt, "23")),
			[]msg{{OpPing, "long ping payload"}, {OpText, "0123"}}},
		{"non-minimal length forms", true, 0, cat(
			[]byte{fin | opTxt, 0x80 | 126, 0, 2}, testKey[:], maskedBytes("ok"),
			[]byte{fin | opTxt, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 2}, testKey[:], maskedBytes("ko"),
		), []msg{{OpText, "ok"}, {OpText, "ko"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for how, chunks := range splits(tt.data) {
				if len(tt.data) > 5000 && how != "whole" && how != "by7" {
					continue // a byte at a time is quadratic for big frames
				}
				d := &Decoder{Server: tt.server, MaxMessage: tt.max}
				got, err := feed(d, chunks...)
				if err != nil || !sameMsgs(got, tt.want) {
					if len(tt.data) > 5000 {
						t.Fatalf("%s: got %d messages, %v", how, len(got), err)
					}
					t.Fatalf("%s: got %v, %v; want %v", how, got, err, tt.want)
				}
				if d.Buffered() != 0 || d.pending != nil || d.msg != nil || d.msgOp != 0 {
					t.Fatalf("%s: after complete messages, Buffered() = %d, pending cap %d, msg cap %d, msgOp %d",
						how, d.Buffered(), cap(d.pending), cap(d.msg), d.msgOp)
				}
			}
		})
	}
}

func maskedBytes(s string) []byte {
	b := []byte(s)
	for i := range b {
		b[i] ^= testKey[i%4]
	}
	return b
}

// TestDecoderWholeVsByteByByte feeds a long mixed stream whole and a byte at a time.
func TestDecoderWholeVsByteByByte(t *testing.T) {
	var stream []byte
	for i := range 40 {
		p := strings.Repeat(string(rune('a'+i%26)), i*7)
		switch i % 4 {
		case 0:
			stream = append(stream, sf(fin|opTxt, p)...)
		case 1:
			stream = append(stream, sf(fin|opBin, p)...)
		case 2:
			stream = append(stream, cat(sf(opTxt, p), sf(fin|opPng, "x"), sf(opCnt, "é"), sf(fin|opCnt, p))...)
		case 3:
			stream = append(stream, sf(fin|opPog, p[:min(len(p), 125)])...)
		}
	}
	whole, err := feed(&Decoder{Server: true}, stream)
	if err != nil || len(whole) != 50 {
		t.Fatalf("whole: %d messages, %v; want 50", len(whole), err)
	}
	var bytewise [][]byte
	for i := range stream {
		bytewise = append(bytewise, stream[i:i+1])
	}
	d := &Decoder{Server: true}
	one, err := feed(d, bytewise...)
	if err != nil || !sameMsgs(whole, one) {
		t.Fatalf("a byte at a time: %d messages, %v; differ from whole", len(one), err)
	}
	if d.Buffered() != 0 {
		t.Fatalf("Buffered() = %d", d.Buffered())
	}
}

func TestDecoderErrors(t *testing.T) {
	text := sf(fin|opTxt, "ok")
	tests := []struct {
		name    string
		server  bool
		max     int64
		data    []byte
		wantErr error
		before  []msg // handed over before the error
	}{
		{"unmasked client frame", true, 0, cf(fin|opTxt, "hi"), ErrProtocol, nil},
		{"unmasked client ping", true, 0, cf(fin|opPng, ""), ErrProtocol, nil},
		{"masked server frame", false, 0, sf(fin|opTxt, "hi"), ErrProtocol, nil},
		{"masked server close", false, 0, sf(fin|opCls, ""), ErrProtocol, nil},
		{"RSV1", true, 0, sf(fin|rsv1|opTxt, "hi"), ErrProtocol, nil},
		{"RSV2", true, 0, sf(fin|rsv2|opBin, "hi"), ErrProtocol, nil},
		{"RSV3", true, 0, sf(fin|rsv3|opTxt, "hi"), ErrProtocol, nil},
		{"RSV on a control frame", true, 0, sf(fin|rsv1|opPng, ""), ErrProtocol, nil},
		{"RSV on a continuation", true, 0, cat(sf(opTxt, "a"), sf(fin|rsv1|opCnt, "b")), ErrProtocol, nil},
		{"opcode 3", true, 0, sf(fin|0x3, "x"), ErrProtocol, nil},
		{"opcode 7", true, 0, sf(fin|0x7, ""), ErrProtocol, nil},
		{"opcode 0xB", true, 0, sf(fin|0xB, "x"), ErrProtocol, nil},
		{"opcode 0xF", false, 0, cf(fin|0xF, ""), ErrProtocol, nil},
		{"fragmented ping", true, 0, sf(opPng, "x"), ErrProtocol, nil},
		{"fragmented close", true, 0, sf(opCls, ""), ErrProtocol, nil},
		{"ping of 126 bytes", true, 0, sf(fin|opPng, strings.Repeat("p", 126)), ErrProtocol, nil},
		{"close of 200 bytes", false, 0, cf(fin|opCls, strings.Repeat("c", 200)), ErrProtocol, nil},
		{"continuation with no start", true, 0, sf(fin|opCnt, "x"), ErrProtocol, nil},
		{"non-final continuation with no start", true, 0, sf(opCnt, "x"), ErrProtocol, nil},
		{"continuation after a complete message", true, 0, cat(text, sf(fin|opCnt, "x")), ErrProtocol, []msg{{OpText, "ok"}}},
		{"text during a fragmented text", true, 0, cat(sf(opTxt, "a"), sf(fin|opTxt, "b")), ErrProtocol, nil},
		{"binary during a fragmented text", true, 0, cat(sf(opTxt, "a"), sf(fin|opBin, "b")), ErrProtocol, nil},
		{"non-final text during a fragmented binary", true, 0, cat(sf(opBin, "a"), sf(fin|opPng, ""), sf(opTxt, "b")), ErrProtocol, []msg{{OpPing, ""}}},
		{"64-bit length with the top bit set", true, 0, cat([]byte{fin | opBin, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1}, testKey[:]), ErrProtocol, nil},
		{"64-bit length all ones", false, 0, []byte{fin | opBin, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ErrProtocol, nil},
		{"invalid text", true, 0, sf(fin|opTxt, "ab\xffcd"), ErrInvalidUTF8, nil},
		{"truncated rune in text", true, 0, sf(fin|opTxt, "ab\xe2\x82"), ErrInvalidUTF8, nil},
		{"surrogate in text", true, 0, sf(fin|opTxt, "\xed\xa0\x80"), ErrInvalidUTF8, nil},
		{"invalid text after a valid one", true, 0, cat(text, sf(fin|opTxt, "\xc0\xaf")), ErrInvalidUTF8, []msg{{OpText, "ok"}}},
		{"fragmented text ending in a cut rune", true, 0, cat(sf(opTxt, "abc"), sf(fin|opCnt, "d\xe2\x82")), ErrInvalidUTF8, nil},
		{"fragmented text, cut rune not continued", true, 0, cat(sf(opTxt, "a\xc3"), sf(fin|opCnt, "(b")), ErrInvalidUTF8, nil},
		{"fragmented text, invalid in a middle fragment", true, 0, cat(sf(opTxt, "a"), sf(opCnt, "\xff"), sf(fin|opCnt, "b")), ErrInvalidUTF8, nil},
		{"too large", true, 4, sf(fin|opBin, "01234"), ErrTooLarge, nil},
		{"too large text", true, 4, sf(fin|opTxt, "01234"), ErrTooLarge, nil},
		{"too large across fragments", true, 10, cat(sf(opBin, "01234"), sf(opCnt, "5678"), sf(fin|opCnt, "90")), ErrTooLarge, nil},
		{"too large across fragments with ping", true, 10, cat(sf(opTxt, "0123456"), sf(fin|opPng, "p"), sf(fin|opCnt, "7890")), ErrTooLarge, []msg{{OpPing, "p"}}},
		{"too large after a message at the limit", true, 3, cat(sf(fin|opTxt, "abc"), sf(fin|opTxt, "abcd")), ErrTooLarge, []msg{{OpText, "abc"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for how, chunks := range splits(tt.data) {
				d := &Decoder{Server: tt.server, MaxMessage: tt.max}
				got, err := feed(d, chunks...)
				if !errors.Is(err, tt.wantErr) || !sameMsgs(got, tt.before) {
					t.Fatalf("%s: got %v, %v; want %v, %v", how, got, err, tt.before, tt.wantErr)
				}
				// The error sticks, whatever comes next, and nothing more is handed over.
				for _, next := range [][]byte{text, nil, cf(fin|opTxt, "ok"), {0x81}} {
					called := false
					err2 := d.Feed(bytes.Clone(next), func(Opcode, []byte) error { called = true; return nil })
					if err2 != err || called {
						t.Fatalf("%s: Feed(% x) after %v = %v (handler called %v); want the same error", how, next, err, err2, called)
					}
				}
				if d.Buffered() != 0 {
					t.Fatalf("%s: Buffered() = %d after an error", how, d.Buffered())
				}
			}
		})
	}
}

// TestDecoderErrorBeforePayload checks that errors that the header shows are reported from the header alone,
// without waiting for (and buffering) the payload.
func TestDecoderErrorBeforePayload(t *testing.T) {
	tests := []struct {
		name    string
		server  bool
		max     int64
		first   []byte // fed before the header
		header  []byte
		wantErr error
	}{
		{"7-bit length over the limit", true, 100, nil, []byte{fin | opBin, 0x80 | 101}, ErrTooLarge},
		{"16-bit length over the limit", true, 1000, nil, []byte{fin | opTxt, 0x80 | 126, 0x03, 0xe9}, ErrTooLarge},
		{"64-bit length over the limit", true, 1 << 20, nil, []byte{fin | opBin, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0}, ErrTooLarge},
		{"64-bit length, client side", false, 1 << 20, nil, []byte{fin | opBin, 127, 0, 0, 0, 0, 0, 0x10, 0, 1}, ErrTooLarge},
		{"continuation over the limit", true, 100, sf(opBin, strings.Repeat("x", 60)), []byte{fin | opCnt, 0x80 | 41}, ErrTooLarge},
		{"huge continuation", true, 100, sf(opBin, strings.Repeat("x", 60)), []byte{fin | opCnt, 0x80 | 127, 0, 0, 1, 0, 0, 0, 0, 0}, ErrTooLarge},
		{"RSV", true, 0, nil, []byte{fin | rsv1 | opBin, 0x80 | 100}, ErrProtocol},
		{"unmasked", true, 0, nil, []byte{fin | opBin, 100}, ErrProtocol},
		{"long ping", true, 0, nil, []byte{fin | opPng, 0x80 | 126, 0, 126}, ErrProtocol},
		{"top bit", true, 0, nil, []byte{fin | opBin, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Decoder{Server: tt.server, MaxMessage: tt.max}
			if got, err := feed(d, tt.first); err != nil || len(got) != 0 {
				t.Fatalf("first fragment: %v, %v", got, err)
			}
			// The header a byte at a time: no error before it is complete, the error as soon as it is.
			for i := range tt.header {
				_, err := feed(d, tt.header[i:i+1])
				if i < len(tt.header)-1 && err != nil {
					t.Fatalf("error %v with %d of the %d header bytes", err, i+1, len(tt.header))
				}
				if i == len(tt.header)-1 && !errors.Is(err, tt.wantErr) {
					t.Fatalf("with the whole header: error %v, want %v (Buffered() = %d)", err, tt.wantErr, d.Buffered())
				}
			}
		})
	}
}

// TestDecoderMaxMessageLengthOverflow: a continuation frame whose 64-bit length is close to the int64 maximum must
// be refused as too large. len(fragments so far) + length must not overflow into a negative number that passes
// the limit, which would make the decoder wait for (and buffer) exabytes.
func TestDecoderMaxMessageLengthOverflow(t *testing.T) {
	d := &Decoder{Server: true, MaxMessage: 100}
	hdr := []byte{fin | opCnt, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	_, err := feed(d, sf(opBin, "x"), hdr, testKey[:], make([]byte, 1000))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("fragment of 1 byte then a continuation of 2^63-1 bytes, MaxMessage 100: error %v, Buffered() = %d; want ErrTooLarge",
			err, d.Buffered())
	}
}

func TestDecoderHandlerError(t *testing.T) {
	stop := errors.New("stop")
	d := &Decoder{Server: true}
	var got []string
	h := func(op Opcode, p []byte) error {
		got = append(got, string(p))
		if string(p) == "two" {
			return stop
		}
		return nil
	}
	data := cat(sf(fin|opTxt, "one"), sf(fin|opTxt, "two"), sf(fin|opTxt, "three"))
	if err := d.Feed(data, h); err != stop {
		t.Fatalf("Feed = %v, want the handler's error", err)
	}
	if strings.Join(got, ",") != "one,two" {
		t.Fatalf("handled %q, want one,two", got)
	}
	if err := d.Feed(sf(fin|opTxt, "four"), h); err != stop || len(got) != 2 {
		t.Fatalf("Feed after the handler's error = %v (handled %q), want the same error", err, got)
	}
}

// TestDecoderBuffered checks what the decoder holds between Feed calls, and that an idle decoder holds nothing.
func TestDecoderBuffered(t *testing.T) {
	d := &Decoder{Server: true}
	h := func(Opcode, []byte) error { return nil }
	step := func(data []byte, want int) {
		t.Helper()
		if err := d.Feed(bytes.Clone(data), h); err != nil {
			t.Fatalf("Feed: %v", err)
		}
		if got := d.Buffered(); got != want {
			t.Fatalf("Buffered() = %d, want %d", got, want)
		}
		if want == 0 && (d.pending != nil || d.msg != nil) {
			t.Fatalf("idle decoder keeps buffers: pending cap %d, msg cap %d", cap(d.pending), cap(d.msg))
		}
	}
	step(nil, 0)
	big := sf(fin|opBin, strings.Repeat("b", 100000))
	step(big[:1], 1)
	step(big[1:50000], 50000)
	step(big[50000:], 0)
	frag := sf(opTxt, "01234567") // 14 bytes
	step(frag[:5], 5)
	step(frag[5:], 8) // the fragment's payload
	ping := sf(fin|opPng, "ping")
	step(ping, 8)
	last := sf(fin|opCnt, "89")
	step(last[:3], 8+3)
	step(last[3:], 0)
	// A complete frame followed by part of the next: only the part is kept.
	step(cat(sf(fin|opTxt, "a"), sf(fin|opTxt, "bcd")[:4]), 4)
	step(sf(fin|opTxt, "bcd")[4:], 0)

	// After a big frame arrived in pieces, the decoder does not keep its big buffer.
	d2 := &Decoder{Server: true}
	data := cat(sf(fin|opBin, strings.Repeat("z", 1<<20)), sf(fin|opTxt, "tail")[:3])
	var n int
	for i := 0; i < len(data); i += 4096 {
		if err := d2.Feed(bytes.Clone(data[i:min(i+4096, len(data))]), func(op Opcode, p []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 || d2.Buffered() != 3 {
		t.Fatalf("%d messages, Buffered() = %d; want 1, 3", n, d2.Buffered())
	}
	if cap(d2.pending) > 64<<10 {
		t.Errorf("3 bytes pending in a buffer of capacity %d", cap(d2.pending))
	}
}

// TestDecoderPayloadAliasesInput: the handler's payload may be the caller's buffer, unmasked.
func TestDecoderPayloadAliasesInput(t *testing.T) {
	d := &Decoder{Server: true}
	data := sf(fin|opBin, "abcdef")
	var p []byte
	if err := d.Feed(data, func(_ Opcode, b []byte) error { p = b; return nil }); err != nil {
		t.Fatal(err)
	}
	if string(p) != "abcdef" || &p[0] != &data[6] {
		t.Fatalf("payload %q is not the unmasked input", p)
	}
}

// ---------------------------------------------------------------------------------------------------------------
// A real connection.

// wsServer starts an HTTP server whose handler accepts WebSockets and echoes every data message until a close
// frame, which it answers. It reports each accepted connection's early bytes.
func wsServer(t *testing.T) (*httptest.Server, <-chan []byte) {
	earlyc := make(chan []byte, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, early, err := Accept(w, r)
		if err != nil {
			return
		}
		defer nc.Close()
		earlyc <- bytes.Clone(early)
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		d := &Decoder{Server: true, MaxMessage: 1 << 20}
		var out []byte
		closed := false
		h := func(op Opcode, p []byte) error {
			switch op {
			case OpText, OpBinary:
				out = AppendFrame(out, op, p)
			case OpPing:
				out = AppendFrame(out, OpPong, p)
			case OpClose:
				code, _, err := ParseClose(p)
				if err != nil {
					return err
				}
				out = AppendClose(out, code, "")
				closed = true
			}
			return nil
		}
		buf := make([]byte, 1500) // small: big messages arrive in many reads
		data := early
		for {
			if err := d.Feed(data, h); err != nil {
				_, _ = nc.Write(AppendClose(nil, CloseCode(err), err.Error()))
				return
			}
			if len(out) > 0 {
				if _, err := nc.Write(out); err != nil {
					return
				}
				out = out[:0]
			}
			if closed {
				return
			}
			n, err := nc.Read(buf)
			if err != nil {
				return
			}
			data = buf[:n]
		}
	}))
	t.Cleanup(srv.Close)
	return srv, earlyc
}

func handshakeRequest(host, key string) []byte {
	return []byte("GET /ws HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
}

// dialWS opens a connection and sends the handshake followed at once by extra, in one write.
func dialWS(t *testing.T, srv *httptest.Server, extra []byte) (net.Conn, *bufio.Reader, []byte) {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	key := NewKey()
	if _, err := nc.Write(cat(handshakeRequest(srv.Listener.Addr().String(), key), extra)); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/ws", nil)
	br := bufio.NewReader(nc)
	early, err := ReadResponse(br, req, key)
	if err != nil {
		t.Fatalf("ReadResponse: %v", err)
	}
	return nc, br, early
}

// readMsgs decodes messages from the server until n have come.
func readMsgs(t *testing.T, br *bufio.Reader, early []byte, n int) []msg {
	t.Helper()
	d := &Decoder{}
	var got []msg
	h := func(op Opcode, p []byte) error { got = append(got, msg{op, string(p)}); return nil }
	if err := d.Feed(early, h); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for len(got) < n {
		k, err := br.Read(buf)
		if err != nil {
			t.Fatalf("reading after %d of %d messages: %v", len(got), n, err)
		}
		if err := d.Feed(buf[:k], h); err != nil {
			t.Fatal(err)
		}
	}
	if d.Buffered() != 0 {
		t.Fatalf("%d bytes left after %d messages", d.Buffered(), n)
	}
	return got
}

func TestRoundTrip(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	srv, earlyc := wsServer(t)
	nc, br, early := dialWS(t, srv, nil)
	if e := <-earlyc; len(e) != 0 {
		t.Fatalf("server got early bytes %q with none sent", e)
	}
	if len(early) != 0 {
		t.Fatalf("client got early bytes %q", early)
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80000 bytes: 64-bit length, many reads
	var out []byte
	out = AppendMaskedFrame(out, OpText, []byte("hello"), [4]byte{1, 2, 3, 4})
	out = AppendMaskedFrame(out, OpPing, []byte("are you there"), [4]byte{9, 8, 7, 6})
	out = AppendMaskedFrame(out, OpBinary, big, [4]byte{0xde, 0xad, 0xbe, 0xef})
	out = AppendMaskedFrame(out, OpText, []byte(strings.Repeat("é", 200)), [4]byte{0, 0, 0, 0})
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}
	got := readMsgs(t, br, nil, 4)
	want := []msg{{OpText, "hello"}, {OpPong, "are you there"}, {OpBinary, string(big)}, {OpText, strings.Repeat("é", 200)}}
	if !sameMsgs(got, want) {
		t.Fatalf("echoed %d messages, differing from the %d sent", len(got), len(want))
	}

	// A protocol error: the server answers with a close frame carrying 1002.
	if _, err := nc.Write(cf(fin|opTxt, "unmasked")); err != nil {
		t.Fatal(err)
	}
	got = readMsgs(t, br, nil, 1)
	code, _, err := ParseClose([]byte(got[0].p))
	if got[0].op != OpClose || err != nil || code != CloseProtocolError {
		t.Fatalf("after an unmasked frame the server sent %v (code %d, %v), want a close with 1002", got[0], code, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the close, read %v; want EOF", err)
	}
}

// TestRoundTripEarlyBytes sends frames in the same write as the handshake request: the HTTP server has read them
// with the request, and Accept must return them.
func TestRoundTripEarlyBytes(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	srv, earlyc := wsServer(t)
	extra := cat(
		AppendMaskedFrame(nil, OpText, []byte("early one"), [4]byte{5, 6, 7, 8}),
		AppendMaskedFrame(nil, OpBinary, []byte{0, 1, 2}, [4]byte{0x10, 0x20, 0x30, 0x40}),
		AppendMaskedFrame(nil, OpClose, binary.BigEndian.AppendUint16(nil, CloseNormal), [4]byte{1, 1, 1, 1}),
	)
	_, br, early := dialWS(t, srv, extra)
	if e := <-earlyc; !bytes.Equal(e, extra) {
		t.Fatalf("Accept returned early bytes % x, want % x", e, extra)
	}
	got := readMsgs(t, br, early, 3)
	want := []msg{{OpText, "early one"}, {OpBinary, "\x00\x01\x02"}, {OpClose, "\x03\xe8"}}
	if !sameMsgs(got, want) {
		t.Fatalf("echoed %v, want %v", got, want)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the close, read %v; want EOF", err)
	}
}

// TestRoundTripRefused sends a handshake with the wrong version to a real server.
func TestRoundTripRefused(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	srv, _ := wsServer(t)
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	key := NewKey()
	req := strings.Replace(string(handshakeRequest("x", key)), "Version: 13", "Version: 8", 1)
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	hreq, _ := http.NewRequest("GET", srv.URL+"/ws", nil)
	br := bufio.NewReader(nc)
	_, err = ReadResponse(br, hreq, key)
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusUpgradeRequired {
		t.Fatalf("ReadResponse = %v, want a *HandshakeError with status 426", err)
	}
}

// ---------------------------------------------------------------------------------------------------------------
// Fuzzing.

type fuzzMsg struct {
	op Opcode
	p  string
}

func fuzzDecode(d *Decoder, pieces ...[]byte) ([]fuzzMsg, error) {
	var got []fuzzMsg
	h := func(op Opcode, p []byte) error {
		got = append(got, fuzzMsg{op, string(p)})
		return nil
	}
	for _, p := range pieces {
		if err := d.Feed(p, h); err != nil {
			return got, err
		}
	}
	return got, nil
}

func FuzzDecoder(f *testing.F) {
	k := [4]byte{1, 2, 3, 4}
	f.Add(AppendMaskedFrame(nil, OpText, []byte("hello"), k), uint16(3))
	f.Add(cat(AppendMaskedFrame(nil, OpPing, []byte("p"), k), AppendMaskedFrame(nil, OpBinary, make([]byte, 300), k)), uint16(9))
	f.Add(cat(sf(opTxt, "frag"), sf(fin|opPog, ""), sf(fin|opCnt, "ment é")), uint16(12))
	f.Add(AppendMaskedFrame(nil, OpClose, []byte{0x03, 0xe8, 'b', 'y', 'e'}, k), uint16(1))
	f.Add(cat([]byte{fin | opBin, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0}, k[:]), uint16(5))
	f.Add(sf(fin|opTxt, "\xff"), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, at uint16) {
		const max = 1 << 16
		cut := int(at) % (len(data) + 1)

		whole := &Decoder{Server: true, MaxMessage: max}
		want, werr := fuzzDecode(whole, bytes.Clone(data))

		split := &Decoder{Server: true, MaxMessage: max}
		c := bytes.Clone(data)
		got, gerr := fuzzDecode(split, c[:cut], c[cut:])

		if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
			t.Fatalf("whole: error %v; split at %d: error %v", werr, cut, gerr)
		}
		if len(want) != len(got) {
			t.Fatalf("whole: %d messages; split at %d: %d", len(want), cut, len(got))
		}
		for i := range want {
			if want[i] != got[i] {
				t.Fatalf("message %d: whole %#x %q; split at %d: %#x %q", i, byte(want[i].op), want[i].p, cut, byte(got[i].op), got[i].p)
			}
		}
		if werr == nil && whole.Buffered() != split.Buffered() {
			t.Fatalf("Buffered(): whole %d, split %d", whole.Buffered(), split.Buffered())
		}
		for _, m := range want {
			switch m.op {
			case OpText:
				if !utf8.ValidString(m.p) {
					t.Fatalf("invalid UTF-8 text handed over: %q", m.p)
				}
				fallthrough
			case OpBinary:
				if len(m.p) > max {
					t.Fatalf("message of %d bytes, above MaxMessage", len(m.p))
				}
			case OpClose, OpPing, OpPong:
				if len(m.p) > 125 {
					t.Fatalf("control frame of %d bytes", len(m.p))
				}
			default:
				t.Fatalf("opcode %#x handed over", byte(m.op))
			}
		}
		// Once failed, a decoder stays failed.
		if werr != nil {
			if err := whole.Feed(sf(fin|opTxt, "x"), func(Opcode, []byte) error { t.Fatal("handler called after an error"); return nil }); err != werr {
				t.Fatalf("Feed after %v = %v", werr, err)
			}
		}
	})
}
