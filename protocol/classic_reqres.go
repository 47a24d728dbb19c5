package protocol

// Classic requests that expect answers, and the answers a server gives (@socket.io/redis-adapter 8: requests on
// RequestChannel, responses on ResponseChannel), all JSON as the official adapter writes them. DecodeClassicRequest
// and DecodeClassicResponse read them.

// AppendFetchSocketsRequest appends the REMOTE_FETCH request (type 5) of fetchSockets:
// {"uid","requestId","type":5,"opts":{"rooms","except"}}.
func AppendFetchSocketsRequest(dst []byte, uid, requestID string, rooms, except []string) []byte {
	w := writer{buf: dst, json: true}
	w.beginMap(4)
	w.key("uid")
	w.stringValue(uid)
	w.key("requestId")
	w.stringValue(requestID)
	w.key("type")
	w.intValue(RequestRemoteFetch)
	w.key("opts")
	w.requestOpts(&Op{Rooms: rooms, Except: except}, false)
	w.endMap()
	return w.buf
}

// FetchedSocket is one socket of a REMOTE_FETCH response. Handshake is written as given: the reference server
// sends {headers, time, address, xdomain, secure, issued, url, query, auth}.
type FetchedSocket struct {
	ID        string
	Handshake any
	Rooms     []string
	Data      any
}

// AppendFetchSocketsResponse appends the answer to a REMOTE_FETCH request:
// {"requestId","sockets":[{"id","handshake","rooms","data"}]}. Values follow encoding/json rules; binary is
// refused (ErrUnsupportedValue), as JSON cannot carry it.
func AppendFetchSocketsResponse(dst []byte, requestID string, sockets []FetchedSocket) ([]byte, error) {
	w := writer{buf: dst, json: true}
	w.beginMap(2)
	w.key("requestId")
	w.stringValue(requestID)
	w.key("sockets")
	w.beginArray(len(sockets))
	for _, s := range sockets {
		w.beginMap(4)
		w.key("id")
		w.stringValue(s.ID)
		w.key("handshake")
		if err := w.value(s.Handshake, 1); err != nil {
			return dst, jsonOnly(err)
		}
		w.key("rooms")
		w.strings(s.Rooms)
		w.key("data")
		if err := w.value(s.Data, 1); err != nil {
			return dst, jsonOnly(err)
		}
		w.endMap()
	}
	w.endArray()
	w.endMap()
	return w.buf, nil
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
	w := writer{buf: dst, json: true}
	w.beginMap(2)
	w.key("requestId")
	w.stringValue(requestID)
	w.key(key)
	w.strings(list)
	w.endMap()
	return w.buf
}

func jsonOnly(err error) error {
	if err == errBinaryInJSON {
		return errorf(ErrUnsupportedValue, "binary data in a JSON response")
	}
	return err
}

// AppendBroadcastWithAckRequest appends the BROADCAST request (type 7) of a broadcast with acknowledgements, in
// msgpack as the reference adapter sends it (it may carry binary):
// {"uid","requestId","type":7,"packet":{"type":2,"data":[event, ...args],"nsp"},"opts":{"rooms","except","flags"}}.
func AppendBroadcastWithAckRequest(dst []byte, uid, requestID string, op *Op) ([]byte, error) {
	w := writer{buf: dst}
	w.beginMap(5)
	w.key("uid")
	w.stringValue(uid)
	w.key("requestId")
	w.stringValue(requestID)
	w.key("type")
	w.intValue(RequestBroadcast)
	w.key("packet")
	if err := w.packet(op, false); err != nil {
		return dst, err
	}
	w.key("opts")
	w.requestOpts(op, true)
	w.endMap()
	if err := op.check(&w); err != nil {
		return dst, err
	}
	return w.buf, nil
}

// AppendBroadcastClientCountResponse appends a server's BROADCAST_CLIENT_COUNT answer (type 8), JSON:
// {"type":8,"requestId","clientCount"}.
func AppendBroadcastClientCountResponse(dst []byte, requestID string, clientCount int) []byte {
	w := writer{buf: dst, json: true}
	w.beginMap(3)
	w.key("type")
	w.intValue(RequestBroadcastClientCount)
	w.key("requestId")
	w.stringValue(requestID)
	w.key("clientCount")
	w.intValue(int64(clientCount))
	w.endMap()
	return w.buf
}

// AppendBroadcastAckResponse appends a BROADCAST_ACK answer (type 9) carrying one client's acknowledgement, in
// msgpack: {"type":9,"requestId","packet":arg}. The reference adapter relays the first argument of the
// acknowledgement only.
func AppendBroadcastAckResponse(dst []byte, requestID string, arg any) ([]byte, error) {
	w := writer{buf: dst}
	w.beginMap(3)
	w.key("type")
	w.intValue(RequestBroadcastAck)
	w.key("requestId")
	w.stringValue(requestID)
	w.key("packet")
	if err := w.value(arg, 1); err != nil {
		return dst, err
	}
	w.endMap()
	return w.buf, nil
}
