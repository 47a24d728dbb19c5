package protocol

import (
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/jsvalue"
)

// decodeBody decodes a body that is JSON when it starts with "{" (the sniff
// of the Node adapters) and msgpack otherwise.
//
// Bodies are decoded once, with ordered objects: the values a message carries
// (Args, Data) keep their keys in wire order, as a JavaScript receiver sees
// them, and the fields of the envelope are read through asMap.
func decodeBody(b []byte) (any, Encoding, error) {
	if len(b) > 0 && b[0] == '{' {
		v, err := jsvalue.DecodeJSONOrdered(b)
		return v, EncodingJSON, err
	}
	v, err := jsvalue.DecodeMsgpackOrdered(b)
	return v, EncodingMsgpack, err
}

// asMap returns the fields of a decoded object (a jsvalue.Object, or a map
// from a caller's own decoding) as a map; the values are not converted.
func asMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case jsvalue.Object:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = e.Value
		}
		return m, true
	case map[string]any:
		return x, x != nil
	}
	return nil, false
}

// DecodeClassicBroadcast decodes the payload of a classic broadcast channel
// ("P#N#" or "P#N#R#"): the msgpack [uid, packet, opts] of the classic
// adapters and emitters, or the [packet, opts] of socket.io-redis 0.1. The
// Format is FormatLegacy when the message has the socket.io 2 shape (packet
// type 5, or opts without "except"). Nsp is the packet's nsp ("/" when it
// has none, as receivers assume).
func DecodeClassicBroadcast(payload []byte) (*Message, error) {
	v, err := jsvalue.DecodeMsgpackOrdered(payload)
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok || (len(arr) != 3 && len(arr) != 2) {
		return nil, errorf(ErrMalformed, "classic broadcast: want [uid, packet, opts], got %s", describe(v))
	}
	m := &Message{Format: FormatClassic, Encoding: EncodingMsgpack, Kind: KindBroadcast, Type: NoType}
	if len(arr) == 2 {
		m.Format = FormatLegacy
		arr = append([]any{nil}, arr...)
	} else if m.UID, err = stringField(arr[0], "uid"); err != nil {
		return nil, err
	}
	if err := m.setPacket(arr[1]); err != nil {
		return nil, err
	}
	opts, ok := asMap(arr[2])
	if !ok {
		return nil, errorf(ErrMalformed, "classic broadcast: opts is %s, not a map", describe(arr[2]))
	}
	if err := m.setOpts(opts); err != nil {
		return nil, err
	}
	if _, hasExcept := opts["except"]; !hasExcept || m.PacketType == siopacket.BinaryEvent {
		m.Format = FormatLegacy
	}
	return m, nil
}

