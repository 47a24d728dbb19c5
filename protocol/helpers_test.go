package protocol

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// unhex decodes a hex dump with spaces (the form of the protocol notes).
func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// decodeOne decodes exactly one msgpack value with an independent decoder
// and fails on trailing bytes, as notepack.io does.
func decodeOne(t *testing.T, b []byte) any {
	t.Helper()
	r := bytes.NewReader(b)
	var v any
	if err := msgpack.NewDecoder(r).Decode(&v); err != nil {
		t.Fatalf("independent decoder rejects our output %x: %v", b, err)
	}
	if r.Len() != 0 {
		t.Fatalf("%d trailing bytes after the message", r.Len())
	}
	return v
}
