package redisadapter

import (
	"fmt"

	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/socketio"
)

// This file maps socketio.ClusterMessages to the messages of socket.io-adapter's ClusterAdapter (the base of the
// sharded and streams adapters) and back; the layouts themselves are package protocol's.

// clusterOp returns the protocol operation of a broadcast, a command or a server-side emit of namespace nsp.
func clusterOp(nsp string, m *socketio.ClusterMessage) *protocol.Op {
	op := &protocol.Op{
		Nsp:    nsp,
		Rooms:  m.Rooms,
		Except: m.Except,
		Flags:  protocol.Flags{Volatile: m.Volatile, Compress: m.Compress},
		Event:  m.Event,
		Args:   m.Args,
	}
	switch m.Type {
	case socketio.ClusterSocketsJoin:
		op.Kind, op.JoinRooms = protocol.OpSocketsJoin, m.TargetRooms
	case socketio.ClusterSocketsLeave:
		op.Kind, op.JoinRooms = protocol.OpSocketsLeave, m.TargetRooms
	case socketio.ClusterDisconnectSockets:
		op.Kind, op.Close = protocol.OpDisconnectSockets, m.Close
	case socketio.ClusterServerSideEmit:
		op.Kind = protocol.OpServerSideEmit
	default:
		op.Kind = protocol.OpBroadcast
	}
	return op
}

// clusterResponse writes a response of this server (uid) to m.To.
func clusterResponse(enc protocol.ClusterEncoding, uid, nsp string, m *socketio.ClusterMessage) ([]byte, error) {
	switch m.Type {
	case socketio.ClusterFetchSocketsResponse:
		fetched := make([]protocol.FetchedSocket, len(m.Sockets))
		for i, s := range m.Sockets {
			fetched[i] = protocol.FetchedSocket{ID: s.ID, Handshake: wireHandshake(s.Handshake), Rooms: s.Rooms, Data: wireData(s.Data)}
		}
		return protocol.AppendClusterFetchSocketsResponse(nil, enc, uid, nsp, m.RequestID, fetched)
	case socketio.ClusterServerSideEmitResponse, socketio.ClusterBroadcastAck:
		typ := protocol.ClusterServerSideEmitResponse
		if m.Type == socketio.ClusterBroadcastAck {
			typ = protocol.ClusterBroadcastAck
		}
		args := m.Args
		if m.Type == socketio.ClusterBroadcastAck && len(args) == 0 {
			args = []any{nil} // a client acknowledged without an argument: the requester counts the answer
		}
		return protocol.AppendClusterPacketResponse(nil, enc, uid, nsp, typ, m.RequestID, args)
	case socketio.ClusterBroadcastClientCount:
		return protocol.AppendClusterClientCount(nil, enc, uid, nsp, m.RequestID, m.ClientCount)
	}
	return nil, fmt.Errorf("redisadapter: the ClusterAdapter format has no %s message", m.Type)
}

// clusterMessageOf returns the ClusterMessage of a decoded ClusterAdapter message, or nil for the types socketio
// does not take (heartbeats, an adapter closing, unknown types).
func clusterMessageOf(msg *protocol.Message) *socketio.ClusterMessage {
	m := &socketio.ClusterMessage{From: msg.UID, RequestID: msg.RequestID, Rooms: msg.Rooms, Except: msg.Except}
	switch msg.Kind {
	case protocol.KindBroadcast, protocol.KindBroadcastWithAck:
		f, timeout := msg.BroadcastFlags()
		m.Type, m.Event, m.Args, m.Volatile, m.Compress, m.Timeout = socketio.ClusterBroadcast, msg.Event, msg.Args, f.Volatile, f.Compress, timeout
	case protocol.KindSocketsJoin:
		m.Type, m.TargetRooms = socketio.ClusterSocketsJoin, msg.TargetRooms
	case protocol.KindSocketsLeave:
		m.Type, m.TargetRooms = socketio.ClusterSocketsLeave, msg.TargetRooms
	case protocol.KindDisconnectSockets:
		m.Type, m.Close = socketio.ClusterDisconnectSockets, msg.Close
	case protocol.KindFetchSockets:
		m.Type = socketio.ClusterFetchSockets
	case protocol.KindServerSideEmit:
		m.Type, m.Event, m.Args = socketio.ClusterServerSideEmit, msg.Event, msg.Args
	case protocol.KindFetchSocketsResponse:
		m.Type = socketio.ClusterFetchSocketsResponse
		list, _ := msg.Data.([]any)
		for _, v := range list {
			if fs, ok := protocol.FetchedSocketOf(v); ok {
				m.Sockets = append(m.Sockets, socketio.SocketInfo{ID: fs.ID, Handshake: goHandshake(fs.Handshake), Rooms: fs.Rooms, Data: fs.Data})
			}
		}
	case protocol.KindServerSideEmitResponse:
		m.Type = socketio.ClusterServerSideEmitResponse
		m.Args = msg.Args
	case protocol.KindBroadcastClientCount:
		n, _ := msg.Data.(int64)
		m.Type, m.ClientCount = socketio.ClusterBroadcastClientCount, int(n)
	case protocol.KindBroadcastAck:
		m.Type, m.Args = socketio.ClusterBroadcastAck, []any{msg.Data}
	default:
		return nil
	}
	return m
}
