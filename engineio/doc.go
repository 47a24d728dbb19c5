// Package engineio is an Engine.IO v4 server: the transport layer under Socket.IO, with the handshake, HTTP
// long-polling (text and base64 binary packets separated by 0x1e), WebSocket (RFC 6455, implemented here, without
// extensions), the upgrade from long-polling to WebSocket with its probe, the server-driven heartbeat, size limits,
// CORS and origin checks. A Server is a plain http.Handler and hands its connections to a Handler.
//
// Built for many connections. On Linux, an idle WebSocket connection has no goroutine and no buffer: one epoll
// instance per server, waited on through the Go runtime's poller, reports readable sockets, and a goroutine reads
// what arrived and ends. Writes go through a pool of flushers (as many as GOMAXPROCS, alive only while there is
// work) that send everything a connection has queued in one non-blocking writev; a connection whose socket is full
// gets a goroutine of its own until it drains. Frames of a broadcast are encoded once (PrepareMessages) and the
// same bytes go to every recipient. Pings and pong deadlines of all connections share one timing wheel. Over TLS,
// and on other systems, each WebSocket has a reading goroutine and writes block in a goroutine of its own.
//
// Requests that break the protocol get the status codes of the reference server: 400 with a JSON body
// {"code":N,"message":"..."} for an unknown transport, session id or protocol version, a bad handshake method or a
// bad request (two concurrent GETs or POSTs on one session, which also closes it, or a malformed payload); 403 for
// a refused origin or request; 413 for a body over Config.MaxHTTPBufferSize.
//
// Server and Conn are safe for concurrent use.
package engineio
