package engineio

import (
	"fmt"
	"net/http"
)

// ConnectionError describes a request the server refused (see Config.OnConnectionError), as the reference
// server's "connection_error" event does.
type ConnectionError struct {
	// Request is the refused request (after FromTrustedProxy).
	Request *http.Request
	// Code is the Engine.IO error code sent in the response body.
	Code ErrorCode
	// Message is the message sent with it.
	Message string
	// Context holds the details the reference server gives, with its keys: "transport" (unknown transport),
	// "sid" (unknown session), "method" (bad handshake method), "protocol" (unsupported version), "message"
	// (AllowRequest's refusal), or "name" for the kind of bad request ("TRANSPORT_MISMATCH",
	// "TRANSPORT_HANDSHAKE_ERROR", "ORIGIN_NOT_ALLOWED", "SERVER_CLOSED", "BAD_METHOD") with its own fields.
	Context map[string]any
}

// Error describes the refusal.
func (e *ConnectionError) Error() string {
	return fmt.Sprintf("engineio: connection error %d (%s)", int(e.Code), e.Message)
}

// refuse reports a refused request to Config.OnConnectionError, then writes the refusal.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, re *RequestError, context map[string]any) {
	if s.cfg.OnConnectionError != nil {
		msg := re.Message
		if msg == "" {
			msg = re.Code.String()
		}
		s.cfg.OnConnectionError(&ConnectionError{Request: r, Code: re.Code, Message: msg, Context: context})
	}
	writeError(w, re)
}

// responseHeaders calls the Headers hooks on h, the headers of a successful response to r; initial is true for
// the response that opens a session.
func (s *Server) responseHeaders(h http.Header, r *http.Request, initial bool) {
	if initial && s.cfg.InitialHeaders != nil {
		s.cfg.InitialHeaders(h, r)
	}
	if s.cfg.Headers != nil {
		s.cfg.Headers(h, r)
	}
}

// wsHeaders returns the extra headers of a WebSocket 101 answering r, nil without hooks.
func (s *Server) wsHeaders(r *http.Request, initial bool) http.Header {
	if s.cfg.Headers == nil && (!initial || s.cfg.InitialHeaders == nil) {
		return nil
	}
	h := make(http.Header)
	s.responseHeaders(h, r, initial)
	return h
}
