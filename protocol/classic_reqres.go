package protocol

import (
	"errors"
	"slices"
	"time"

	"github.com/sioredis/sioredis/jsvalue"
)

// Classic requests that expect answers, and the answers a server gives (@socket.io/redis-adapter 8: requests on
// RequestChannel, responses on ResponseChannel), all JSON as the official adapter writes them. DecodeClassicRequest
// and DecodeClassicResponse read them.

// AppendFetchSocketsRequest appends the REMOTE_FETCH request (type 5) of fetchSockets:
// {"uid","requestId","type":5,"opts":{"rooms","except"}}.
func AppendFetchSocketsRequest(dst []byte, uid, requestID string, rooms, except []string) []byte {
	w := writer{jsvalue.JSONWriter(dst)}
	w.requestHead(4, uid, requestID, RequestRemoteFetch)
	w.Key("opts")
	w.requestOpts(&Op{Rooms: rooms, Except: except}, false)
	w.EndObject()
	return w.Bytes()
}

// FetchedSocket is one socket of a REMOTE_FETCH response.
type FetchedSocket struct {
	ID        string
	Handshake Handshake
	Rooms     []string
	Data      any
}

// AppendFetchSocketsResponse appends the answer to a REMOTE_FETCH request:
// {"requestId","sockets":[{"id","handshake","rooms","data"}]}. Values follow encoding/json rules; binary is
// refused (ErrUnsupportedValue), as JSON cannot carry it.
func AppendFetchSocketsResponse(dst []byte, requestID string, sockets []FetchedSocket) ([]byte, error) {
	w := writer{jsvalue.JSONWriter(dst)}
	if err := w.fetchSocketsResponse(requestID, sockets); err != nil {
		return dst, jsonOnly(err)
	}
	return w.Bytes(), nil
}

// fetchSocketsResponse writes {"requestId","sockets":[{"id","handshake","rooms","data"}]}: the classic answer, and
// the data of the ClusterAdapter's FETCH_SOCKETS_RESPONSE.
func (w *writer) fetchSocketsResponse(requestID string, sockets []FetchedSocket) error {
	w.BeginObject(2)
	w.Key("requestId")
	w.Str(requestID)
	w.Key("sockets")
	w.BeginArray(len(sockets))
	for _, s := range sockets {
		w.BeginObject(4)
		w.Key("id")
		w.Str(s.ID)
		w.Key("handshake")
		if err := w.Value(s.Handshake.Value()); err != nil {
			return err
		}
		w.Key("rooms")
		w.strings(s.Rooms)
		w.Key("data")
		if err := w.Value(s.Data); err != nil {
			return err
		}
		w.EndObject()
	}
	w.EndArray()
	w.EndObject()
	return nil
}

// AppendSocketsResponse appends the answer to a SOCKETS request (type 0): {"requestId","sockets":[ids]}.
func AppendSocketsResponse(dst []byte, requestID string, ids []string) []byte {
	return appendListResponse(dst, requestID, "sockets", ids)
}

// AppendAllRoomsResponse appends the answer to an ALL_ROOMS request (type 1): {"requestId","rooms":[rooms]}.
func AppendAllRoomsResponse(dst []byte, requestID string, rooms []string) []byte {
	return appendListResponse(dst, requestID, "rooms", rooms)
}

func appendListResponse(dst []byte, requestID, key string, list []string) []byte {
	w := writer{jsvalue.JSONWriter(dst)}
	w.BeginObject(2)
	w.Key("requestId")
	w.Str(requestID)
	w.Key(key)
	w.strings(list)
	w.EndObject()
	return w.Bytes()
}

func jsonOnly(err error) error {
	if err == jsvalue.ErrBinaryInJSON {
		return errorf(ErrUnsupportedValue, "binary data in a JSON response")
	}
	return err
}

// AppendBroadcastWithAckRequest appends the BROADCAST request (type 7) of a broadcast with acknowledgements, in
// msgpack as the reference adapter sends it (it may carry binary):
// {"uid","requestId","type":7,"packet":{"type":2,"data":[event, ...args],"nsp"},"opts":{"rooms","except","flags"}}.
func AppendBroadcastWithAckRequest(dst []byte, uid, requestID string, op *Op) ([]byte, error) {
	w := writer{jsvalue.MsgpackWriter(dst)}
	w.requestHead(5, uid, requestID, RequestBroadcast)
	w.Key("packet")
	if err := w.packet(op, false); err != nil {
		return dst, err
	}
	w.Key("opts")
	w.requestOpts(op, true)
	w.EndObject()
	if err := op.check(&w); err != nil {
		return dst, err
	}
	return w.Bytes(), nil
}

