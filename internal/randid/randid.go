// Package randid makes the random identifiers of the server side: Engine.IO session ids, Socket.IO socket ids,
// adapter and request ids. Safe for concurrent use.
package randid

import (
	"crypto/rand"
	"encoding/base64"
)

// New returns 20 URL-safe characters (120 random bits), the length of the reference server's ids.
func New() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	var s [20]byte
	base64.RawURLEncoding.Encode(s[:], b[:])
	return string(s[:])
}
