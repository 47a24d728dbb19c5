package redisadapter

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/socketio"
)

// nodeHandshake writes a handshake as a Node server's socket.handshake: headers with lowercase names (values of
// a repeated header joined with ", "), time as Date.toString() writes it, issued in milliseconds, the query with
// its first values.
func nodeHandshake(h socketio.Handshake) protocol.Object {
	headers := make(protocol.Object, 0, len(h.Headers))
	for k, v := range h.Headers {
		headers = append(headers, protocol.Member{Key: strings.ToLower(k), Value: strings.Join(v, ", ")})
	}
	query := make(protocol.Object, 0, len(h.Query))
	for k, v := range h.Query {
		if len(v) > 0 {
			query = append(query, protocol.Member{Key: k, Value: v[0]})
		}
	}
	var auth any = protocol.Object{}
	if len(h.Auth) > 0 {
		if v, err := protocol.DecodeJSONOrdered(h.Auth); err == nil {
			auth = v
		}
	}
	return protocol.Object{
		{Key: "headers", Value: headers},
		{Key: "time", Value: h.Time.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)")},
		{Key: "address", Value: h.Address},
		{Key: "xdomain", Value: h.Headers.Get("Origin") != ""},
		{Key: "secure", Value: h.Secure},
		{Key: "issued", Value: h.Time.UnixMilli()},
		{Key: "url", Value: h.URL},
		{Key: "query", Value: query},
		{Key: "auth", Value: auth},
	}
}

// goHandshake reads the handshake of a socket fetched from a Node (or Go) server.
func goHandshake(m map[string]any) socketio.Handshake {
	var h socketio.Handshake
	if hdr, ok := m["headers"].(map[string]any); ok {
		h.Headers = make(http.Header, len(hdr))
		for k, v := range hdr {
			if s, ok := v.(string); ok {
				h.Headers.Set(k, s)
			}
		}
	}
	if q, ok := m["query"].(map[string]any); ok {
		h.Query = make(url.Values, len(q))
		for k, v := range q {
			if s, ok := v.(string); ok {
				h.Query.Set(k, s)
			}
		}
	}
	if auth, ok := m["auth"]; ok && auth != nil {
		h.Auth, _ = json.Marshal(auth)
	}
	h.Address, _ = m["address"].(string)
	h.Secure, _ = m["secure"].(bool)
	h.URL, _ = m["url"].(string)
	switch issued := m["issued"].(type) {
	case int64:
		h.Time = time.UnixMilli(issued)
	case float64:
		h.Time = time.UnixMilli(int64(issued))
	}
	return h
}
