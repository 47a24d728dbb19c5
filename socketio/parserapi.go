package socketio

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/eventargs"
)

// Parser turns Socket.IO packets into Engine.IO messages and back: the Node server's parser option. The default
// (Config.Parser nil, or JSONParser) is socket.io-parser's format, JSON with binary attachments; package
// socketio/msgpackparser is socket.io-msgpack-parser's. Every client of a server must use the server's parser.
// Implementations must be safe for concurrent use; their Decoders are used by one goroutine at a time.
type Parser interface {
	// Encode returns the Engine.IO messages of one packet. The Server encodes a broadcast once for all its
	// recipients, so the messages must not depend on the connection. Errors (an argument that cannot be
	// encoded, too many attachments) are returned to the caller of the emit.
	Encode(p Packet) ([]engineio.Message, error)
	// NewDecoder returns the decoder of one connection's packets, with the Server's limits.
	NewDecoder(cfg DecoderConfig) Decoder
}

// Decoder decodes the packets of one connection, from its Engine.IO messages in the order they arrived. It is
// used by one goroutine at a time.
type Decoder interface {
	// Decode takes the next message. It returns complete false, with no error, while the packet needs more
	// messages (binary attachments: the Server then bounds the wait with Config.AttachmentTimeout). An error
	// closes the connection with ReasonParseError; errors wrap ErrBadPacket, and ErrPacketLimit when a limit
	// of DecoderConfig was crossed (logged as a warning).
	Decode(msg engineio.Message) (p ReceivedPacket, complete bool, err error)
}

// DecoderConfig holds the limits a Decoder applies to one connection (Config's fields of the same names, with
// their defaults). Parsers that have no binary attachments ignore them: their packets are bounded by the
// Engine.IO message size (engineio.Config.MaxHTTPBufferSize).
type DecoderConfig struct {
	// MaxAttachments bounds the binary attachments one packet may announce.
	MaxAttachments int
	// MaxAttachmentBytes bounds the bytes of the attachments received for a packet still waiting for the rest.
	MaxAttachmentBytes int
}

// NoAckID is the ID of a packet that has no acknowledgement id.
const NoAckID = -1

// Packet is an outgoing packet, as Parser.Encode receives it.
type Packet struct {
	// Type is PacketConnect, PacketDisconnect, PacketEvent, PacketAck or PacketConnectError; an EVENT or ACK
	// carrying binary is written as the parser writes binary (BINARY_EVENT and attachments by default).
	Type PacketType
	// Nsp is the namespace, "/" for the main one.
	Nsp string
	// ID is the acknowledgement id of an EVENT asking for one and of an ACK, NoAckID otherwise.
	ID int64
	// Event is the name of an EVENT; Args are its arguments, or those of an ACK. The values follow the
	// argument-encoding rule of package jsvalue.
	Event string
	Args  []any
	// Data is the payload of a CONNECT (a map[string]string: "sid", and "pid" with connection state recovery)
	// or of a CONNECT_ERROR (an object with "message" and, when set, "data"); nil otherwise.
	Data any
}

// ReceivedPacket is an incoming packet, as a Decoder returns it.
type ReceivedPacket struct {
	// Type is the packet's type; BINARY_EVENT and BINARY_ACK may be reported as such or as EVENT and ACK.
	Type PacketType
	// Nsp is the namespace, "/" when the packet names none.
	Nsp string
	// ID is the acknowledgement id, NoAckID when there is none.
	ID int64
	// Event is the name of an EVENT, checked with siopacket.ValidateEvent; Args its arguments (those of an ACK).
	Event string
	Args  Args
	// Auth is the JSON payload of a CONNECT, nil when there is none.
	Auth json.RawMessage
}

// ErrPacketLimit is wrapped, with ErrBadPacket, by the Decoder errors of a packet crossing a limit of
// DecoderConfig (or of the parser's own).
var ErrPacketLimit = errors.New("socketio: packet over a limit")

// NewArgs returns the Args of a received packet, for Parser implementations: the JSON of each argument, binary
// values written as socket.io-parser's placeholders ({"_placeholder":true,"num":N}) and N indexing bufs. The
// arguments' text is copied into one array; bufs is kept.
func NewArgs(raw []json.RawMessage, bufs [][]byte) Args { return Args{l: eventargs.Join(raw, bufs)} }

