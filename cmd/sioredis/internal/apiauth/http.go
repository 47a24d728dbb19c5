package apiauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"
)

// ErrorBody is the body of every error answer: {"error": "…", "field": "…"}, field only when one field of the
// request is at fault.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// WriteJSON writes v as a JSON answer with status code, not cached.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteAuthError answers an error of Authenticate or Check: 401 with a WWW-Authenticate challenge for
// ErrNoCredentials and ErrBadKey, 403 for ErrForbidden, 500 otherwise.
func WriteAuthError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNoCredentials):
		w.Header().Set("WWW-Authenticate", `Bearer realm="sioredis"`)
		WriteJSON(w, http.StatusUnauthorized, ErrorBody{Error: err.Error()})
	case errors.Is(err, ErrBadKey):
		w.Header().Set("WWW-Authenticate", `Bearer realm="sioredis", error="invalid_token"`)
		WriteJSON(w, http.StatusUnauthorized, ErrorBody{Error: err.Error()})
	case errors.Is(err, ErrForbidden):
		WriteJSON(w, http.StatusForbidden, ErrorBody{Error: err.Error()})
	default:
		WriteJSON(w, http.StatusInternalServerError, ErrorBody{Error: err.Error()})
	}
}

// WriteRateLimited answers 429 Too Many Requests with Retry-After in whole seconds (at least 1).
func WriteRateLimited(w http.ResponseWriter, who string, retryAfter time.Duration) {
	secs := max(1, int(math.Ceil(retryAfter.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	WriteJSON(w, http.StatusTooManyRequests, ErrorBody{Error: fmt.Sprintf("apiauth: rate limit of %s reached; retry in %d s", who, secs)})
}

// ClientIP returns the host part of r.RemoteAddr (the address of the client, or of the proxy in front of it:
// pass r through engineio.FromTrustedProxy first to believe a trusted proxy's forwarding headers).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
