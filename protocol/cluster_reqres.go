package protocol

import "github.com/sioredis/sioredis/jsvalue"

// ClusterAdapter requests that wait for answers, and the answers (socket.io-adapter's ClusterAdapter, used by the
// sharded and streams adapters): whole messages {uid, nsp, type, data}, data holding the requestId. The streams
// adapter 0.3 publishes them on its pub/sub channels as msgpack (it decodes them with @msgpack/msgpack and no JSON
// sniffing); the sharded adapter as JSON unless they carry binary. DecodeClusterMessage reads them.

// ClusterEncoding says how a whole ClusterAdapter message is written.
type ClusterEncoding uint8

// ClusterAdapter message encodings.
const (
	// ClusterJSONUnlessBinary writes JSON, or msgpack when the message holds binary (the sharded adapter).
	ClusterJSONUnlessBinary ClusterEncoding = iota
	// ClusterMsgpack always writes msgpack (the streams adapter's pub/sub messages).
	ClusterMsgpack
	// ClusterStreamData writes the data alone, JSON or msgpack when it holds binary, for the data field of a
	// stream entry (store msgpack as base64; the adapter tells them apart by a leading "{").
	ClusterStreamData
)

// appendCluster writes a whole message {uid, nsp, type, data} whose data write writes ({uid, nsp, type} when data
// is nil).
func appendCluster(dst []byte, enc ClusterEncoding, uid, nsp string, typ int, data func(w *writer) error) ([]byte, error) {
	body := func(w *writer) error {
		if data == nil {
			w.BeginObject(3)
		} else {
			w.BeginObject(4)
		}
		w.Key("uid")
		w.Str(uid)
		w.Key("nsp")
		w.Str(nsp)
		w.Key("type")
		w.Int(int64(typ))
		if data != nil {
			w.Key("data")
			if err := data(w); err != nil {
				return err
			}
		}
		w.EndObject()
		return nil
	}
	switch enc {
	case ClusterMsgpack:
		w := writer{jsvalue.MsgpackWriter(dst)}
		if err := body(&w); err != nil {
			return dst, err
		}
		return w.Bytes(), nil
	case ClusterStreamData:
		return jsonOrMsgpack(dst, data)
	}
	return jsonOrMsgpack(dst, body)
}

// AppendClusterBroadcastWithAck appends the BROADCAST of a broadcast with acknowledgements (type 3):
// data {packet, opts, requestId}.
func AppendClusterBroadcastWithAck(dst []byte, enc ClusterEncoding, uid, requestID string, op *Op) ([]byte, error) {
	if requestID == "" {
		return dst, errorf(ErrUnsupportedValue, "a broadcast with acknowledgements needs a request id")
	}
	out, err := appendCluster(dst, enc, uid, op.Nsp, ClusterBroadcast, func(w *writer) error {
		w.BeginObject(3)
		w.Key("packet")
		if err := w.packet(op, false); err != nil {
			return err
		}
		w.Key("opts")
		w.requestOpts(op, true)
		w.Key("requestId")
		w.Str(requestID)
		w.EndObject()
		return op.check(w)
	})
	return out, err
}

// AppendClusterServerSideEmitWithAck appends a SERVER_SIDE_EMIT that waits for one answer per server (type 9):
// data {packet: [event, ...args], requestId}.
func AppendClusterServerSideEmitWithAck(dst []byte, enc ClusterEncoding, uid, requestID string, op *Op) ([]byte, error) {
	if requestID == "" {
		return dst, errorf(ErrUnsupportedValue, "a serverSideEmit with acknowledgements needs a request id")
	}
	return appendCluster(dst, enc, uid, op.Nsp, ClusterServerSideEmit, func(w *writer) error {
		w.BeginObject(2)
		w.Key("packet")
		if err := w.eventData(op.Event, op.Args); err != nil {
			return err
		}
		w.Key("requestId")
		w.Str(requestID)
		w.EndObject()
		return op.check(w)
	})
}

// AppendClusterServerSideEmit appends a SERVER_SIDE_EMIT without acknowledgement (type 9) as a whole message:
// data {packet: [event, ...args]}.
func AppendClusterServerSideEmit(dst []byte, enc ClusterEncoding, uid string, op *Op) ([]byte, error) {
	return appendCluster(dst, enc, uid, op.Nsp, ClusterServerSideEmit, func(w *writer) error {
		w.BeginObject(1)
		w.Key("packet")
		if err := w.eventData(op.Event, op.Args); err != nil {
			return err
		}
		w.EndObject()
		return op.check(w)
	})
}

// AppendClusterFetchSockets appends a FETCH_SOCKETS request (type 7): data {opts: {rooms, except, flags}, requestId}.
func AppendClusterFetchSockets(dst []byte, enc ClusterEncoding, uid, nsp, requestID string, rooms, except []string) ([]byte, error) {
	return appendCluster(dst, enc, uid, nsp, ClusterFetchSockets, func(w *writer) error {
		w.BeginObject(2)
		w.Key("opts")
		w.requestOpts(&Op{Rooms: rooms, Except: except}, true)
		w.Key("requestId")
		w.Str(requestID)
		w.EndObject()
		return nil
	})
}

// AppendClusterFetchSocketsResponse appends a FETCH_SOCKETS_RESPONSE (type 8):
// data {requestId, sockets: [{id, handshake, rooms, data}]}.
func AppendClusterFetchSocketsResponse(dst []byte, enc ClusterEncoding, uid, nsp, requestID string, sockets []FetchedSocket) ([]byte, error) {
	return appendCluster(dst, enc, uid, nsp, ClusterFetchSocketsResponse, func(w *writer) error {
		return w.fetchSocketsResponse(requestID, sockets)
	})
}

// AppendClusterPacketResponse appends a SERVER_SIDE_EMIT_RESPONSE (type 10) or a BROADCAST_ACK (type 12), whose
// data {requestId, packet} carries the one value of args: the answer of a server, or one client's
// acknowledgement. With no value, packet is left out, as JSON.stringify leaves out an undefined argument.
func AppendClusterPacketResponse(dst []byte, enc ClusterEncoding, uid, nsp string, typ int, requestID string, args []any) ([]byte, error) {
	return appendCluster(dst, enc, uid, nsp, typ, func(w *writer) error {
		if len(args) == 0 {
			w.BeginObject(1)
		} else {
			w.BeginObject(2)
		}
		w.Key("requestId")
		w.Str(requestID)
		if len(args) > 0 {
			w.Key("packet")
			if err := w.Value(args[0]); err != nil {
				return err
			}
		}
		w.EndObject()
		return nil
	})
}

// AppendClusterClientCount appends a BROADCAST_CLIENT_COUNT (type 11): data {requestId, clientCount}.
func AppendClusterClientCount(dst []byte, enc ClusterEncoding, uid, nsp, requestID string, n int) ([]byte, error) {
	return appendCluster(dst, enc, uid, nsp, ClusterBroadcastClientCount, func(w *writer) error {
		w.BeginObject(2)
		w.Key("requestId")
		w.Str(requestID)
		w.Key("clientCount")
		w.Int(int64(n))
		w.EndObject()
		return nil
	})
}
