package protocol

import (
	"strconv"
	"strings"
	"unicode/utf16"
)

// DefaultPrefix is the key prefix (classic, sharded), stream name and channel
// prefix (streams) that every official adapter uses by default.
const DefaultPrefix = "socket.io"

// EmitterUID is the sender id the official emitters use. Servers drop only
// messages carrying their own uid, and the heartbeat-based adapters count
// every uid but this one as a live server.
const EmitterUID = "emitter"

// A probe is a message that no server acts on, published where every server
// of a namespace reads so that PUBLISH's or SPUBLISH's answer counts them
// (emitter.Probe). It is a broadcast whose packet namespace is
// ProbeNamespace, which names no namespace (namespaces start with "/"): the
// official adapters and this module's ignore a message of another
// namespace. In the classic and legacy formats it is published on the
// broadcast channel of ProbeRoom, a room no server has, which the Node
// adapters drop before decoding anything; in the sharded format, on the
// namespace's channel, which every subscription mode reads.
const (
	ProbeNamespace = "sioredis:probe"
	ProbeRoom      = "sioredis:probe"
)

// BroadcastChannel is the classic (and legacy) channel of a broadcast:
// "P#N#" for zero or several rooms, "P#N#R#" for exactly one room. The
// trailing "#" is required: servers strip exactly one trailing character to
// find the room.
func BroadcastChannel(prefix, nsp string, rooms []string) string {
	if len(rooms) == 1 {
		return prefix + "#" + nsp + "#" + rooms[0] + "#"
	}
	return prefix + "#" + nsp + "#"
}

// BroadcastPattern is the pattern a classic server (socket.io-redis ≥ 5)
// subscribes to for namespace nsp.
func BroadcastPattern(prefix, nsp string) string {
	return prefix + "#" + nsp + "#*"
}

// BroadcastPatternAll is the pattern of the classic broadcasts of every
// namespace of prefix, "P#*": one pattern for a server with many namespaces,
// which filters them itself. Redis matches every PUBLISH against every
// pattern subscribed, so one pattern per namespace slows every publisher.
func BroadcastPatternAll(prefix string) string { return prefix + "#*" }

// ClassicPatterns returns the patterns matching every classic-adapter
// channel of namespace nsp — broadcasts (also the streams adapter 0.3's
// pub/sub channel), requests and responses, in that order — or of every
// namespace when nsp is "". Subscribing to patterns leaves the servers'
// PUBSUB NUMSUB count, which only counts plain subscribers, unchanged.
func ClassicPatterns(prefix, nsp string) (broadcast, request, response string) {
	scope := "*"
	if nsp != "" {
		scope = nsp + "#*"
	}
	return prefix + "#" + scope, prefix + "-request#" + scope, prefix + "-response#" + scope
}

// SpecificResponseChannel is the classic response channel of one server, "P-response#N#uid#", where the
// servers answer its requests when publishOnSpecificResponseChannel is set (adapters ≥ 7.1 subscribe to it).
func SpecificResponseChannel(prefix, nsp, uid string) string {
	return ResponseChannel(prefix, nsp) + uid + "#"
}

// RequestChannel is the classic channel of inter-server requests
// (socketsJoin, socketsLeave, disconnectSockets, serverSideEmit...).
func RequestChannel(prefix, nsp string) string {
	return prefix + "-request#" + nsp + "#"
}

// ResponseChannel is the classic channel of inter-server responses.
func ResponseChannel(prefix, nsp string) string {
	return prefix + "-response#" + nsp + "#"
}

// ShardedMode is the subscriptionMode of a sharded adapter, which decides
// whether a single-room broadcast may use the room's own channel.
type ShardedMode int

const (
	// ShardedStatic servers subscribe to "P#N#" and their response channel
	// only. It is also the safe choice when the servers' mode is unknown:
	// every mode subscribes to "P#N#".
	ShardedStatic ShardedMode = iota
	// ShardedDynamic servers also subscribe to "P#N#R#" for every room that
	// is not a socket id (the adapter default).
	ShardedDynamic
	// ShardedDynamicPrivate servers subscribe to a channel for every room,
	// socket ids included (adapter 8.3).
	ShardedDynamicPrivate
)

// ShardedChannel is the namespace's channel of the sharded adapter, "P#N#":
// every server of the namespace SSUBSCRIBEs to it, and every message but a
// broadcast to one room goes there (see ShardedBroadcastChannel).
func ShardedChannel(prefix, nsp string) string { return prefix + "#" + nsp + "#" }

// ShardedBroadcastChannel is the channel of a broadcast without
// acknowledgement to rooms: the room's own channel "P#N#R#" when there is
// exactly one room and the servers subscribe to it (see ShardedMode; in
// dynamic mode the adapter treats a 20-character room as a socket id and
// gives it no channel), otherwise ShardedChannel.
func ShardedBroadcastChannel(prefix, nsp string, mode ShardedMode, rooms []string) string {
	if len(rooms) == 1 {
		r := rooms[0]
		if mode == ShardedDynamicPrivate || (mode == ShardedDynamic && len(utf16.Encode([]rune(r))) != 20) {
			return prefix + "#" + nsp + "#" + r + "#"
		}
	}
	return ShardedChannel(prefix, nsp)
}

// StreamKey is the stream a streams-adapter server reads namespace nsp
// from: the stream name itself, or with count > 1 (adapter 0.3) the name
// followed by "-" and the namespace's hash modulo count, computed as the
// adapter does (31-multiplier hash over UTF-16 code units with int32
// wrap-around, and JavaScript's sign-keeping remainder).
func StreamKey(name, nsp string, count int) string {
	if count <= 1 {
		return name
	}
	var h int32
	for _, u := range utf16.Encode([]rune(nsp)) {
		h = h*31 + int32(u)
	}
	return name + "-" + strconv.Itoa(int(h)%count)
}

// StreamKeys returns every stream key that streams-adapter servers with
// count streams may read (with count > 1, the remainder of a negative hash
// gives negative suffixes).
func StreamKeys(name string, count int) []string {
	if count <= 1 {
		return []string{name}
	}
	keys := make([]string, 0, 2*count-1)
	for i := -(count - 1); i < count; i++ {
		keys = append(keys, name+"-"+strconv.Itoa(i))
	}
	return keys
}

// globChars are the characters that mean something in a Redis pattern.
const globChars = "*?[]\\"

// NormalizeNamespace adds the leading "/" the servers' of() adds, and
// rejects an empty namespace or one with Redis glob characters (which would
// corrupt the servers' PSUBSCRIBE pattern).
func NormalizeNamespace(nsp string) (string, error) {
	if nsp == "" {
		return "", errorf(ErrInvalidNamespace, "empty namespace (the main namespace is %q)", "/")
	}
	if strings.ContainsAny(nsp, globChars) {
		return "", errorf(ErrInvalidNamespace, "%q contains a Redis glob character (one of %s)", nsp, globChars)
	}
	if nsp[0] != '/' {
		nsp = "/" + nsp
	}
	return nsp, nil
}

// ValidatePrefix rejects an empty prefix or one with Redis glob characters.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return errorf(ErrInvalidPrefix, "empty prefix")
	}
	if strings.ContainsAny(prefix, globChars) {
		return errorf(ErrInvalidPrefix, "%q contains a Redis glob character (one of %s)", prefix, globChars)
	}
	return nil
}

// ValidateRoom rejects an empty room name: it would address nobody.
func ValidateRoom(room string) error {
	if room == "" {
		return errorf(ErrInvalidRoom, "empty room name")
	}
	return nil
}
