package protocol

import "strconv"

// The payload of the Socket.IO packets a server sends to its clients: the
// JSON array of an EVENT ([event, ...args]) or an ACK ([...args]), written
// by the same writer as the Redis messages of this package, so that an
// argument means the same thing whether a server sends it to its own clients
// or an emitter publishes it through Redis: []byte anywhere is binary and
// time.Time is the string of a JavaScript Date. The JSON is what
// JSON.stringify writes, except that binary values are replaced, as the
// Socket.IO parser replaces them, by {"_placeholder":true,"num":N}, N
// counting the packet's binary attachments from 0 in the order they appear.

// MaxClientAttachments is the most binary attachments the parser of
// socket.io-client 4 accepts in one packet by default (its maxAttachments
// option); a client receiving a packet with more closes its connection with
// a parse error.
const MaxClientAttachments = 10

// AppendEventData appends to dst the JSON payload of an EVENT packet,
// [event, ...args], with every []byte value (an argument or any value inside
// one, struct fields included) written as a binary placeholder and appended to
// attachments, in order; a nil []byte is null, as in encoding/json. The event
// name is checked with ValidateEvent. The attachments alias the caller's
// slices: they must not change until the packet has been sent.
//
// The arguments follow the rules of the package documentation. On error dst
// and attachments are returned unchanged in length; errors wrap
// ErrInvalidEvent, ErrReservedEvent or ErrUnsupportedValue.
func AppendEventData(dst []byte, event string, args []any, attachments [][]byte) ([]byte, [][]byte, error) {
	if err := ValidateEvent(event); err != nil {
		return dst, attachments, err
	}
	w := writer{buf: dst, json: true, placeholders: true, attachments: attachments}
	if err := w.eventData(event, args); err != nil {
		return dst, attachments, err
	}
	return w.buf, w.attachments, nil
}

// AppendAckData appends to dst the JSON payload of an ACK packet, the array
// of args, with binary values handled as AppendEventData does. On error dst
// and attachments are returned unchanged in length; errors wrap
// ErrUnsupportedValue.
func AppendAckData(dst []byte, args []any, attachments [][]byte) ([]byte, [][]byte, error) {
	w := writer{buf: dst, json: true, placeholders: true, attachments: attachments}
	w.beginArray(len(args))
	for _, a := range args {
		if err := w.value(a, 1); err != nil {
			return dst, attachments, err
		}
	}
	w.endArray()
	return w.buf, w.attachments, nil
}

// placeholder writes the placeholder of the next attachment, with the key
// order of socket.io-parser ({ _placeholder: true, num }).
func (w *writer) placeholder(p []byte) {
	w.sep()
	w.buf = append(w.buf, `{"_placeholder":true,"num":`...)
	w.buf = strconv.AppendInt(w.buf, int64(w.binaries), 10)
	w.buf = append(w.buf, '}')
	w.needComma = true
	w.binaries++
	w.attachments = append(w.attachments, p)
}
