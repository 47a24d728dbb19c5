// Package socketio is a Socket.IO v5 server (the protocol of socket.io 3 and 4) over Engine.IO v4 (package
// engineio), served to the official JavaScript clients over HTTP long-polling and WebSocket.
//
// A Server is an http.Handler to mount at "/socket.io/". Clients join namespaces (Server.Of, or dynamic ones
// with Server.OfFunc and Server.OfRegexp), pass through middlewares (Server.Use, Namespace.Use; a ConnectError
// refuses them with a message and data), then exchange events, with acknowledgements both ways and binary
// attachments ([]byte values). Sockets join rooms; broadcasts (Namespace.To, Socket.To, Except, Volatile; with
// acknowledgements collected from every client by BroadcastOperator.EmitWithAck) and
// cluster commands (FetchSockets, SocketsJoin, SocketsLeave, DisconnectSockets, ServerSideEmit, and
// ServerSideEmitWithAck, answered by the other servers' OnServerSideEmitWithAck handlers) reach the server's own
// sockets and, with a Config.Cluster (package redisadapter has one over Redis), every other server of the cluster.
// The Server keeps the rooms, delivers and collects the answers; a Cluster only carries messages (see Cluster).
//
// # Concurrency
//
// Server, Namespace, Socket and BroadcastOperator are safe for concurrent use. The event handlers of one client run
// one at a time, in the order the client sent the events, on a goroutine that exists while there is work (on Linux
// over WebSocket without TLS, the engine's reader that read them, once it has stopped reading that client: its
// stack has grown already); a handler may block (on EmitWithAck, say) without stopping the reading of the client's
// packets, or holding up other clients' for more than a few milliseconds (the engine runs a few readers at a time,
// twice GOMAXPROCS, and starts another one in place of a reader busy for a millisecond). Emits never wait for the network: they queue packets for the connection's single writer, and a client
// too slow to drain its bounded queue is disconnected (volatile packets are dropped first). The server-side
// handlers (OnServerSideEmit, OnServerSideEmitWithAck) run one at a time on the goroutine of the Cluster that
// received the event; their AckFunc may be called later, from any goroutine. Server.Close waits for every
// goroutine the server started.
//
// Lock order, where locks nest: Server.mu, then the Namespace.mu of a parent, then that of a child. With connection
// state recovery, a namespace's deliverMu comes before its recovery store, its room index, its Namespace.mu and
// the connections' queues (it orders the kept packets as they were delivered). The room index and the request
// table of a namespace take their own lock and call nothing while holding it (but a RoomObserver, which only
// records).
package socketio
