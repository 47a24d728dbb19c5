package protocol

import (
	"errors"

	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/jsvalue"
)

// Classic request types (socket.io-redis ≥ 6, @socket.io/redis-adapter).
const (
	RequestSockets              = 0
	RequestAllRooms             = 1
	RequestRemoteJoin           = 2
	RequestRemoteLeave          = 3
	RequestRemoteDisconnect     = 4
	RequestRemoteFetch          = 5
	RequestServerSideEmit       = 6
	RequestBroadcast            = 7
	RequestBroadcastClientCount = 8
	RequestBroadcastAck         = 9
)

// ClusterAdapter message types (sharded adapter, streams adapter,
// socket.io-adapter ≥ 2.5).
const (
	ClusterInitialHeartbeat       = 1
	ClusterHeartbeat              = 2
	ClusterBroadcast              = 3
	ClusterSocketsJoin            = 4
	ClusterSocketsLeave           = 5
	ClusterDisconnectSockets      = 6
	ClusterFetchSockets           = 7
	ClusterFetchSocketsResponse   = 8
	ClusterServerSideEmit         = 9
	ClusterServerSideEmitResponse = 10
	ClusterBroadcastClientCount   = 11
	ClusterBroadcastAck           = 12
	ClusterAdapterClose           = 13
)

// Compress is the tri-state compress flag: unset means "compression allowed",
// which is what the servers do when the flag is absent.
type Compress uint8

// Compress values.
const (
	CompressUnset Compress = iota
	CompressTrue
	CompressFalse
)

// Flags are the broadcast flags an emitter sends. Only volatile and compress
// are acted upon by receiving servers.
type Flags struct {
	// Volatile lets servers drop the packet for clients that are not ready.
	// It is sent only when true: volatile:false would disable
	// connection-state-recovery offsets on cluster adapters.
	Volatile bool
	// Compress is sent only when set.
	Compress Compress
	// CompressFirst records that compress was set before volatile: the
	// official emitter writes flags in the order they were set, and byte
	// identity with it needs the same order.
	CompressFirst bool
}

// OpKind is the kind of operation an Op describes.
type OpKind uint8

// Operation kinds.
const (
	OpBroadcast OpKind = iota
	OpSocketsJoin
	OpSocketsLeave
	OpDisconnectSockets
	OpServerSideEmit
)

// String returns the operation's name as the Node API spells it.
func (k OpKind) String() string {
	switch k {
	case OpBroadcast:
		return "broadcast"
	case OpSocketsJoin:
		return "socketsJoin"
	case OpSocketsLeave:
		return "socketsLeave"
	case OpDisconnectSockets:
		return "disconnectSockets"
	case OpServerSideEmit:
		return "serverSideEmit"
	}
	return "unknown"
}

// Op is one emitter operation: the input of every encoder of this package.
// Its fields are read, never modified or retained.
type Op struct {
	Kind   OpKind
	Nsp    string   // with the leading "/"
	Rooms  []string // target rooms; empty means the whole namespace
	Except []string // rooms (socket.io ≥ 3) or socket ids (socket.io 2) to skip
	Flags  Flags

	Event string // OpBroadcast, OpServerSideEmit
	Args  []any  // OpBroadcast, OpServerSideEmit

	JoinRooms []string // OpSocketsJoin, OpSocketsLeave: rooms to join or leave
	Close     bool     // OpDisconnectSockets: close the underlying connection

	// MaxAttachments, when positive, is the most binary values an event
	// may carry.
	MaxAttachments int
}

// check enforces the attachment limit after an encoding.
func (op *Op) check(w *writer) error {
	if op.MaxAttachments > 0 && w.Binaries() > op.MaxAttachments {
		return errorf(ErrTooManyAttachments, "%d binary values, at most %d per event", w.Binaries(), op.MaxAttachments)
	}
	return nil
}

// eventData writes [event, ...args].
func (w *writer) eventData(event string, args []any) error {
	return siopacket.WriteEventData(&w.Writer, event, args)
}

// packet writes {type, data, nsp}, the packet of a broadcast. With legacy,
// the type becomes 5 (BINARY_EVENT) when the data holds binary, which
// socket.io 2.1–2.5 needs to send it as binary; socket.io ≥ 3 must get 2.
func (w *writer) packet(op *Op, legacy bool) error {
	w.BeginObject(3)
	w.Key("type")
	typeAt := w.Len()
	w.Int(siopacket.Event)
	w.Key("data")
	before := w.Binaries()
	if err := w.eventData(op.Event, op.Args); err != nil {
		return err
	}
	if legacy && w.Binaries() > before && !w.IsJSON() {
		w.Bytes()[typeAt] = siopacket.BinaryEvent // a positive fixint: one byte
	}
	w.Key("nsp")
	w.Str(op.Nsp)
	w.EndObject()
	return nil
}

