package redisadapter

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/sioredis/sioredis/jsvalue"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/socketio"
)

// wireHandshake converts a socket's handshake for a REMOTE_FETCH response.
func wireHandshake(h socketio.Handshake) protocol.Handshake {
	out := protocol.Handshake{
		Headers: make(map[string]string, len(h.Headers)),
		Query:   make(map[string]string, len(h.Query)),
		Time:    h.Time,
		Address: h.Address,
		XDomain: h.Headers.Get("Origin") != "",
		Secure:  h.Secure,
		URL:     h.URL,
	}
	for k, v := range h.Headers {
		out.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	for k, v := range h.Query {
		if len(v) > 0 {
			out.Query[k] = v[0]
		}
	}
	if len(h.Auth) > 0 {
		if v, err := jsvalue.DecodeJSONOrdered(h.Auth); err == nil {
			out.Auth = v
		}
	}
	return out
}

// goHandshake converts the handshake of a socket fetched from another server.
func goHandshake(h protocol.Handshake) socketio.Handshake {
	out := socketio.Handshake{
		Headers: make(http.Header, len(h.Headers)),
		Query:   make(url.Values, len(h.Query)),
		Address: h.Address,
		Time:    h.Time,
		Secure:  h.Secure,
		URL:     h.URL,
	}
	for k, v := range h.Headers {
		out.Headers.Set(k, v)
	}
	for k, v := range h.Query {
		out.Query.Set(k, v)
	}
	if h.Auth != nil {
		out.Auth, _ = json.Marshal(h.Auth)
	}
	return out
}

// wireData is a socket's data for a REMOTE_FETCH response: a socket without data has {}, as a Node socket's
// socket.data is (Node code reading it, such as @socket.io/admin-ui's, does not expect null).
func wireData(d any) any {
	if d == nil {
		return jsvalue.Object{}
	}
	return d
}
