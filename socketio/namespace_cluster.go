package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/randid"
	"github.com/sioredis/sioredis/internal/siopacket"
)

// This file holds what a namespace does with the other servers of its cluster: local delivery of a selection,
// the requests this server asks (fetchSockets, broadcasts and server-side emits with acknowledgements) with the
// bookkeeping of their answers, and the handling of what the other servers send (clusterHandler).

// selected returns the local sockets in any of rooms (all when rooms is empty) and in none of except.
func (ns *Namespace) selected(rooms, except []string) []*Socket {
	ids := ns.rooms.match(rooms, except)
	out := make([]*Socket, 0, len(ids))
	for _, id := range ids {
		if s := ns.Socket(id); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// deliver queues p for the local sockets of the selection. With connection state recovery, a packet that is not
// volatile gets an offset as its last argument: the one given (the cluster's, see ClusterRecovery), or one of
// the in-memory store, which keeps the packet for the sockets that will recover.
func (ns *Namespace) deliver(p *eventPacket, rooms, except []string, volatile bool, offset string) error {
	switch {
	case volatile || (ns.recovery == nil && (ns.recLink == nil || offset == "")):
		msgs, err := p.messages()
		if err != nil {
			return err
		}
		for _, s := range ns.selected(rooms, except) {
			s.notifyOutgoing(p.event, p.args)
			_ = s.send(volatile, msgs)
		}
		return nil
	case ns.recovery != nil:
		ns.deliverMu.Lock()
		defer ns.deliverMu.Unlock()
		offset = ns.recovery.nextOffset()
		args := append(slices.Clip(p.args), offset)
		msgs, err := newEventPacket(ns.srv.parser, ns.name, p.event, args).messages()
		if err != nil {
			return err
		}
		ns.recovery.store(offset, rooms, except, msgs)
		for _, s := range ns.selected(rooms, except) {
			s.notifyOutgoing(p.event, args)
			_ = s.send(false, msgs)
		}
		return nil
	default:
		args := append(slices.Clip(p.args), offset)
		msgs, err := newEventPacket(ns.srv.parser, ns.name, p.event, args).messages()
		if err != nil {
			return err
		}
		ns.deliverMu.Lock()
		defer ns.deliverMu.Unlock()
		for _, s := range ns.selected(rooms, except) {
			if s.replayedTo != "" && ns.recLink.CompareOffsets(offset, s.replayedTo) <= 0 {
				continue // replayed to it when it recovered
			}
			s.notifyOutgoing(p.event, args)
			_ = s.send(false, msgs)
		}
		return nil
	}
}

// broadcast sends p to the other servers (unless local) and delivers it to the local sockets, with the cluster's
// offset when it gives one. The local sockets get it even when the cluster could not send it (without an offset
// then: it is in no stream to replay), and the cluster's error is returned after.
func (ns *Namespace) broadcast(ctx context.Context, m *ClusterMessage, p *eventPacket, local bool) error {
	offset := ""
	var sendErr error
	if !local && ns.link != nil {
		if ns.recLink != nil && !m.Volatile {
			var err error
			if offset, err = ns.recLink.SendBroadcast(ctx, m); err != nil {
				// An offset given with the error is an entry the cluster has (one not yet on enough replicas).
				sendErr = fmt.Errorf("socketio: %s to the cluster: %w", m.Type, err)
			}
		} else {
			sendErr = ns.tell(ctx, m)
		}
	}
	return errors.Join(sendErr, ns.deliver(p, m.Rooms, m.Except, m.Volatile, offset))
}

// deliverWithAck queues p for the local sockets of the selection, each with an ack id of its own, and returns how
// many will answer through ack (until ctx ends). Sockets that disconnected meanwhile, or whose volatile packet was
// dropped, are not counted, since they will not answer (the reference server counts them and waits for them until
// its timeout).
func (ns *Namespace) deliverWithAck(ctx context.Context, p *eventPacket, rooms, except []string, volatile bool, ack func(Args)) (int, error) {
	if _, err := p.messages(); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range ns.selected(rooms, except) {
		switch err := s.sendWithAck(ctx, p, volatile, ack); {
		case err == nil:
			n++
		case errors.Is(err, ErrDisconnected), errors.Is(err, engineio.ErrDropped):
		default:
			return n, err
		}
	}
	return n, nil
}

// ServerCount returns the number of servers of the cluster, this one included: 1 without a Config.Cluster.
func (ns *Namespace) ServerCount(ctx context.Context) (int, error) {
	if ns.link == nil {
		return 1, nil
	}
	n, err := ns.link.ServerCount(ctx)
	if err != nil {
		return 0, fmt.Errorf("socketio: server count: %w", err)
	}
	return max(n, 1), nil
}

// tell sends m to the other servers, if any.
func (ns *Namespace) tell(ctx context.Context, m *ClusterMessage) error {
	if ns.link == nil {
		return nil
	}
	if err := ns.link.Send(ctx, m); err != nil {
		return fmt.Errorf("socketio: %s to the cluster: %w", m.Type, err)
	}
	return nil
}

// track routes the responses to request id to fn (on the transport's goroutine: fn must not block) until the
// returned function is called.
func (ns *Namespace) track(id string, fn func(*ClusterMessage)) (untrack func()) {
	ns.reqMu.Lock()
	if ns.requests == nil {
		ns.requests = make(map[string]func(*ClusterMessage))
	}
	ns.requests[id] = fn
	ns.reqMu.Unlock()
	return func() {
		ns.reqMu.Lock()
		delete(ns.requests, id)
		if len(ns.requests) == 0 {
			ns.requests = nil
		}
		ns.reqMu.Unlock()
	}
}

// withRequestTimeout gives ctx Config.RequestTimeout when it has no deadline of its own.
func (ns *Namespace) withRequestTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, ns.srv.cfg.RequestTimeout)
}

