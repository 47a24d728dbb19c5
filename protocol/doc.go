// Package protocol is the one place where the wire format of the Socket.IO
// Redis adapters is written down: channel and stream names, message layouts
// for the classic, sharded, streams and legacy adapters, and the encoding of
// event arguments as msgpack (byte-compatible with notepack.io 3, the codec
// of the Node adapters) or as JSON (byte-compatible with JSON.stringify).
//
// Event arguments are ordinary Go values encoded with encoding/json's rules
// (struct tags, omitempty, omitzero, ",string", embedded structs,
// json.Marshaler, encoding.TextMarshaler, sorted map keys), with two
// differences that match what a JavaScript server would send: []byte is
// binary, and time.Time is the string a JavaScript Date serialises to
// ("2017-12-19T14:00:00.000Z").
//
// The functions of this package are safe for concurrent use.
package protocol