// NewArgsJSON returns the Args of a received packet from the JSON text of the array of its arguments (placeholders
// as for NewArgs), which it keeps rather than copies: each argument then costs 4 bytes besides its text. Anything
// but one valid JSON array is an error wrapping ErrBadPacket.
func NewArgsJSON(array []byte, bufs [][]byte) (Args, error) {
	if !validJSON(array) {
		return Args{}, fmt.Errorf("%w: arguments are not JSON", ErrBadPacket)
	}
	l, err := eventargs.Split(array, 0, bufs)
	if err != nil {
		return Args{}, fmt.Errorf("%w: %w", ErrBadPacket, err)
	}
	return Args{l: l}, nil
}

// JSONParser is the default Parser: socket.io-parser's packets (socket.io and socket.io-client's default), text
// with JSON payloads and one binary Engine.IO message per binary attachment. It is a value without state, safe for
// concurrent use.
type JSONParser struct{}

// Encode returns the messages of p: its text, then its attachments.
func (JSONParser) Encode(p Packet) ([]engineio.Message, error) {
	switch p.Type {
	case PacketEvent:
		return encodeEvent(p.Nsp, p.ID, p.Event, p.Args)
	case PacketAck:
		return encodeEvent(p.Nsp, p.ID, "", p.Args)
	}
	var data []byte
	if p.Data != nil {
		var err error
		if data, err = json.Marshal(p.Data); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
		}
	}
	return encodePacket(p.Type, p.Nsp, p.ID, data, nil), nil
}

// NewDecoder returns a decoder applying cfg.
func (JSONParser) NewDecoder(cfg DecoderConfig) Decoder { return &limitedJSONDecoder{cfg: cfg} }

// limitedJSONDecoder is the Decoder NewDecoder returns; the Server keeps a jsonDecoder in each connection instead,
// with its limits in the Server (an idle connection costs no more than before the Parser existed).
type limitedJSONDecoder struct {
	jsonDecoder
	cfg DecoderConfig
}

func (d *limitedJSONDecoder) Decode(msg engineio.Message) (ReceivedPacket, bool, error) {
	return d.decode(msg, &d.cfg)
}

// jsonDecoder is JSONParser's decoding state: a binary packet waits in pending for its attachments.
type jsonDecoder struct {
	pending *pendingPacket
}

// pendingPacket is a binary packet and the bytes of the attachments received for it so far.
type pendingPacket struct {
	packet
	bytes int
}

func (d *jsonDecoder) decode(msg engineio.Message, cfg *DecoderConfig) (ReceivedPacket, bool, error) {
	if msg.Binary {
		p := d.pending
		if p == nil {
			return ReceivedPacket{}, false, fmt.Errorf("%w: unexpected binary message", ErrBadPacket)
		}
		p.bytes += len(msg.Data)
		if p.bytes > cfg.MaxAttachmentBytes {
			d.pending = nil
			return ReceivedPacket{}, false, fmt.Errorf("%w: %w: attachments over the byte limit (%d)",
				ErrBadPacket, ErrPacketLimit, cfg.MaxAttachmentBytes)
		}
		p.bufs = append(p.bufs, msg.Data)
		if len(p.bufs) < p.attachments {
			return ReceivedPacket{}, false, nil
		}
		d.pending = nil
		if err := eventargs.CheckPlaceholders(p.data, len(p.bufs)); err != nil {
			return ReceivedPacket{}, false, fmt.Errorf("%w: %w", ErrBadPacket, err)
		}
		return p.received()
	}
	if d.pending != nil {
		return ReceivedPacket{}, false, fmt.Errorf("%w: text message while waiting for binary attachments", ErrBadPacket)
	}
	p, err := decodePacket(msg.Data, cfg.MaxAttachments)
	if err != nil {
		return ReceivedPacket{}, false, err
	}
	if p.attachments > 0 {
		// Only this copy escapes: a packet without attachments stays on the stack.
		d.pending = &pendingPacket{packet: p}
		d.pending.bufs = make([][]byte, 0, p.attachments)
		return ReceivedPacket{}, false, nil
	}
	return p.received()
}

// received returns the packet as the Server handles it, its payload split into the event name and arguments.
func (p *packet) received() (ReceivedPacket, bool, error) {
	r := ReceivedPacket{Type: p.typ, Nsp: p.nsp, ID: p.id}
	var err error
	switch p.typ {
	case PacketConnect:
		r.Auth = p.data
	case PacketEvent, PacketBinaryEvent:
		r.Event, r.Args, err = p.eventArgs()
	case PacketAck, PacketBinaryAck:
		r.Args, err = p.ackArgs()
	}
	if err != nil {
		return ReceivedPacket{}, false, err
	}
	return r, true, nil
}
