package protocol

// Format is the adapter message format a decoded Message was written in.
type Format uint8

// Message formats.
const (
	// FormatClassic is the classic pub/sub adapter (@socket.io/redis-adapter
	// ≥ 6 and its emitters): msgpack broadcasts [uid, packet, opts], JSON or
	// msgpack requests and responses.
	FormatClassic Format = iota + 1
	// FormatLegacy is socket.io 2 with socket.io-redis ≤ 5: broadcasts with
	// packet type 5 or without "except" in opts, [packet, opts] broadcasts of
	// socket.io-redis 0.1, and requests keyed "requestid". A socket.io 2
	// broadcast without binary has the classic shape exactly, and is
	// reported as FormatClassic.
	FormatLegacy
	// FormatCluster is a ClusterAdapter message {uid, nsp, type, data}, as
	// the sharded adapter publishes it (JSON or msgpack) and as the streams
	// adapter 0.3 publishes its ephemeral messages (msgpack).
	FormatCluster
	// FormatStream is an entry of a streams-adapter stream.
	FormatStream
)

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case FormatClassic:
		return "classic"
	case FormatLegacy:
		return "legacy"
	case FormatCluster:
		return "cluster"
	case FormatStream:
		return "stream"
	}
	return "unknown"
}

// MarshalText writes the name of the format.
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Encoding is how a message body was serialised.
type Encoding uint8

// Encodings.
const (
	EncodingMsgpack Encoding = iota + 1
	EncodingJSON
)

// String returns the encoding's name.
func (e Encoding) String() string {
	switch e {
	case EncodingMsgpack:
		return "msgpack"
	case EncodingJSON:
		return "json"
	}
	return "unknown"
}

// MarshalText writes the name of the encoding.
func (e Encoding) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// Kind is what a decoded message does.
type Kind uint8

// Message kinds. The comment of each says which fields of Message it fills
// besides Format, Encoding, Kind, Type, UID and Nsp.
const (
	KindUnknown Kind = iota // a type this package does not know: Data holds the body
	// KindBroadcast sends an event to clients: Rooms, Except, Flags,
	// PacketType, Event, Args.
	KindBroadcast
	// KindBroadcastWithAck is a broadcast whose senders wait for client
	// acknowledgements: as KindBroadcast, plus RequestID.
	KindBroadcastWithAck
	// KindSocketsJoin makes the sockets selected by Rooms and Except join
	// TargetRooms.
	KindSocketsJoin
	// KindSocketsLeave makes the selected sockets leave TargetRooms.
	KindSocketsLeave
	// KindDisconnectSockets disconnects the selected sockets: Close.
	KindDisconnectSockets
	// KindFetchSockets asks every server for its sockets in Rooms minus
	// Except: RequestID.
	KindFetchSockets
	// KindFetchSocketsResponse answers it: RequestID, Data (the sockets:
	// id, handshake, rooms, data).
	KindFetchSocketsResponse
	// KindServerSideEmit sends an event to the other servers: Event, Args,
	// and RequestID when the sender waits for acknowledgements.
	KindServerSideEmit
	// KindServerSideEmitResponse is one server's acknowledgement: RequestID,
	// Data, and Args, the acknowledgement as the requester's callback gets it
	// (one value, or none when the server acknowledged without an argument).
	KindServerSideEmitResponse
	// KindBroadcastClientCount tells the sender of a broadcast with ack how
	// many clients will answer: RequestID, Data (the count).
	KindBroadcastClientCount
	// KindBroadcastAck carries one client acknowledgement: RequestID, Data
	// (its first argument, as sent), and Args.
	KindBroadcastAck
	// KindInitialHeartbeat announces a new server (cluster adapters with
	// heartbeats).
	KindInitialHeartbeat
	// KindHeartbeat says a server is alive.
	KindHeartbeat
	// KindAdapterClose says a server is leaving.
	KindAdapterClose
	// KindSockets asks for the ids of the sockets in Rooms (classic
	// SOCKETS, legacy "clients"): RequestID.
	KindSockets
	// KindSocketsResponse answers it: RequestID, Data (the ids).
	KindSocketsResponse
	// KindAllRooms asks for every room: RequestID.
	KindAllRooms
	// KindAllRoomsResponse answers it (or a legacy clientRooms request):
	// RequestID, Data (the rooms).
	KindAllRoomsResponse
	// KindClientRooms asks for the rooms of socket SID (legacy): RequestID.
	KindClientRooms
	// KindRemoteJoin makes socket SID join Room (legacy and the socket-id
	// form of classic requests): RequestID.
	KindRemoteJoin
	// KindRemoteLeave makes socket SID leave Room: RequestID.
	KindRemoteLeave
	// KindRemoteDisconnect disconnects socket SID: RequestID, Close.
	KindRemoteDisconnect
	// KindCustomRequest is a legacy customRequest: RequestID, Data.
	KindCustomRequest
	// KindCustomResponse answers it: RequestID, Data.
	KindCustomResponse
	// KindResponse is a response whose request cannot be told from its
	// content (an acknowledgement of remoteJoin, remoteLeave or
	// remoteDisconnect, or an unknown shape): RequestID, Data.
	KindResponse
)

