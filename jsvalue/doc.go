// Package jsvalue encodes Go values as the JavaScript values a Socket.IO
// peer sends, and decodes what such peers send: msgpack byte-compatible with
// notepack.io 3 (the codec of the Node Redis adapters and emitters), JSON
// byte-compatible with JSON.stringify, and socket.io-parser's JSON with
// binary placeholders.
//
// # The argument-encoding rule
//
// This is the rule every event argument of sioredis follows, whether the
// emitter publishes it through Redis, the server sends it to its clients or
// the client sends it to a server: a Go value is encoded with encoding/json's
// rules (struct tags, omitempty, omitzero, ",string", embedded structs,
// json.Marshaler, encoding.TextMarshaler, sorted map keys, a nil slice or map
// as null), with two differences that match what a JavaScript program would
// send:
//
//   - []byte, anywhere (an argument, a struct field, an element), is binary:
//     msgpack bin, or an attachment of a Socket.IO packet, which arrives as a
//     Buffer in Node and an ArrayBuffer in a browser. A nil []byte is null.
//   - time.Time is the string a JavaScript Date serialises to,
//     "2017-12-19T14:00:00.000Z" (UTC, milliseconds).
//
// Object keeps the key order of a JavaScript object; json.RawMessage and
// json.Number are written as the JSON text they hold. NaN and infinities,
// channels, functions, complex numbers and cyclic values are refused with
// ErrUnsupportedValue.
//
// The functions of this package are safe for concurrent use; a Writer is not.
package jsvalue
