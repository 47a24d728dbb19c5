package socketio

// What the Socket.IO protocol v4 of socket.io-client 2.x (over Engine.IO v3, engineio.Config.AllowEIO3) needs
// beyond v5: the client is connected to "/" without asking, a namespace's query travels in its name, the CONNECT
// reply has no payload, socket ids are the Engine.IO id (prefixed by "/nsp#" outside "/"), and a refused CONNECT
// gets an ERROR packet with the error's data or message. The packet format itself is v5's.

import (
	"encoding/json"
	"net/url"
	"strings"
)

// splitNamespaceQuery splits "/admin?token=x" into the namespace and its query as a JSON object of strings (a
// repeated key: an array of strings), as the reference server parses it into the socket's auth; nil without a
// query.
func splitNamespaceQuery(nsp string) (string, json.RawMessage) {
	name, rawQuery, found := strings.Cut(nsp, "?")
	if name == "" {
		name = "/"
	}
	if !found {
		return name, nil
	}
	values, _ := url.ParseQuery(rawQuery) // what parses, as Node's querystring keeps what it can
	obj := make(map[string]any, len(values))
	for k, v := range values {
		if len(v) == 1 {
			obj[k] = v[0]
		} else {
			obj[k] = v
		}
	}
	b, _ := json.Marshal(obj)
	return name, b
}

// mergeNamespaceQuery adds the namespace query of a socket.io-client 2 socket (its auth, made by
// splitNamespaceQuery) to the handshake query q, as socket.io 2 servers merged them: a key of both gets the
// namespace's value.
func mergeNamespaceQuery(q url.Values, auth string) {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(auth), &obj) != nil {
		return
	}
	for k, raw := range obj {
		var one string
		var many []string
		switch {
		case json.Unmarshal(raw, &one) == nil:
			q[k] = []string{one}
		case json.Unmarshal(raw, &many) == nil:
			q[k] = many
		}
	}
}
