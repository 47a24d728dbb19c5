// Package engineio is an Engine.IO v4 server: the transport layer under Socket.IO, with the handshake, HTTP
// long-polling (text and base64 binary packets separated by 0x1e), WebSocket (github.com/coder/websocket), the
// upgrade from long-polling to WebSocket with its probe, the server-driven heartbeat, size limits, CORS and origin
// checks. A Server is a plain http.Handler and hands its connections to a Handler.
//
// Requests that break the protocol get the status codes of the reference server: 400 with a JSON body
// {"code":N,"message":"..."} for an unknown transport, session id or protocol version, a bad handshake method or a
// bad request (two concurrent GETs or POSTs on one session, which also closes it, or a malformed payload); 403 for
// a refused origin or request; 413 for a body over Config.MaxHTTPBufferSize.
//
// Server and Conn are safe for concurrent use.
package engineio
