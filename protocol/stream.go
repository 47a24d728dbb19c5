package protocol

import (
	"encoding/base64"
	"strconv"

	"github.com/sioredis/sioredis/jsvalue"
)

// The entries and sessions of the streams adapter (@socket.io/redis-streams-adapter). DecodeStreamEntry reads
// entries; StreamKey names the stream.

// StreamEntry returns the fields of a stream entry in the adapter's order: uid, nsp, type (decimal) and, unless
// data is empty, data (from StreamData).
func StreamEntry(uid, nsp string, typ int, data string) []string {
	if data == "" {
		return []string{"uid", uid, "nsp", nsp, "type", strconv.Itoa(typ)}
	}
	return []string{"uid", uid, "nsp", nsp, "type", strconv.Itoa(typ), "data", data}
}

// StreamData returns the data field of an entry for a body written as JSON or msgpack: JSON as it is, msgpack as
// base64 (the adapter tells them apart by a leading "{").
func StreamData(body []byte) string {
	if len(body) == 0 || body[0] == '{' {
		return string(body)
	}
	return base64.StdEncoding.EncodeToString(body)
}

// StreamEntryHasNamespace reports whether decoded entry fields name a namespace: the adapter's servers skip the
// entries that do not (DecodeStreamEntry refuses them).
func StreamEntryHasNamespace(fields map[string]any) bool {
	_, ok := fields["nsp"]
	return ok
}

// StreamEntryData returns the data field of decoded entry fields, "" when absent.
func StreamEntryData(fields map[string]any) string {
	switch v := fields["data"].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// StreamSession is a socket's session as the streams adapter keeps it for connection state recovery.
type StreamSession struct {
	SID   string
	PID   string
	Rooms []string
	Data  any // decoded: JavaScript values as jsvalue.DecodeMsgpack returns them
}

// AppendStreamSession returns the value of a session key: base64 of the msgpack of {sid, pid, rooms, data}, as
// the adapter's persistSession writes it.
func AppendStreamSession(s StreamSession) (string, error) {
	body, err := jsvalue.AppendMsgpack(nil, jsvalue.Object{
		{Key: "sid", Value: s.SID}, {Key: "pid", Value: s.PID}, {Key: "rooms", Value: s.Rooms}, {Key: "data", Value: s.Data},
	})
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(body), nil
}

// DecodeStreamSession decodes the value of a session key. Errors wrap ErrMalformed.
func DecodeStreamSession(value string) (StreamSession, error) {
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return StreamSession{}, errorf(ErrMalformed, "session: %v", err)
	}
	v, err := jsvalue.DecodeMsgpack(b)
	if err != nil {
		return StreamSession{}, err
	}
	fields, ok := v.(map[string]any)
	if !ok {
		return StreamSession{}, errorf(ErrMalformed, "session: want a map, got %s", describe(v))
	}
	s := StreamSession{Data: fields["data"]}
	s.SID, _ = fields["sid"].(string)
	s.PID, _ = fields["pid"].(string)
	rooms, _ := fields["rooms"].([]any)
	for _, r := range rooms {
		if str, ok := r.(string); ok {
			s.Rooms = append(s.Rooms, str)
		}
	}
	if s.SID == "" {
		return StreamSession{}, errorf(ErrMalformed, "session without a sid")
	}
	return s, nil
}
