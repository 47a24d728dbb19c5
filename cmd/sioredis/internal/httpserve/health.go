package httpserve

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// DefaultReadyTimeout bounds a readiness check (Timeouts.Ready, flag --ready-timeout).
const DefaultReadyTimeout = time.Second

// Unready is an error of a readiness check that /readyz may describe: its Reason ("redis unreachable") is
// shown, its Err, which names internal addresses and users, is logged only.
type Unready struct {
	Reason string
	Err    error
}

func (u *Unready) Error() string { return u.Reason + ": " + u.Err.Error() }
func (u *Unready) Unwrap() error { return u.Err }

// HealthHandlers registers GET /healthz and GET /readyz on mux. /healthz answers 200 "ok" as long as the
// process serves HTTP. /readyz answers 200 "ready" when ready returns nil within timeout (DefaultReadyTimeout
// if not positive) and 503 otherwise, "not ready" with the Reason of an *Unready in the error's chain; a nil
// ready is always ready. The error itself goes to log only, when it differs from the last one logged. Load balancers
// and Kubernetes probes use the first as liveness and the second as readiness.
func HealthHandlers(mux *http.ServeMux, ready func(context.Context) error, timeout time.Duration, log *slog.Logger) {
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	var mu sync.Mutex
	last := "" // the error last logged; "" while ready
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		var err error
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			err = ready(ctx)
			cancel()
		}
		mu.Lock()
		switch {
		case err != nil && err.Error() != last:
			last = err.Error()
			log.Warn("not ready", "err", err)
		case err == nil && last != "":
			last = ""
			log.Info("ready again")
		}
		mu.Unlock()
		if err != nil {
			text := "not ready (see the server's log)"
			if u, ok := errors.AsType[*Unready](err); ok {
				text = "not ready: " + u.Reason
			}
			plain(w, http.StatusServiceUnavailable, text)
			return
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