func (w *writer) strings(list []string) {
	w.BeginArray(len(list))
	for _, s := range list {
		w.Str(s)
	}
	w.EndArray()
}

// flagMembers lists the flags that are sent, in the order they were set
// (the official emitter writes them so). An array, not a slice: no
// allocation on the hot path.
func flagMembers(f Flags) (m [2]jsvalue.Member, n int) {
	volatile := func() {
		if f.Volatile {
			m[n] = jsvalue.Member{Key: "volatile", Value: true}
			n++
		}
	}
	if !f.CompressFirst {
		volatile()
	}
	if f.Compress != CompressUnset {
		m[n] = jsvalue.Member{Key: "compress", Value: f.Compress == CompressTrue}
		n++
	}
	if f.CompressFirst {
		volatile()
	}
	return m, n
}

func (w *writer) flags(f Flags) {
	m, n := flagMembers(f)
	w.BeginObject(n)
	for _, e := range m[:n] {
		w.Key(e.Key)
		w.Bool(e.Value.(bool))
	}
	w.EndObject()
}

// AppendClassicBroadcast appends the msgpack broadcast message of the
// classic Redis adapter, [uid, {type, data, nsp}, {rooms, flags, except}],
// byte for byte what @socket.io/redis-emitter 5.1 publishes for the same
// call (where its codec is right). With legacy it targets socket.io 2 and
// socket.io-redis 5: packet type 5 for binary, and except (socket ids there)
// only when set, as socket.io-emitter 3.1 did. Publish it on
// BroadcastChannel. On error dst is returned unchanged in length.
func AppendClassicBroadcast(dst []byte, uid string, op *Op, legacy bool) ([]byte, error) {
	w := writer{jsvalue.MsgpackWriter(dst)}
	w.BeginArray(3)
	w.Str(uid)
	if err := w.packet(op, legacy); err != nil {
		return dst, err
	}
	withExcept := !legacy || len(op.Except) > 0
	n := 2
	if withExcept {
		n = 3
	}
	w.BeginObject(n)
	w.Key("rooms")
	w.strings(op.Rooms)
	w.Key("flags")
	w.flags(op.Flags)
	if withExcept {
		w.Key("except")
		w.strings(op.Except)
	}
	if err := op.check(&w); err != nil {
		return dst, err
	}
	return w.Bytes(), nil
}

// ClassicBroadcastValue returns the classic broadcast message
// [uid, {type, data, nsp}, {rooms, flags, except}] as a Go value, for a
// custom codec: the parser option of @socket.io/redis-adapter ≥ 8 and
// @socket.io/redis-emitter ≥ 5.1, which encodes this very value instead of
// notepack.io. Objects are Object values, so their keys keep the official
// emitter's order; event arguments are included as given.
func ClassicBroadcastValue(uid string, op *Op) any {
	data := make([]any, 0, 1+len(op.Args))
	data = append(append(data, op.Event), op.Args...)
	m, n := flagMembers(op.Flags)
	flags := append(jsvalue.Object{}, m[:n]...)
	orEmpty := func(list []string) []string {
		if list == nil {
			return []string{}
		}
		return list
	}
	return []any{
		uid,
		jsvalue.Object{{Key: "type", Value: siopacket.Event}, {Key: "data", Value: data}, {Key: "nsp", Value: op.Nsp}},
		jsvalue.Object{{Key: "rooms", Value: orEmpty(op.Rooms)}, {Key: "flags", Value: flags}, {Key: "except", Value: orEmpty(op.Except)}},
	}
}

// AppendClassicRequest appends the message of a classic-adapter request
// (socketsJoin, socketsLeave, disconnectSockets, serverSideEmit), JSON as
// the official emitter sends it. A serverSideEmit whose arguments hold
// binary is sent as msgpack instead, which adapters ≥ 7.2 accept (JSON
// cannot carry binary). Publish it on RequestChannel.
func AppendClassicRequest(dst []byte, uid string, op *Op) ([]byte, error) {
	return appendJSONOrMsgpack(dst, uid, op, bodyClassicRequest)
}

func classicRequestBody(w *writer, uid string, op *Op) error {
	switch op.Kind {
	case OpSocketsJoin, OpSocketsLeave:
		w.BeginObject(3)
		w.Key("type")
		if op.Kind == OpSocketsJoin {
			w.Int(RequestRemoteJoin)
		} else {
			w.Int(RequestRemoteLeave)
		}
		w.Key("opts")
		w.requestOpts(op, false)
		w.Key("rooms")
		w.strings(op.JoinRooms)
		w.EndObject()
	case OpDisconnectSockets:
		w.BeginObject(3)
		w.Key("type")
		w.Int(RequestRemoteDisconnect)
		w.Key("opts")
		w.requestOpts(op, false)
		w.Key("close")
		w.Bool(op.Close)
		w.EndObject()
	case OpServerSideEmit:
		return w.serverSideEmitRequest(uid, "", op)
	default:
		return errorf(ErrUnsupportedValue, "%s is not a classic request", op.Kind)
	}
	return nil
}