// ask sends the request m to the other servers and returns their responses of type want, one per other server
// (as ServerCount counts them), in the order they came. When ctx (given Config.RequestTimeout if it has no
// deadline) ends first, it returns the responses so far with an error wrapping ErrRequestTimeout and ctx.Err().
func (ns *Namespace) ask(ctx context.Context, m *ClusterMessage, want ClusterMessageType) ([]*ClusterMessage, error) {
	if ns.link == nil {
		return nil, nil
	}
	ctx, cancel := ns.withRequestTimeout(ctx)
	defer cancel()
	n, err := ns.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	others := n - 1
	if others == 0 {
		return nil, nil
	}
	m.RequestID = randid.New()
	ch := make(chan *ClusterMessage, others)
	defer ns.track(m.RequestID, func(r *ClusterMessage) {
		if r.Type == want {
			select {
			case ch <- r:
			default: // more answers than servers counted: ignored
			}
		}
	})()
	if err := ns.tell(ctx, m); err != nil {
		return nil, err
	}
	out := make([]*ClusterMessage, 0, others)
	for len(out) < others {
		select {
		case r := <-ch:
			out = append(out, r)
		case <-ctx.Done():
			// Answers that came with the end are taken too.
			for len(out) < others {
				select {
				case r := <-ch:
					out = append(out, r)
					continue
				default:
				}
				break
			}
			if len(out) == others {
				return out, nil
			}
			return out, fmt.Errorf("%w: %s got %d of %d answers: %w", ErrRequestTimeout, m.Type, len(out), others, ctx.Err())
		}
	}
	return out, nil
}

// clusterHandler is the ClusterHandler of a namespace: what the other servers send, applied to the local sockets
// and answered from local state.
type clusterHandler Namespace

// defaultAckTimeout bounds the wait for the acknowledgements of another server's broadcast that carries no
// timeout.
const defaultAckTimeout = 10 * time.Second

// HandleClusterMessage implements ClusterHandler.
func (h *clusterHandler) HandleClusterMessage(m *ClusterMessage) {
	ns := (*Namespace)(h)
	if err := ns.handleClusterMessage(m); err != nil {
		ns.srv.log.Warn("socketio: ignored a message of the cluster", "nsp", ns.name, "type", m.Type.String(),
			"from", m.From, "err", err)
	}
}

