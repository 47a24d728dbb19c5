package redisadapter

import (
	"context"
	"fmt"

	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/socketio"
)

// This file maps socketio.ClusterMessages to the classic format of @socket.io/redis-adapter and back; the layouts
// themselves are package protocol's.

// Send implements socketio.ClusterLink. Broadcasts go to the broadcast channel (the room's own channel for a
// single room, as the official adapter publishes them), requests to the request channel, and responses to the
// shared response channel, where the official adapter answers (and where its requester listens whatever its
// publishOnSpecificResponseChannel option says).
func (l *link) Send(ctx context.Context, m *socketio.ClusterMessage) error {
	uid := l.a.uid
	var body []byte
	var err error
	channel := l.requests
	switch m.Type {
	case socketio.ClusterBroadcast:
		op := clusterOp(l.nsp, m)
		if m.RequestID != "" {
			body, err = protocol.AppendBroadcastWithAckRequest(nil, uid, m.RequestID, op)
			break
		}
		body, err = protocol.AppendClassicBroadcast(nil, uid, op, false)
		channel = protocol.BroadcastChannel(l.a.cfg.Prefix, l.nsp, m.Rooms)
	case socketio.ClusterSocketsJoin, socketio.ClusterSocketsLeave, socketio.ClusterDisconnectSockets:
		body, err = protocol.AppendClassicRequest(nil, uid, clusterOp(l.nsp, m))
	case socketio.ClusterFetchSockets:
		body = protocol.AppendFetchSocketsRequest(nil, uid, m.RequestID, m.Rooms, m.Except)
	case socketio.ClusterServerSideEmit:
		if err := siopacket.ValidateServerEvent(m.Event); err != nil {
			return err
		}
		op := clusterOp(l.nsp, m)
		if m.RequestID != "" {
			body, err = protocol.AppendServerSideEmitWithAckRequest(nil, uid, m.RequestID, op)
		} else {
			body, err = protocol.AppendClassicRequest(nil, uid, op)
		}
	case socketio.ClusterFetchSocketsResponse:
		fetched := make([]protocol.FetchedSocket, len(m.Sockets))
		for i, s := range m.Sockets {
			fetched[i] = protocol.FetchedSocket{ID: s.ID, Handshake: wireHandshake(s.Handshake), Rooms: s.Rooms, Data: wireData(s.Data)}
		}
		body, err = protocol.AppendFetchSocketsResponse(nil, m.RequestID, fetched)
		channel = l.responses
	case socketio.ClusterSocketIDsResponse:
		body, channel = protocol.AppendSocketsResponse(nil, m.RequestID, m.Rooms), l.responses
	case socketio.ClusterAllRoomsResponse:
		body, channel = protocol.AppendAllRoomsResponse(nil, m.RequestID, m.Rooms), l.responses
	case socketio.ClusterServerSideEmitResponse:
		body, err = protocol.AppendServerSideEmitResponse(nil, m.RequestID, m.Args)
		channel = l.responses
	case socketio.ClusterBroadcastClientCount:
		body, channel = protocol.AppendBroadcastClientCountResponse(nil, m.RequestID, m.ClientCount), l.responses
	case socketio.ClusterBroadcastAck:
		var first any
		if len(m.Args) > 0 {
			first = m.Args[0]
		}
		body, err = protocol.AppendBroadcastAckResponse(nil, m.RequestID, first)
		channel = l.responses
	default:
		return fmt.Errorf("redisadapter: the classic format has no %s message", m.Type)
	}
	if err != nil {
		return err
	}
	n, err := publish(ctx, l.a.rdb, channel, body)
	l.a.obs.sent(err)
	if err == nil {
		l.a.obs.published(l.a.log, channel, n)
	}
	return err
}

// decode returns the ClusterMessage of what arrived on channel (described by info), or nil for what this server
// ignores: its own messages, and the message types it does not answer.
func (l *link) decode(info protocol.ChannelInfo, channel string, payload []byte) (*socketio.ClusterMessage, error) {
	switch info.Kind {
	case protocol.ChannelBroadcast:
		return l.decodeBroadcast(info, payload)
	case protocol.ChannelRequest:
		return l.decodeRequest(payload)
	case protocol.ChannelResponse:
		if channel != l.responses && channel != l.mine {
			return nil, nil // another server's specific response channel
		}
		return l.decodeResponse(payload)
	}
	return nil, nil
}

func (l *link) decodeBroadcast(info protocol.ChannelInfo, payload []byte) (*socketio.ClusterMessage, error) {
	msg, err := protocol.DecodeClassicBroadcast(payload)
	if err != nil {
		return nil, err
	}
	if msg.UID == l.a.uid || msg.Nsp != l.nsp {
		return nil, nil
	}
	f, _ := msg.BroadcastFlags()
	return &socketio.ClusterMessage{
		Type: socketio.ClusterBroadcast, From: msg.UID, Rooms: msg.Rooms, Except: msg.Except,
		Volatile: f.Volatile, Compress: f.Compress, Event: msg.Event, Args: msg.Args,
		// As the official adapter does, a broadcast on a room's channel is for the servers that have the room.
		OnlyIfRoom: info.Suffix,
	}, nil
}

func (l *link) decodeRequest(payload []byte) (*socketio.ClusterMessage, error) {
	msg, err := protocol.DecodeClassicRequest(payload)
	if err != nil {
		return nil, err
	}
	if msg.UID == l.a.uid {
		return nil, nil
	}
	switch msg.Kind {
	case protocol.KindSockets, protocol.KindAllRooms: // the classic format's own requests
		m := &socketio.ClusterMessage{Type: socketio.ClusterSocketIDs, From: msg.UID, RequestID: msg.RequestID, Rooms: msg.Rooms, Except: msg.Except}
		if msg.Kind == protocol.KindAllRooms {
			m.Type = socketio.ClusterAllRooms
		}
		return m, nil
	case protocol.KindSocketsJoin, protocol.KindSocketsLeave, protocol.KindDisconnectSockets, protocol.KindFetchSockets,
		protocol.KindBroadcastWithAck, protocol.KindServerSideEmit:
		return clusterMessageOf(msg), nil
	}
	return nil, nil // requests of the older socket-id form, which this server does not answer
}

func (l *link) decodeResponse(payload []byte) (*socketio.ClusterMessage, error) {
	msg, err := protocol.DecodeClassicResponse(payload)
	if err != nil {
		return nil, err
	}
	m := &socketio.ClusterMessage{RequestID: msg.RequestID}
	switch msg.Kind {
	case protocol.KindServerSideEmitResponse:
		m.Type, m.Args = socketio.ClusterServerSideEmitResponse, msg.Args
	case protocol.KindBroadcastClientCount:
		n, _ := msg.Data.(int64)
		m.Type, m.ClientCount = socketio.ClusterBroadcastClientCount, int(n)
	case protocol.KindBroadcastAck:
		m.Type, m.Args = socketio.ClusterBroadcastAck, []any{msg.Data}
	case protocol.KindFetchSocketsResponse:
		m.Type = socketio.ClusterFetchSocketsResponse
		list, _ := msg.Data.([]any)
		for _, v := range list {
			if fs, ok := protocol.FetchedSocketOf(v); ok {
				m.Sockets = append(m.Sockets, socketio.SocketInfo{ID: fs.ID, Handshake: goHandshake(fs.Handshake), Rooms: fs.Rooms, Data: fs.Data})
			}
		}
	default:
		return nil, nil // answers to requests this server does not make
	}
	return m, nil
}