// AppendBroadcastClientCountResponse appends a server's BROADCAST_CLIENT_COUNT answer (type 8), JSON:
// {"type":8,"requestId","clientCount"}.
func AppendBroadcastClientCountResponse(dst []byte, requestID string, clientCount int) []byte {
	w := writer{jsvalue.JSONWriter(dst)}
	w.BeginObject(3)
	w.Key("type")
	w.Int(RequestBroadcastClientCount)
	w.Key("requestId")
	w.Str(requestID)
	w.Key("clientCount")
	w.Int(int64(clientCount))
	w.EndObject()
	return w.Bytes()
}

// AppendBroadcastAckResponse appends a BROADCAST_ACK answer (type 9) carrying one client's acknowledgement, in
// msgpack: {"type":9,"requestId","packet":arg}. The reference adapter relays the first argument of the
// acknowledgement only.
func AppendBroadcastAckResponse(dst []byte, requestID string, arg any) ([]byte, error) {
	w := writer{jsvalue.MsgpackWriter(dst)}
	w.BeginObject(3)
	w.Key("type")
	w.Int(RequestBroadcastAck)
	w.Key("requestId")
	w.Str(requestID)
	w.Key("packet")
	if err := w.Value(arg); err != nil {
		return dst, err
	}
	w.EndObject()
	return w.Bytes(), nil
}

// AppendServerSideEmitWithAckRequest appends the SERVER_SIDE_EMIT request (type 6) of a serverSideEmit whose
// sender waits for acknowledgements, as the reference adapter's serverSideEmitWithAck writes it:
// {"uid","requestId","type":6,"data":[event, ...args]} (the request without acknowledgements, AppendClassicRequest,
// has no requestId). JSON, or msgpack when the arguments hold binary, as AppendClassicRequest. op.Kind must be
// OpServerSideEmit. Publish it on RequestChannel; each other server answers once on ResponseChannel
// (AppendServerSideEmitResponse), and the sender expects as many answers as PUBSUB NUMSUB of RequestChannel
// counts, minus itself.
func AppendServerSideEmitWithAckRequest(dst []byte, uid, requestID string, op *Op) ([]byte, error) {
	if op.Kind != OpServerSideEmit {
		return dst, errorf(ErrUnsupportedValue, "%s is not a serverSideEmit", op.Kind)
	}
	if requestID == "" { // without it, the request would ask for no acknowledgement
		return dst, errorf(ErrUnsupportedValue, "serverSideEmit with acknowledgements needs a request id")
	}
	return jsonOrMsgpack(dst, func(w *writer) error {
		if err := w.serverSideEmitRequest(uid, requestID, op); err != nil {
			return err
		}
		return op.check(w)
	})
}

// jsonOrMsgpack runs write with a JSON writer, and again with a msgpack writer when the value holds binary, for
// the bodies the reference adapter sends as JSON unless they carry binary. (The emitter's hot path has its own
// form, appendJSONOrMsgpack, that keeps the writer on the stack.)
func jsonOrMsgpack(dst []byte, write func(w *writer) error) ([]byte, error) {
	w := writer{jsvalue.JSONWriter(dst)}
	err := write(&w)
	if errors.Is(err, jsvalue.ErrBinaryInJSON) {
		w = writer{jsvalue.MsgpackWriter(dst)}
		err = write(&w)
	}
	if err != nil {
		return dst, err
	}
	return w.Bytes(), nil
}

// serverSideEmitRequest writes a SERVER_SIDE_EMIT request: {"uid","type":6,"data":[event, ...args]}, with
// "requestId" after "uid" when the sender waits for acknowledgements (requestID not empty).
func (w *writer) serverSideEmitRequest(uid, requestID string, op *Op) error {
	fields := 3
	if requestID != "" {
		fields = 4
	}
	w.requestHead(fields, uid, requestID, RequestServerSideEmit)
	w.Key("data")
	if err := w.eventData(op.Event, op.Args); err != nil {
		return err
	}
	w.EndObject()
	return nil
}

// requestHead begins a request of fields members with its first ones, in the reference adapter's order: "uid",
// "requestId" (left out when requestID is empty) and "type".
func (w *writer) requestHead(fields int, uid, requestID string, typ int64) {
	w.BeginObject(fields)
	w.Key("uid")
	w.Str(uid)
	if requestID != "" {
		w.Key("requestId")
		w.Str(requestID)
	}
	w.Key("type")
	w.Int(typ)
}

// AppendServerSideEmitResponse appends one server's answer to a SERVER_SIDE_EMIT request that carries a request
// id: {"type":6,"requestId","data":arg}, arg being the first of args. The reference adapter's callback takes one
// argument and publishes it alone, so the others are dropped; without args, "data" is left out, as JSON.stringify
// leaves out an undefined value. JSON as the reference adapter writes it, or msgpack when arg holds binary (the
// reference adapter decodes a response that does not start with "{" with its parser, msgpack by default). Publish
// it on ResponseChannel: the reference adapter answers serverSideEmit there, never on the requester's
// SpecificResponseChannel, whatever its publishOnSpecificResponseChannel option says.
func AppendServerSideEmitResponse(dst []byte, requestID string, args []any) ([]byte, error) {
	return jsonOrMsgpack(dst, func(w *writer) error { return w.serverSideEmitResponse(requestID, args) })
}

