package emitapi

import (
	"mime"
	"net/http"
	"strings"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
)

// postRoutes are the paths served to POST only, with a JSON body.
var postRoutes = map[string]bool{
	"/v1/emit": true, "/v1/emit/batch": true, "/v1/sockets/join": true, "/v1/sockets/leave": true,
	"/v1/sockets/disconnect": true, "/v1/server-emit": true,
}

// checkRoute answers, and reports true for, a request to a known path that is not served: 405 with Allow for a
// wrong method, 415 for a POST whose body is not declared as JSON (Content-Type application/json, with or
// without parameters such as charset). These come before the key is checked, as a router's answers do.
func checkRoute(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	switch {
	case path == "/v1/openapi.json" && r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		apiauth.WriteJSON(w, http.StatusMethodNotAllowed, apiauth.ErrorBody{Error: "emitapi: " + r.Method + " " + path + ": only GET is served here"})
		return true
	case !postRoutes[path]:
		return false
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", "POST")
		apiauth.WriteJSON(w, http.StatusMethodNotAllowed, apiauth.ErrorBody{Error: "emitapi: " + r.Method + " " + path + ": only POST is served here"})
		return true
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.EqualFold(mt, "application/json") {
		if ct == "" {
			ct = "none"
		}
		apiauth.WriteJSON(w, http.StatusUnsupportedMediaType, apiauth.ErrorBody{Error: "emitapi: the body must be sent as Content-Type: application/json (got " + ct + ")"})
		return true
	}
	return false
}
