package socketio

import (
	"sync"

	"github.com/sioredis/sioredis/engineio"
)

// eventPacket is an event to deliver to sockets: its encoding is computed once and shared by every socket it
// reaches. Its fields do not change once made. Safe for concurrent use.
type eventPacket struct {
	parser Parser
	nsp    string
	event  string
	args   []any

	once sync.Once
	msgs []engineio.Message
	err  error
}

func newEventPacket(parser Parser, nsp, event string, args []any) *eventPacket {
	return &eventPacket{parser: parser, nsp: nsp, event: event, args: args}
}

// messages returns the Engine.IO messages of the packet: the EVENT (or BINARY_EVENT) and its attachments, with
// the arguments encoded as Socket.Emit encodes them, by p's parser. It checks the event name too.
func (p *eventPacket) messages() ([]engineio.Message, error) {
	p.once.Do(func() {
		p.msgs, p.err = p.parser.Encode(Packet{Type: PacketEvent, Nsp: p.nsp, ID: NoAckID, Event: p.event, Args: p.args})
		if p.err == nil {
			engineio.PrepareMessages(p.msgs) // the same WebSocket frames for every recipient
		}
	})
	return p.msgs, p.err
}

// withAckID returns the messages of p (msgs, from p.messages) with the ack id set: the default parser's are
// rewritten, sharing the payload and the attachments; other parsers encode the packet again.
func (p *eventPacket) withAckID(msgs []engineio.Message, id int64) ([]engineio.Message, error) {
	if _, ok := p.parser.(JSONParser); ok {
		return withAckID(msgs, p.nsp, id), nil
	}
	return p.parser.Encode(Packet{Type: PacketEvent, Nsp: p.nsp, ID: id, Event: p.event, Args: p.args})
}

// withAckID returns msgs, the messages of an EVENT packet of namespace nsp without an ack id (from
// eventPacket.messages), with the ack id set; the payload and the attachments are shared, not copied.
func withAckID(msgs []engineio.Message, nsp string, id int64) []engineio.Message {
	attachments := len(msgs) - 1
	var scratch [64]byte
	skip := len(appendHeader(scratch[:0], PacketEvent, nsp, -1, attachments))
	payload := msgs[0].Data[skip:]
	text := appendHeader(make([]byte, 0, skip+20+len(payload)), PacketEvent, nsp, id, attachments)
	out := make([]engineio.Message, len(msgs))
	copy(out, msgs)
	out[0] = engineio.Message{Data: append(text, payload...)}
	return out
}