func (ns *Namespace) handleClusterMessage(m *ClusterMessage) error {
	if m.Type.IsResponse() {
		ns.reqMu.Lock()
		fn := ns.requests[m.RequestID]
		ns.reqMu.Unlock()
		if fn != nil {
			fn(m)
		}
		return nil
	}
	ctx := ns.srv.ctx
	switch m.Type {
	case ClusterBroadcast:
		if m.OnlyIfRoom != "" && !ns.rooms.has(m.OnlyIfRoom) {
			return nil
		}
		p := newEventPacket(ns.srv.parser, ns.name, m.Event, m.Args)
		if m.RequestID == "" {
			return ns.deliver(p, m.Rooms, m.Except, m.Volatile, m.Offset)
		}
		return ns.answerBroadcastWithAck(m, p)
	case ClusterSocketsJoin:
		for _, s := range ns.selected(m.Rooms, m.Except) {
			s.Join(m.TargetRooms...)
		}
	case ClusterSocketsLeave:
		for _, s := range ns.selected(m.Rooms, m.Except) {
			s.Leave(m.TargetRooms...)
		}
	case ClusterDisconnectSockets:
		for _, s := range ns.selected(m.Rooms, m.Except) {
			s.Disconnect(m.Close)
		}
	case ClusterFetchSockets:
		socks := ns.selected(m.Rooms, m.Except)
		infos := make([]SocketInfo, len(socks))
		for i, s := range socks {
			infos[i] = s.info()
		}
		return ns.tell(ctx, &ClusterMessage{Type: ClusterFetchSocketsResponse, To: m.From, RequestID: m.RequestID, Sockets: infos})
	case ClusterSocketIDs:
		socks := ns.selected(m.Rooms, m.Except)
		ids := make([]string, len(socks))
		for i, s := range socks {
			ids[i] = s.id
		}
		return ns.tell(ctx, &ClusterMessage{Type: ClusterSocketIDsResponse, To: m.From, RequestID: m.RequestID, Rooms: ids})
	case ClusterAllRooms:
		return ns.tell(ctx, &ClusterMessage{Type: ClusterAllRoomsResponse, To: m.From, RequestID: m.RequestID, Rooms: ns.rooms.all()})
	case ClusterServerSideEmit:
		args, err := argsOf(m.Args...)
		if err != nil {
			return err
		}
		if m.RequestID == "" {
			ns.runServerSideHandlers(ctx, m.Event, args, nil)
			return nil
		}
		ns.runServerSideHandlers(ctx, m.Event, args, func(vals ...any) error {
			r := &ClusterMessage{Type: ClusterServerSideEmitResponse, To: m.From, RequestID: m.RequestID}
			if len(vals) > 0 {
				r.Args = vals[:1] // one value per server, as the reference adapter carries
			}
			return ns.tell(ctx, r)
		})
	default:
		return fmt.Errorf("unknown message type %d", m.Type)
	}
	return nil
}

// answerBroadcastWithAck delivers another server's broadcast with acknowledgements to the local sockets and sends
// the answers: the client count, and each acknowledgement (its first argument, as the reference adapter relays
// it). The answers are sent from goroutines of their own, since the acknowledgements come on the clients' reading
// goroutines; the Server waits for them when it closes.
func (ns *Namespace) answerBroadcastWithAck(m *ClusterMessage, p *eventPacket) error {
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = defaultAckTimeout
	}
	ctx, cancel := context.WithTimeout(ns.srv.ctx, timeout)
	context.AfterFunc(ctx, cancel) // released at the timeout or when the server closes
	answer := func(r *ClusterMessage) {
		r.To, r.RequestID = m.From, m.RequestID
		ns.srv.goTracked(func() {
			if err := ns.tell(ns.srv.ctx, r); err != nil && ns.srv.ctx.Err() == nil {
				ns.srv.log.Warn("socketio: answering a broadcast with acknowledgements", "nsp", ns.name, "err", err)
			}
		})
	}
	n, err := ns.deliverWithAck(ctx, p, m.Rooms, m.Except, m.Volatile, func(reply Args) {
		r := &ClusterMessage{Type: ClusterBroadcastAck}
		if vals, _ := reply.Values(); len(vals) > 0 {
			r.Args = vals[:1]
		} else {
			r.Args = []any{nil}
		}
		answer(r)
	})
	answer(&ClusterMessage{Type: ClusterBroadcastClientCount, ClientCount: n})
	return err
}

// argsOf encodes values decoded by a transport as received arguments.
func argsOf(values ...any) (Args, error) {
	data, bufs, err := siopacket.AppendAckData(nil, values, nil)
	if err != nil {
		return Args{}, err
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Args{}, err
	}
	return NewArgs(raw, bufs), nil
}
