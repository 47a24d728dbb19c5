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
// Sessions end as on the reference server, whose official test suite (scripts/conformance) passes: a client
// that gives up its pending long-polling GET loses the session; a close packet posted while a GET waits answers
// that GET with a noop; a WebSocket for a session already upgraded (or being upgraded) completes its handshake
// and is closed; a client that answers no ping is closed PingTimeout after it, by PingInterval + PingTimeout.
// Where the client sent two requests at once, the answers are those of the order it sent them in: the GET
// overtaken by the client's close packet gets its noop, and the GET overtaking its "upgrade" packet is held
// briefly for it. A client that reads nothing, pongs to its WebSocket pings included, is dropped once
// Config.MaxQueuedMessages packets wait for it.
//
// Server and Conn are safe for concurrent use.
package engineio