// DecodeClassicRequest decodes the payload of a classic request channel
// ("P-request#N#"): JSON when it starts with "{", msgpack otherwise (as
// adapters ≥ 7.2 sniff it). Requests keyed "requestid" (socket.io-redis ≤ 5)
// are read with that version's request types and have FormatLegacy.
func DecodeClassicRequest(payload []byte) (*Message, error) {
	body, m, err := classicBody(payload, "request")
	if err != nil {
		return nil, err
	}
	typ, err := intField(body, "type", true)
	if err != nil {
		return nil, err
	}
	m.Type = typ
	if m.Format == FormatLegacy {
		if err := m.legacyRequest(body); err != nil {
			return nil, err
		}
		return m, nil
	}
	switch typ {
	case RequestSockets:
		m.Kind = KindSockets
		m.Rooms, err = stringsField(body, "rooms")
	case RequestAllRooms:
		m.Kind = KindAllRooms
	case RequestRemoteJoin, RequestRemoteLeave, RequestRemoteDisconnect:
		err = m.remoteRequest(body, typ)
	case RequestRemoteFetch:
		m.Kind = KindFetchSockets
		err = m.setOptsField(body)
	case RequestServerSideEmit:
		m.Kind = KindServerSideEmit
		err = m.setEventData(body["data"])
	case RequestBroadcast:
		m.Kind = KindBroadcastWithAck
		if err = m.setPacket(body["packet"]); err == nil {
			err = m.setOptsField(body)
		}
	default:
		m.Kind, m.Data = KindUnknown, body
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// remoteRequest reads REMOTE_JOIN, REMOTE_LEAVE and REMOTE_DISCONNECT,
// which have an opts form (emitters, servers ≥ 6.1) and a socket-id form.
func (m *Message) remoteRequest(body map[string]any, typ int) error {
	if _, ok := body["opts"]; ok {
		if err := m.setOptsField(body); err != nil {
			return err
		}
		switch typ {
		case RequestRemoteJoin, RequestRemoteLeave:
			m.Kind = KindSocketsJoin
			if typ == RequestRemoteLeave {
				m.Kind = KindSocketsLeave
			}
			var err error
			m.TargetRooms, err = stringsField(body, "rooms")
			return err
		default:
			m.Kind = KindDisconnectSockets
			return m.setClose(body)
		}
	}
	var err error
	if m.SID, err = optionalString(body, "sid"); err != nil {
		return err
	}
	switch typ {
	case RequestRemoteJoin, RequestRemoteLeave:
		m.Kind = KindRemoteJoin
		if typ == RequestRemoteLeave {
			m.Kind = KindRemoteLeave
		}
		m.Room, err = optionalString(body, "room")
		return err
	default:
		m.Kind = KindRemoteDisconnect
		return m.setClose(body)
	}
}

// Request types of socket.io-redis ≤ 5 (key "requestid").
const (
	legacyClients          = 0
	legacyClientRooms      = 1
	legacyAllRooms         = 2
	legacyRemoteJoin       = 3
	legacyRemoteLeave      = 4
	legacyCustomRequest    = 5
	legacyRemoteDisconnect = 6
)

func (m *Message) legacyRequest(body map[string]any) error {
	var err error
	switch m.Type {
	case legacyClients:
		m.Kind = KindSockets
		m.Rooms, err = stringsField(body, "rooms")
	case legacyClientRooms:
		m.Kind = KindClientRooms
		m.SID, err = optionalString(body, "sid")
	case legacyAllRooms:
		m.Kind = KindAllRooms
	case legacyRemoteJoin, legacyRemoteLeave:
		m.Kind = KindRemoteJoin
		if m.Type == legacyRemoteLeave {
			m.Kind = KindRemoteLeave
		}
		if m.SID, err = optionalString(body, "sid"); err == nil {
			m.Room, err = optionalString(body, "room")
		}
	case legacyCustomRequest:
		m.Kind, m.Data = KindCustomRequest, body["data"]
	case legacyRemoteDisconnect:
		m.Kind = KindRemoteDisconnect
		if m.SID, err = optionalString(body, "sid"); err == nil {
			err = m.setClose(body)
		}
	default:
		m.Kind, m.Data = KindUnknown, body
	}
	return err
}

// DecodeClassicResponse decodes the payload of a classic response channel
// ("P-response#N#" or "P-response#N#U#"), JSON or msgpack. Responses mostly
// carry no type: the kind is told from their fields (sockets, rooms,
// clientCount, packet, data).
func DecodeClassicResponse(payload []byte) (*Message, error) {
	body, m, err := classicBody(payload, "response")
	if err != nil {
		return nil, err
	}
	if _, ok := body["type"]; ok && m.Format == FormatClassic {
		if m.Type, err = intField(body, "type", true); err != nil {
			return nil, err
		}
	}
	switch {
	case m.Type == RequestServerSideEmit:
		m.Kind, m.Data = KindServerSideEmitResponse, body["data"]
		if d, ok := body["data"]; ok {
			m.Args = []any{d}
		}
	case m.Type == RequestBroadcastClientCount:
		m.Kind, m.Data = KindBroadcastClientCount, body["clientCount"]
	case m.Type == RequestBroadcastAck:
		m.Kind = KindBroadcastAck
		m.Data = body["packet"] // the acknowledgement's (first) argument, as sent
		m.Args, err = argList(body["packet"])
	case m.Type != NoType:
		m.Kind, m.Data = KindUnknown, body
	case body["sockets"] != nil:
		// fetchSockets answers with socket objects, the older SOCKETS
		// request with ids; an empty list is taken for the current one.
		m.Kind, m.Data = KindFetchSocketsResponse, body["sockets"]
		if list, ok := body["sockets"].([]any); ok && len(list) > 0 {
			if _, isID := list[0].(string); isID {
				m.Kind = KindSocketsResponse
			}
		}
	case body["clients"] != nil:
		m.Kind, m.Data = KindSocketsResponse, body["clients"]
	case body["rooms"] != nil:
		m.Kind, m.Data = KindAllRoomsResponse, body["rooms"]
	case m.Format == FormatLegacy && body["data"] != nil:
		m.Kind, m.Data = KindCustomResponse, body["data"]
	default:
		m.Kind = KindResponse
		delete(body, "requestId")
		delete(body, "requestid")
		if len(body) > 0 {
			m.Data = body
		}
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// classicBody decodes a classic request or response into its map, with the
// request id and the format (legacy for "requestid").
func classicBody(payload []byte, what string) (map[string]any, *Message, error) {
	v, enc, err := decodeBody(payload)
	if err != nil {
		return nil, nil, err
	}
	body, ok := asMap(v)
	if !ok {
		return nil, nil, errorf(ErrMalformed, "classic %s: want a map, got %s", what, describe(v))
	}
	m := &Message{Format: FormatClassic, Encoding: enc, Type: NoType}
	if _, ok := body["requestId"]; !ok {
		if _, ok := body["requestid"]; ok {
			m.Format = FormatLegacy
		}
	}
	if m.RequestID, err = requestID(body); err != nil {
		return nil, nil, err
	}
	if m.UID, err = optionalString(body, "uid"); err != nil {
		return nil, nil, err
	}
	return body, m, nil
}

// DecodeClusterMessage decodes a ClusterAdapter message {uid, nsp, type,
// data}: what the sharded adapter publishes (JSON when it starts with "{",
// msgpack otherwise), and the msgpack messages the streams adapter 0.3
// publishes on its pub/sub channels.
func DecodeClusterMessage(payload []byte) (*Message, error) {
	v, enc, err := decodeBody(payload)
	if err != nil {
		return nil, err
	}
	body, ok := asMap(v)
	if !ok {
		return nil, errorf(ErrMalformed, "cluster message: want a map, got %s", describe(v))
	}
	m := &Message{Format: FormatCluster, Encoding: enc}
	if m.UID, err = optionalString(body, "uid"); err != nil {
		return nil, err
	}
	if m.Nsp, err = optionalString(body, "nsp"); err != nil {
		return nil, err
	}
	if m.Type, err = intField(body, "type", true); err != nil {
		return nil, err
	}
	if err := m.setClusterData(body["data"]); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeStreamEntry decodes the fields of a streams-adapter entry: uid, nsp,
// type (a decimal string) and data (JSON when it starts with "{", otherwise
// base64 of msgpack). Field values are strings (as go-redis returns them) or
// []byte. An entry without nsp, which servers skip, is an error.
func DecodeStreamEntry(fields map[string]any) (*Message, error) {
	str := func(key string) (string, bool, error) {
		switch v := fields[key].(type) {
		case nil:
			return "", false, nil
		case string:
			return v, true, nil
		case []byte:
			return string(v), true, nil
		default:
			return "", false, errorf(ErrMalformed, "stream entry: field %q is %T", key, v)
		}
	}
	m := &Message{Format: FormatStream}
	var ok bool
	var err error
	if m.Nsp, ok, err = str("nsp"); err != nil {
		return nil, err
	} else if !ok {
		return nil, errorf(ErrMalformed, "stream entry without an nsp field (servers skip it)")
	}
	if m.UID, _, err = str("uid"); err != nil {
		return nil, err
	}
	typ, _, err := str("type")
	if err != nil {
		return nil, err
	}
	if m.Type, err = strconv.Atoi(typ); err != nil {
		return nil, errorf(ErrMalformed, "stream entry: type %q is not a decimal number", typ)
	}
	data, hasData, err := str("data")
	if err != nil {
		return nil, err
	}
	var body any
	if hasData {
		if strings.HasPrefix(data, "{") {
			m.Encoding = EncodingJSON
			body, err = jsvalue.DecodeJSONOrdered([]byte(data))
		} else {
			m.Encoding = EncodingMsgpack
			var raw []byte
			if raw, err = base64.StdEncoding.DecodeString(data); err != nil {
				return nil, errorf(ErrMalformed, "stream entry: data is neither JSON nor base64: %v", err)
			}
			body, err = jsvalue.DecodeMsgpackOrdered(raw)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := m.setClusterData(body); err != nil {
		return nil, err
	}
	return m, nil
}

// setClusterData reads the data of a ClusterAdapter message of type m.Type.
func (m *Message) setClusterData(v any) error {
	var data map[string]any
	if v != nil {
		var ok bool
		if data, ok = asMap(v); !ok {
			return errorf(ErrMalformed, "cluster message: data is %s, not a map", describe(v))
		}
	}
	var err error
	if data != nil {
		if m.RequestID, err = requestID(data); err != nil {
			return err
		}
	}
	switch m.Type {
	case ClusterInitialHeartbeat:
		m.Kind = KindInitialHeartbeat
	case ClusterHeartbeat:
		m.Kind = KindHeartbeat
	case ClusterAdapterClose:
		m.Kind = KindAdapterClose
	case ClusterBroadcast:
		m.Kind = KindBroadcast
		if m.RequestID != "" {
			m.Kind = KindBroadcastWithAck
		}
		if err = m.setPacket(data["packet"]); err == nil {
			err = m.setOptsField(data)
		}
	case ClusterSocketsJoin, ClusterSocketsLeave:
		m.Kind = KindSocketsJoin
		if m.Type == ClusterSocketsLeave {
			m.Kind = KindSocketsLeave
		}
		if err = m.setOptsField(data); err == nil {
			m.TargetRooms, err = stringsField(data, "rooms")
		}
	case ClusterDisconnectSockets:
		m.Kind = KindDisconnectSockets
		if err = m.setOptsField(data); err == nil {
			err = m.setClose(data)
		}
	case ClusterFetchSockets:
		m.Kind = KindFetchSockets
		err = m.setOptsField(data)
	case ClusterFetchSocketsResponse:
		m.Kind, m.Data = KindFetchSocketsResponse, data["sockets"]
	case ClusterServerSideEmit:
		m.Kind = KindServerSideEmit
		err = m.setEventData(data["packet"])
	case ClusterServerSideEmitResponse:
		m.Kind, m.Data = KindServerSideEmitResponse, data["packet"]
		if m.Data != nil {
			m.Args = []any{m.Data}
		}
	case ClusterBroadcastClientCount:
		m.Kind, m.Data = KindBroadcastClientCount, data["clientCount"]
	case ClusterBroadcastAck:
		m.Kind, m.Data = KindBroadcastAck, data["packet"]
		m.Args, err = argList(data["packet"])
	default:
		m.Kind = KindUnknown
		if v != nil {
			m.Data = v
		}
	}
	return err
}

// setPacket reads a broadcast packet {type, data: [event, ...args], nsp}.
func (m *Message) setPacket(v any) error {
	packet, ok := asMap(v)
	if !ok {
		return errorf(ErrMalformed, "packet is %s, not a map", describe(v))
	}
	var err error
	if m.PacketType, err = intField(packet, "type", true); err != nil {
		return err
	}
	nsp, err := optionalString(packet, "nsp")
	if err != nil {
		return err
	}
	if nsp == "" {
		nsp = "/"
	}
	if m.Nsp == "" {
		m.Nsp = nsp
	}
	return m.setEventData(packet["data"])
}

// setEventData reads [event, ...args].
func (m *Message) setEventData(v any) error {
	data, ok := v.([]any)
	if !ok {
		return errorf(ErrMalformed, "event data is %s, not an array", describe(v))
	}
	if len(data) == 0 {
		return nil
	}
	var err error
	if m.Event, err = scalarString(data[0]); err != nil {
		return errorf(ErrMalformed, "event name: %w", err)
	}
	if len(data) > 1 {
		m.Args = data[1:]
	}
	return nil
}

// setOptsField reads body["opts"].
func (m *Message) setOptsField(body map[string]any) error {
	v, ok := body["opts"]
	if !ok || v == nil {
		return nil
	}
	opts, ok := asMap(v)
	if !ok {
		return errorf(ErrMalformed, "opts is %s, not a map", describe(v))
	}
	return m.setOpts(opts)
}

// setOpts reads {rooms, except, flags}.
func (m *Message) setOpts(opts map[string]any) error {
	var err error
	if m.Rooms, err = stringsField(opts, "rooms"); err != nil {
		return err
	}
	if m.Except, err = stringsField(opts, "except"); err != nil {
		return err
	}
	switch f := opts["flags"].(type) {
	case nil:
	case jsvalue.Object, map[string]any:
		m.Flags, _ = asMap(f)
	case []any: // PHP emitters send an empty array
		if len(f) > 0 {
			return errorf(ErrMalformed, "flags is a non-empty array")
		}
		m.Flags = map[string]any{}
	case string: // the Python emitter sends "" when empty
		if f != "" {
			return errorf(ErrMalformed, "flags is the string %q", f)
		}
	default:
		return errorf(ErrMalformed, "flags is %s, not a map", describe(f))
	}
	return nil
}

func (m *Message) setClose(body map[string]any) error {
	switch c := body["close"].(type) {
	case nil:
	case bool:
		m.Close = c
	default:
		return errorf(ErrMalformed, "close is %s, not a boolean", describe(c))
	}
	return nil
}

// requestID reads requestId (or the legacy requestid); servers generate
// strings, but any scalar is accepted.
func requestID(body map[string]any) (string, error) {
	v, ok := body["requestId"]
	if !ok {
		v = body["requestid"]
	}
	if v == nil {
		return "", nil
	}
	s, err := scalarString(v)
	if err != nil {
		return "", errorf(ErrMalformed, "requestId: %w", err)
	}
	return s, nil
}

// argList reads an acknowledgement's arguments: an array, or a single value.
func argList(v any) ([]any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		return v, nil
	default:
		return []any{v}, nil
	}
}

// stringField reads a value that must be a string.
func stringField(v any, name string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", errorf(ErrMalformed, "%s is %s, not a string", name, describe(v))
	}
	return s, nil
}

// optionalString reads body[key], which is absent, nil or a string.
func optionalString(body map[string]any, key string) (string, error) {
	switch v := body[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", errorf(ErrMalformed, "%s is %s, not a string", key, describe(v))
	}
}

// intField reads an integral number (int64, uint64 or an integral float64).
func intField(body map[string]any, key string, required bool) (int, error) {
	v, ok := body[key]
	if !ok || v == nil {
		if required {
			return 0, errorf(ErrMalformed, "no %s field", key)
		}
		return 0, nil
	}
	switch n := v.(type) {
	case int64:
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return int(n), nil
		}
	case float64:
		if n == math.Trunc(n) && n >= math.MinInt32 && n <= math.MaxInt32 {
			return int(n), nil
		}
	}
	return 0, errorf(ErrMalformed, "%s is %s, not a small integer", key, describe(v))
}

// stringsField reads a list of rooms: absent, nil and "" are empty (Node
// receivers build a Set from them), numbers are written in decimal.
func stringsField(body map[string]any, key string) ([]string, error) {
	switch v := body[key].(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, err := scalarString(e)
			if err != nil {
				return nil, errorf(ErrMalformed, "%s[%d]: %w", key, i, err)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, errorf(ErrMalformed, "%s is %s, not an array", key, describe(body[key]))
}

// scalarString returns a string, or a number in decimal.
func scalarString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float64:
		return jsvalue.NumberString(v), nil
	}
	return "", errors.New(describe(v) + ", not a string or a number")
}

// describe names the type of a decoded value for error messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case bool:
		return "a boolean"
	case int64, uint64, float64:
		return "a number"
	case string:
		return "a string"
	case []byte:
		return "binary"
	case []any:
		return "an array of " + strconv.Itoa(len(v))
	case map[string]any:
		return "a map"
	case jsvalue.Ext:
		return "an extension"
	}
	return "a timestamp"
}