var kindNames = [...]string{
	KindUnknown:                "unknown",
	KindBroadcast:              "broadcast",
	KindBroadcastWithAck:       "broadcastWithAck",
	KindSocketsJoin:            "socketsJoin",
	KindSocketsLeave:           "socketsLeave",
	KindDisconnectSockets:      "disconnectSockets",
	KindFetchSockets:           "fetchSockets",
	KindFetchSocketsResponse:   "fetchSocketsResponse",
	KindServerSideEmit:         "serverSideEmit",
	KindServerSideEmitResponse: "serverSideEmitResponse",
	KindBroadcastClientCount:   "broadcastClientCount",
	KindBroadcastAck:           "broadcastAck",
	KindInitialHeartbeat:       "initialHeartbeat",
	KindHeartbeat:              "heartbeat",
	KindAdapterClose:           "adapterClose",
	KindSockets:                "sockets",
	KindSocketsResponse:        "socketsResponse",
	KindAllRooms:               "allRooms",
	KindAllRoomsResponse:       "allRoomsResponse",
	KindClientRooms:            "clientRooms",
	KindRemoteJoin:             "remoteJoin",
	KindRemoteLeave:            "remoteLeave",
	KindRemoteDisconnect:       "remoteDisconnect",
	KindCustomRequest:          "customRequest",
	KindCustomResponse:         "customResponse",
	KindResponse:               "response",
}

// String returns the name of the kind, e.g. "socketsJoin".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// MarshalText writes the name of the kind.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// NoType is the Type of messages that carry no type number: classic
// broadcasts and most classic responses.
const NoType = -1

// Message is one decoded adapter message. Kind says which fields are set
// (see the Kind constants); the others are zero. The values inside Args,
// Flags and Data are what jsvalue.DecodeMsgpackOrdered returns (JSON bodies
// decode to the same types: integral numbers to int64, others to float64),
// with objects as jsvalue.Object in wire order inside Args and Data, as a
// JavaScript receiver sees them; each message is decoded once.
//
// A Message is a plain value that belongs to the caller: the decoders share
// nothing with it (not even the input bytes), and it is not safe for
// concurrent modification.
type Message struct {
	Format   Format
	Encoding Encoding
	Kind     Kind
	// Type is the type number on the wire: the request type of classic
	// requests (and of the responses that carry one), the ClusterAdapter
	// message type of cluster messages and stream entries, or NoType.
	Type int
	// UID is the sender's id ("emitter" for the official emitters), when
	// the message carries one.
	UID string
	// Nsp is the namespace, with its leading "/". Classic requests and
	// responses do not carry it: DecodePubSub takes it from the channel.
	Nsp       string
	RequestID string
	// Rooms and Except select the sockets (opts.rooms and opts.except).
	// Numeric rooms are given in decimal.
	Rooms  []string
	Except []string
	// Flags are the broadcast flags (volatile, compress, timeout...).
	Flags map[string]any
	// PacketType is the Socket.IO packet type of a broadcast: 2 (EVENT), or
	// 5 (BINARY_EVENT) from socket.io 2.
	PacketType int
	// Event is the event name (a numeric name is given in decimal) and Args
	// its arguments.
	Event string
	Args  []any
	// TargetRooms are the rooms that socketsJoin and socketsLeave act on.
	TargetRooms []string
	Close       bool
	// SID and Room are the socket and room of socket-id requests.
	SID  string
	Room string
	// Data is the rest of the body, for responses and unknown types.
	Data any
}
