package httpserve

import (
	"context"
	"net/http"
	"time"
)

// DefaultReadyTimeout bounds a readiness check (HealthConfig.Timeout, flag --ready-timeout).
const DefaultReadyTimeout = time.Second

// HealthHandlers registers GET /healthz and GET /readyz on mux. /healthz answers 200 "ok" as long as the
// process serves HTTP. /readyz answers 200 "ready" when ready returns nil within timeout (DefaultReadyTimeout
// if not positive) and 503 with the error otherwise; a nil ready is always ready. Load balancers and
// Kubernetes probes use the first as liveness and the second as readiness.
func HealthHandlers(mux *http.ServeMux, ready func(context.Context) error, timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				plain(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
				return
			}
		}
		plain(w, http.StatusOK, "ready")
	})
}

func plain(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(text + "\n"))
}
