package protocol

import "strings"

// ChannelKind is the role of a Redis channel in the adapters' naming scheme.
type ChannelKind uint8

// Channel kinds.
const (
	// ChannelOther is a channel outside the scheme of the given prefix.
	ChannelOther ChannelKind = iota
	// ChannelBroadcast is "P#N#" or "P#N#X#": classic broadcasts (X is a
	// room), every sharded-adapter message (X is a room or the uid of a
	// server receiving responses), and the streams adapter 0.3 pub/sub
	// messages.
	ChannelBroadcast
	// ChannelRequest is the classic "P-request#N#".
	ChannelRequest
	// ChannelResponse is the classic "P-response#N#" or "P-response#N#U#".
	ChannelResponse
)

// ChannelInfo is what a channel name says.
type ChannelInfo struct {
	Kind ChannelKind
	// Nsp is the namespace, with its leading "/".
	Nsp string
	// Suffix is X of "P#N#X#" (a room, or a server uid) and U of
	// "P-response#N#U#"; it is empty for the namespace channels.
	Suffix string
}

// ParseChannel splits a channel name of the adapters using prefix P. The
// namespace ends at the first "#" after the prefix; everything between it
// and the final "#" is the suffix (room names may contain "#").
func ParseChannel(prefix, channel string) ChannelInfo {
	var kind ChannelKind
	var rest string
	switch {
	case strings.HasPrefix(channel, prefix+"#"):
		kind, rest = ChannelBroadcast, channel[len(prefix)+1:]
	case strings.HasPrefix(channel, prefix+"-request#"):
		kind, rest = ChannelRequest, channel[len(prefix)+len("-request#"):]
	case strings.HasPrefix(channel, prefix+"-response#"):
		kind, rest = ChannelResponse, channel[len(prefix)+len("-response#"):]
	default:
		return ChannelInfo{}
	}
	nsp, suffix, ok := strings.Cut(rest, "#")
	if !ok || !strings.HasPrefix(nsp, "/") {
		return ChannelInfo{}
	}
	if suffix != "" {
		if !strings.HasSuffix(suffix, "#") || kind == ChannelRequest {
			return ChannelInfo{}
		}
		suffix = suffix[:len(suffix)-1]
	}
	return ChannelInfo{Kind: kind, Nsp: nsp, Suffix: suffix}
}

// DecodePubSub decodes a message received on channel through a classic
// subscription (SUBSCRIBE or PSUBSCRIBE), published by a Socket.IO server or
// emitter using prefix: a classic request or response, a classic broadcast (a
// msgpack array), or a ClusterAdapter message (the streams adapter 0.3 pub/sub).
// A namespace the payload does not carry is taken from the channel.
func DecodePubSub(prefix, channel string, payload []byte) (*Message, error) {
	info := ParseChannel(prefix, channel)
	var m *Message
	var err error
	switch {
	case info.Kind == ChannelRequest:
		m, err = DecodeClassicRequest(payload)
	case info.Kind == ChannelResponse:
		m, err = DecodeClassicResponse(payload)
	case isMsgpackArray(payload):
		m, err = DecodeClassicBroadcast(payload)
	default:
		m, err = DecodeClusterMessage(payload)
	}
	return withChannelNsp(m, err, info)
}

// DecodeSharded decodes a message received on channel through a sharded
// subscription (SSUBSCRIBE): a ClusterAdapter message of the sharded adapter.
// A namespace the payload does not carry is taken from the channel.
func DecodeSharded(prefix, channel string, payload []byte) (*Message, error) {
	m, err := DecodeClusterMessage(payload)
	return withChannelNsp(m, err, ParseChannel(prefix, channel))
}

func withChannelNsp(m *Message, err error, info ChannelInfo) (*Message, error) {
	if err != nil {
		return nil, err
	}
	if m.Nsp == "" {
		m.Nsp = info.Nsp
	}
	return m, nil
}

// isMsgpackArray reports whether payload starts with a msgpack array header.
func isMsgpackArray(payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	c := payload[0]
	return c&0xf0 == 0x90 || c == 0xdc || c == 0xdd
}