// requestOpts writes {rooms, except} (classic requests) or
// {rooms, except, flags} (cluster messages).
func (w *writer) requestOpts(op *Op, withFlags bool) {
	n := 2
	if withFlags {
		n = 3
	}
	w.BeginObject(n)
	w.Key("rooms")
	w.strings(op.Rooms)
	w.Key("except")
	w.strings(op.Except)
	if withFlags {
		w.Key("flags")
		w.flags(op.Flags)
	}
	w.EndObject()
}

// The message bodies appendJSONOrMsgpack can write.
const (
	bodyClassicRequest = iota
	bodyClusterMessage
	bodyStreamData
)

func (w *writer) body(which int, uid string, op *Op) error {
	switch which {
	case bodyClassicRequest:
		return classicRequestBody(w, uid, op)
	case bodyClusterMessage:
		return clusterMessageBody(w, uid, op)
	default:
		return w.clusterData(op)
	}
}

// appendJSONOrMsgpack writes a body as JSON, or as msgpack if it holds
// binary. (A switch rather than a function value keeps the writer on the
// stack.)
func appendJSONOrMsgpack(dst []byte, uid string, op *Op, which int) ([]byte, error) {
	w := writer{jsvalue.JSONWriter(dst)}
	err := w.body(which, uid, op)
	if errors.Is(err, jsvalue.ErrBinaryInJSON) {
		w = writer{jsvalue.MsgpackWriter(dst)}
		err = w.body(which, uid, op)
	}
	if err != nil {
		return dst, err
	}
	if err := op.check(&w); err != nil {
		return dst, err
	}
	return w.Bytes(), nil
}

// ClusterType is the ClusterAdapter message type of op.
func ClusterType(op *Op) int {
	switch op.Kind {
	case OpSocketsJoin:
		return ClusterSocketsJoin
	case OpSocketsLeave:
		return ClusterSocketsLeave
	case OpDisconnectSockets:
		return ClusterDisconnectSockets
	case OpServerSideEmit:
		return ClusterServerSideEmit
	}
	return ClusterBroadcast
}

// clusterData writes the data field of a ClusterAdapter message.
func (w *writer) clusterData(op *Op) error {
	switch op.Kind {
	case OpBroadcast:
		w.BeginObject(2)
		w.Key("packet")
		if err := w.packet(op, false); err != nil {
			return err
		}
		w.Key("opts")
		w.requestOpts(op, true)
		w.EndObject()
	case OpSocketsJoin, OpSocketsLeave:
		w.BeginObject(2)
		w.Key("opts")
		w.requestOpts(op, true)
		w.Key("rooms")
		w.strings(op.JoinRooms)
		w.EndObject()
	case OpDisconnectSockets:
		w.BeginObject(2)
		w.Key("opts")
		w.requestOpts(op, true)
		w.Key("close")
		w.Bool(op.Close)
		w.EndObject()
	case OpServerSideEmit:
		w.BeginObject(1)
		w.Key("packet")
		if err := w.eventData(op.Event, op.Args); err != nil {
			return err
		}
		w.EndObject()
	default:
		return errorf(ErrUnsupportedValue, "unknown operation %d", op.Kind)
	}
	return nil
}

// AppendClusterMessage appends a whole ClusterAdapter message
// {uid, nsp, type, data}, as the sharded adapter sends it: JSON, or
// notepack msgpack when the data holds binary. Publish it with SPUBLISH on
// ShardedChannel.
func AppendClusterMessage(dst []byte, uid string, op *Op) ([]byte, error) {
	return appendJSONOrMsgpack(dst, uid, op, bodyClusterMessage)
}

func clusterMessageBody(w *writer, uid string, op *Op) error {
	w.BeginObject(4)
	w.Key("uid")
	w.Str(uid)
	w.Key("nsp")
	w.Str(op.Nsp)
	w.Key("type")
	w.Int(int64(ClusterType(op)))
	w.Key("data")
	if err := w.clusterData(op); err != nil {
		return err
	}
	w.EndObject()
	return nil
}

// AppendStreamData appends the data field of a streams-adapter entry: JSON,
// or, when binary reports true, msgpack that the caller must store as
// base64 (the adapter tells the two apart by a leading "{").
func AppendStreamData(dst []byte, op *Op) (out []byte, binary bool, err error) {
	start := len(dst)
	out, err = appendJSONOrMsgpack(dst, "", op, bodyStreamData)
	if err != nil {
		return dst, false, err
	}
	return out, len(out) > start && out[start] != '{', nil
}
