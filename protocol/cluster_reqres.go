package protocol

// The requests that expect answers and the answers themselves in the ClusterAdapter format (the sharded adapter of
// @socket.io/redis-adapter ≥ 8.2, socket.io-adapter's ClusterAdapter): {uid, nsp, type, data}, data carrying the
// requestId. JSON, or notepack msgpack when the data holds binary, as the sharded adapter encodes them;
// DecodeClusterMessage reads them.

// AppendClusterRequest appends a request expecting answers: a BROADCAST with acknowledgements (op.Kind
// OpBroadcast: data {packet, requestId, opts}) or a SERVER_SIDE_EMIT with acknowledgements (OpServerSideEmit:
// data {requestId, packet}). Publish it on the namespace's channel "P#N#" (a broadcast with acknowledgements never
// uses a room's channel); the answers come on the requester's "P#N#uid#".
func AppendClusterRequest(dst []byte, uid, requestID string, op *Op) ([]byte, error) {
	if requestID == "" {
		return dst, errorf(ErrUnsupportedValue, "a cluster request needs a request id")
	}
	if op.Kind != OpBroadcast && op.Kind != OpServerSideEmit {
		return dst, errorf(ErrUnsupportedValue, "%s is not a cluster request with answers", op.Kind)
	}
	return jsonOrMsgpack(dst, func(w *writer) error {
		clusterHead(w, uid, op.Nsp, ClusterType(op))
		w.beginMap(3 - boolInt(op.Kind == OpServerSideEmit))
		if op.Kind == OpBroadcast {
			w.key("packet")
			if err := w.packet(op, false); err != nil {
				return err
			}
			w.key("requestId")
			w.stringValue(requestID)
			w.key("opts")
			w.requestOpts(op, true)
		} else {
			w.key("requestId")
			w.stringValue(requestID)
			w.key("packet")
			if err := w.eventData(op.Event, op.Args); err != nil {
				return err
			}
		}
		w.endMap()
		w.endMap()
		return op.check(w)
	})
}

// AppendClusterFetchSockets appends a FETCH_SOCKETS request (type 7), always JSON:
// {"uid","nsp","type":7,"data":{"opts":{"rooms","except","flags":{}},"requestId"}}.
func AppendClusterFetchSockets(dst []byte, uid, nsp, requestID string, rooms, except []string) []byte {
	w := writer{buf: dst, json: true}
	clusterHead(&w, uid, nsp, ClusterFetchSockets)
	w.beginMap(2)
	w.key("opts")
	w.requestOpts(&Op{Rooms: rooms, Except: except}, true)
	w.key("requestId")
	w.stringValue(requestID)
	w.endMap()
	w.endMap()
	return w.buf
}

// ClusterResponse is an answer to a cluster request, for AppendClusterResponse.
type ClusterResponse struct {
	// Type is ClusterFetchSocketsResponse, ClusterServerSideEmitResponse, ClusterBroadcastClientCount or
	// ClusterBroadcastAck.
	Type      int
	RequestID string
	// Sockets are the sockets of a FETCH_SOCKETS_RESPONSE.
	Sockets []FetchedSocket
	// ClientCount is the count of a BROADCAST_CLIENT_COUNT.
	ClientCount int
	// Packet is the acknowledgement of a SERVER_SIDE_EMIT_RESPONSE or BROADCAST_ACK: one value, or none (then
	// "packet" is left out, as JSON.stringify leaves out undefined).
	Packet []any
}

// AppendClusterResponse appends r as the sharded adapter publishes it on the requester's channel "P#N#uid#":
// {"uid","nsp","type","data":{"requestId", ...}} with "sockets" [{id, handshake, rooms, data}], "clientCount" or
// "packet". JSON, or msgpack when it holds binary.
func AppendClusterResponse(dst []byte, uid, nsp string, r *ClusterResponse) ([]byte, error) {
	switch r.Type {
	case ClusterFetchSocketsResponse, ClusterServerSideEmitResponse, ClusterBroadcastClientCount, ClusterBroadcastAck:
	default:
		return dst, errorf(ErrUnsupportedValue, "cluster message type %d is not a response", r.Type)
	}
	return jsonOrMsgpack(dst, func(w *writer) error {
		clusterHead(w, uid, nsp, r.Type)
		switch r.Type {
		case ClusterFetchSocketsResponse:
			w.beginMap(2)
			w.key("requestId")
			w.stringValue(r.RequestID)
			w.key("sockets")
			w.beginArray(len(r.Sockets))
			for _, s := range r.Sockets {
				w.beginMap(4)
				w.key("id")
				w.stringValue(s.ID)
				w.key("handshake")
				if err := w.value(s.Handshake.Value(), 1); err != nil {
					return err
				}
				w.key("rooms")
				w.strings(s.Rooms)
				w.key("data")
				if err := w.value(s.Data, 1); err != nil {
					return err
				}
				w.endMap()
			}
			w.endArray()
		case ClusterBroadcastClientCount:
			w.beginMap(2)
			w.key("requestId")
			w.stringValue(r.RequestID)
			w.key("clientCount")
			w.intValue(int64(r.ClientCount))
		default:
			w.beginMap(1 + boolInt(len(r.Packet) > 0))
			w.key("requestId")
			w.stringValue(r.RequestID)
			if len(r.Packet) > 0 {
				w.key("packet")
				if err := w.value(r.Packet[0], 1); err != nil {
					return err
				}
			}
		}
		w.endMap()
		w.endMap()
		return nil
	})
}

// ClusterResponsePacket returns the "packet" of a cluster response (the acknowledgement of a
// SERVER_SIDE_EMIT_RESPONSE or BROADCAST_ACK) decoded again from payload with objects as Object values that keep
// their key order; ok is false when payload has no data.packet (an acknowledgement without argument).
func ClusterResponsePacket(payload []byte) (v any, ok bool) {
	tree, err := decodeOrdered(payload)
	if err != nil {
		return nil, false
	}
	body, isObj := tree.(Object)
	if !isObj {
		return nil, false
	}
	for _, e := range body {
		if e.Key != "data" {
			continue
		}
		if data, isObj := e.Value.(Object); isObj {
			for _, d := range data {
				if d.Key == "packet" {
					return d.Value, true
				}
			}
		}
	}
	return nil, false
}

// clusterHead begins a cluster message of four members with uid, nsp and type; "data" is to follow.
func clusterHead(w *writer, uid, nsp string, typ int) {
	w.beginMap(4)
	w.key("uid")
	w.stringValue(uid)
	w.key("nsp")
	w.stringValue(nsp)
	w.key("type")
	w.intValue(int64(typ))
	w.key("data")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