func (w *writer) serverSideEmitResponse(requestID string, args []any) error {
	n := 2
	if len(args) > 0 {
		n = 3
	}
	w.BeginObject(n)
	w.Key("type")
	w.Int(RequestServerSideEmit)
	w.Key("requestId")
	w.Str(requestID)
	if len(args) > 0 {
		w.Key("data")
		if err := w.Value(args[0]); err != nil {
			return err
		}
	}
	w.EndObject()
	return nil
}

// BroadcastFlags returns the flags of a decoded broadcast or BROADCAST request that a receiving server acts on:
// volatile and compress (CompressUnset when absent), and the acknowledgement timeout (0 when absent).
func (m *Message) BroadcastFlags() (f Flags, timeout time.Duration) {
	f.Volatile, _ = m.Flags["volatile"].(bool)
	if c, ok := m.Flags["compress"].(bool); ok {
		f.Compress = CompressFalse
		if c {
			f.Compress = CompressTrue
		}
	}
	switch ms := m.Flags["timeout"].(type) {
	case int64:
		timeout = time.Duration(ms) * time.Millisecond
	case uint64:
		timeout = time.Duration(ms) * time.Millisecond
	case float64:
		timeout = time.Duration(ms * float64(time.Millisecond))
	}
	return f, max(timeout, 0)
}

// Handshake is a socket's handshake as a Node server describes it (socket.handshake) in a REMOTE_FETCH response.
type Handshake struct {
	Headers map[string]string // lowercase names; repeated headers joined with ", "
	Time    time.Time         // sent as Date.toString() writes it, and as issued (milliseconds)
	Address string
	XDomain bool
	Secure  bool
	URL     string
	Query   map[string]string
	Auth    any // the CONNECT payload, decoded (an jsvalue.Object keeps its key order)
}

// Value returns h as written in a REMOTE_FETCH response:
// {headers, time, address, xdomain, secure, issued, url, query, auth}, keys of headers and query sorted.
func (h Handshake) Value() jsvalue.Object {
	auth := h.Auth
	if auth == nil {
		auth = jsvalue.Object{}
	}
	return jsvalue.Object{
		{Key: "headers", Value: sortedObject(h.Headers)},
		{Key: "time", Value: h.Time.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)")},
		{Key: "address", Value: h.Address},
		{Key: "xdomain", Value: h.XDomain},
		{Key: "secure", Value: h.Secure},
		{Key: "issued", Value: h.Time.UnixMilli()},
		{Key: "url", Value: h.URL},
		{Key: "query", Value: sortedObject(h.Query)},
		{Key: "auth", Value: auth},
	}
}

func sortedObject(m map[string]string) jsvalue.Object {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(jsvalue.Object, len(keys))
	for i, k := range keys {
		out[i] = jsvalue.Member{Key: k, Value: m[k]}
	}
	return out
}

// HandshakeOf reads a handshake decoded from a REMOTE_FETCH response (an object of DecodeClassicResponse's Data).
// Missing or mistyped fields stay zero.
func HandshakeOf(v any) Handshake {
	m, _ := asMap(v)
	var h Handshake
	h.Headers = stringMap(m["headers"])
	h.Query = stringMap(m["query"])
	h.Address, _ = m["address"].(string)
	h.XDomain, _ = m["xdomain"].(bool)
	h.Secure, _ = m["secure"].(bool)
	h.URL, _ = m["url"].(string)
	h.Auth = m["auth"]
	switch issued := m["issued"].(type) {
	case int64:
		h.Time = time.UnixMilli(issued)
	case uint64:
		h.Time = time.UnixMilli(int64(issued))
	case float64:
		h.Time = time.UnixMilli(int64(issued))
	}
	return h
}

func stringMap(v any) map[string]string {
	m, _ := asMap(v)
	out := make(map[string]string, len(m))
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}

// FetchedSocketOf reads one socket of a REMOTE_FETCH response (an element of DecodeClassicResponse's Data).
func FetchedSocketOf(v any) (FetchedSocket, bool) {
	m, ok := asMap(v)
	if !ok {
		return FetchedSocket{}, false
	}
	s := FetchedSocket{Handshake: HandshakeOf(m["handshake"]), Data: m["data"]}
	s.ID, _ = m["id"].(string)
	list, _ := m["rooms"].([]any)
	for _, r := range list {
		if room, ok := r.(string); ok {
			s.Rooms = append(s.Rooms, room)
		}
	}
	return s, s.ID != ""
}
