// Package httpserve holds what the HTTP servers of "sioredis serve" and "sioredis chat" share: timeouts with
// Node's http.Server defaults, deadlines fitted to Engine.IO long-polling, and the security headers of their
// pages.
package httpserve

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sioredis/sioredis/engineio"
)

// Defaults of Timeouts, those of Node's http.Server where Node has one.
const (
	// DefaultReadHeaderTimeout is Node's headersTimeout.
	DefaultReadHeaderTimeout = 60 * time.Second
	// DefaultReadTimeout is Node's requestTimeout.
	DefaultReadTimeout = 300 * time.Second
	// DefaultWriteTimeout bounds writing an answer (Node has no such limit by default).
	DefaultWriteTimeout = 60 * time.Second
	// DefaultIdleTimeout is Node's keepAliveTimeout.
	DefaultIdleTimeout = 5 * time.Second
)

// Timeouts are the time limits of an HTTP server. Zero fields take their default; a negative field removes the
// limit.
type Timeouts struct {
	// ReadHeader bounds reading a request's header, from the moment the connection is ready for a request.
	// Default DefaultReadHeaderTimeout.
	ReadHeader time.Duration
	// Read bounds reading a whole request, header and body. Default DefaultReadTimeout. The body of an
	// Engine.IO long-polling POST gets at most the session's ping interval plus ping timeout: past that the
	// session it belongs to is over.
	Read time.Duration
	// Write bounds the time from the end of a request's header to the end of its answer. Engine.IO
	// long-polling GETs, which wait up to the ping interval for something to send, get the ping interval more.
	// WebSocket connections, taken over from the HTTP server, have no deadline. Default DefaultWriteTimeout.
	Write time.Duration
	// Idle closes a keep-alive connection that has sent no new request for this long. Default
	// DefaultIdleTimeout.
	Idle time.Duration
	// Ready bounds one readiness check of GET /readyz (a Redis PING and the cluster subscription). Default
	// DefaultReadyTimeout.
	Ready time.Duration
}

func pick(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0 // net/http: no limit
	}
	return d
}

// Session is what the Engine.IO deadlines depend on: the heartbeat of the engineio.Config in use, defaults
// applied (see SessionOf).
type Session struct {
	PingInterval, PingTimeout time.Duration
}

// SessionOf returns the heartbeat of an Engine.IO configuration, with engineio's defaults (25 s, 20 s) for its
// zero fields.
func SessionOf(c engineio.Config) Session {
	s := Session{PingInterval: c.PingInterval, PingTimeout: c.PingTimeout}
	if s.PingInterval == 0 {
		s.PingInterval = 25 * time.Second
	}
	if s.PingTimeout == 0 {
		s.PingTimeout = 20 * time.Second
	}
	return s
}

// NewServer returns an HTTP server for h with the timeouts t, whose requests under prefix (the Engine.IO path,
// such as "/socket.io/") get deadlines fitted to the session s; errors of the server go to log as warnings.
func NewServer(h http.Handler, t Timeouts, prefix string, s Session, log *slog.Logger) *Server {
	srv := &Server{fresh: make(map[net.Conn]struct{})}
	srv.Server = &http.Server{
		Handler:           engineDeadlines(h, t, prefix, s),
		ReadHeaderTimeout: pick(t.ReadHeader, DefaultReadHeaderTimeout),
		ReadTimeout:       pick(t.Read, DefaultReadTimeout),
		WriteTimeout:      pick(t.Write, DefaultWriteTimeout),
		IdleTimeout:       pick(t.Idle, DefaultIdleTimeout),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnState:         srv.track,
	}
	return srv
}

// Server is an http.Server whose Shutdown does not wait for the connections that have not sent a request. A
// browser opens such connections ahead of need (and socket.io-client reconnects when the server goes away):
// http.Server.Shutdown waits up to 5 s for each before it counts it as idle, longer than a stop may take, though
// such a connection holds nothing the server accepted. It is safe for concurrent use.
type Server struct {
	*http.Server

	mu    sync.Mutex
	fresh map[net.Conn]struct{} // connections in http.StateNew
}

func (s *Server) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	if state == http.StateNew {
		s.fresh[c] = struct{}{}
	} else {
		delete(s.fresh, c)
	}
	s.mu.Unlock()
}

// Shutdown is http.Server.Shutdown, which closes the listeners and waits for the requests under way, except that
// the connections that have not sent a request are closed at once (checked every 50 ms until it returns).
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.Server.Shutdown(ctx) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		for c := range s.fresh {
			_ = c.Close()
		}
		s.mu.Unlock()
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
	}
}

// engineDeadlines gives long-polling GETs the time they wait for data on top of the write timeout, and bounds
// the body of long-polling POSTs by the life of a session that sends no pong.
func engineDeadlines(h http.Handler, t Timeouts, prefix string, s Session) http.Handler {
	write := pick(t.Write, DefaultWriteTimeout)
	read := pick(t.Read, DefaultReadTimeout)
	session := s.PingInterval + s.PingTimeout
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, prefix) && r.URL.Query().Get("transport") == "polling" {
			rc := http.NewResponseController(w)
			switch r.Method {
			case http.MethodGet:
				if write > 0 {
					_ = rc.SetWriteDeadline(time.Now().Add(s.PingInterval + write))
				}
			case http.MethodPost:
				if session > 0 && (read <= 0 || session < read) {
					_ = rc.SetReadDeadline(time.Now().Add(session))
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

var inline = regexp.MustCompile(`(?s)<(script|style)>(.*?)</(?:script|style)>`)

// PageHeaders returns the security headers of an HTML page: a Content-Security-Policy that allows its own
// inline scripts and styles (by hash) and scripts, connections and images from its own origin only, and forbids
// framing (also with X-Frame-Options, for older browsers).
func PageHeaders(page []byte) http.Header {
	var scripts, styles []string
	for _, m := range inline.FindAllSubmatch(page, -1) {
		sum := sha256.Sum256(m[2])
		src := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if string(m[1]) == "script" {
			scripts = append(scripts, src)
		} else {
			styles = append(styles, src)
		}
	}
	csp := "default-src 'none'; script-src 'self' " + strings.Join(scripts, " ") +
		"; style-src " + strings.Join(append(styles, "'self'"), " ") +
		"; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	return http.Header{
		"Content-Security-Policy": {csp},
		"X-Frame-Options":         {"DENY"},
		"X-Content-Type-Options":  {"nosniff"},
		"Referrer-Policy":         {"no-referrer"},
	}
}

// ServePage writes the page with its security headers h (from PageHeaders).
func ServePage(w http.ResponseWriter, r *http.Request, page []byte, h http.Header) {
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, "index.html", time.Time{}, strings.NewReader(string(page)))
}
