// Package httpserve holds what the HTTP servers of "sioredis serve", "sioredis chat" and "sioredis api" share:
// timeouts with Node's http.Server defaults, deadlines fitted to Engine.IO long-polling, Node's bound on a
// request's header, the host names a loopback listener answers (against DNS rebinding), and the security headers
// of their pages.
package httpserve

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
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

// DefaultMaxHeaderBytes is the default of Options.MaxHeaderBytes: Node's http.maxHeaderSize, 16 KiB.
const DefaultMaxHeaderBytes = 16 << 10

// Options are the settings of a Server other than its time limits. The zero value is Node's defaults, and
// localhost only on a loopback listener.
type Options struct {
	// MaxHeaderBytes bounds a request's line and header fields together, in bytes, as Node's maxHeaderSize
	// does: the request line and each "Name: value" line with its CRLF. A larger request is answered 431
	// Request Header Fields Too Large and its connection closed, before any handler sees it, so that no
	// session or connection keeps what it sent. Default DefaultMaxHeaderBytes; negative: net/http's own
	// bound only (1 MiB).
	MaxHeaderBytes int
	// AllowedHosts are the host names, as the Host header gives them (without the port), that the server
	// answers besides localhost and IP addresses: "chat.example.com", "*.example.com" (its subdomains), or "*"
	// (every host, no check). A request for another host gets 403 without reaching a handler. With none, a
	// connection to a loopback address accepts localhost, its subdomains and IP addresses only, and one to any
	// other address every host. This defeats DNS rebinding: a page of another site whose name is made to
	// resolve to 127.0.0.1 reaches a loopback listener as that site, with its own name as Host (and as
	// Origin, which the Engine.IO origin check would accept). Behind a reverse proxy on the same machine that
	// forwards the site's name as Host, list that name.
	AllowedHosts []string
}

// EngineMaxHeaderBytes is the engineio.Config.MaxHeaderBytes that goes with o: the library's own bound follows
// the server's, so that raising MaxHeaderBytes raises both (0, the default, leaves the library's 16 KiB).
func (o Options) EngineMaxHeaderBytes() int {
	switch {
	case o.MaxHeaderBytes < 0:
		return 1 << 20 // net/http's DefaultMaxHeaderBytes
	case o.MaxHeaderBytes > 0:
		return o.MaxHeaderBytes + 1 // the library refuses from its bound on, the server above it
	}
	return 0
}

// NewServer returns an HTTP server for h with the timeouts t and the options o, whose requests under prefix
// (the Engine.IO path, such as "/socket.io/") get deadlines fitted to the session s; errors of the server go to
// log as warnings.
func NewServer(h http.Handler, t Timeouts, o Options, prefix string, s Session, log *slog.Logger) *Server {
	srv := &Server{fresh: make(map[net.Conn]struct{})}
	maxHeader := o.MaxHeaderBytes
	switch {
	case maxHeader == 0:
		maxHeader = DefaultMaxHeaderBytes
	case maxHeader < 0:
		maxHeader = 0 // net/http's DefaultMaxHeaderBytes
	}
	srv.Server = &http.Server{
		Handler:           checkHosts(checkHeaderSize(engineDeadlines(h, t, prefix, s), maxHeader), o.AllowedHosts),
		ReadHeaderTimeout: pick(t.ReadHeader, DefaultReadHeaderTimeout),
		ReadTimeout:       pick(t.Read, DefaultReadTimeout),
		WriteTimeout:      pick(t.Write, DefaultWriteTimeout),
		IdleTimeout:       pick(t.Idle, DefaultIdleTimeout),
		// net/http reads this many bytes of header and 4 KiB more before it answers 431 itself;
		// checkHeaderSize refuses what lies between.
		MaxHeaderBytes: maxHeader,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnState:      srv.track,
	}
	return srv
}

// headerSize is the size of r's request line and header fields as the client sent them, give or take the
// spaces around values, which net/http drops.
func headerSize(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	if r.Host != "" {
		n += len("Host: ") + len(r.Host) + 2 // net/http moves it out of r.Header
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

// checkHeaderSize answers 431 to a request whose line and header fields exceed max bytes (0: no check).
func checkHeaderSize(h http.Handler, max int) http.Handler {
	if max <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerSize(r) > max {
			w.Header().Set("Connection", "close")
			plain(w, http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("request line and header over %d bytes", max))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// checkHosts answers 403 to a request whose Host is not allowed (see Options.AllowedHosts).
func checkHosts(h http.Handler, allowed []string) http.Handler {
	if slices.Contains(allowed, "*") {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r, allowed) {
			plain(w, http.StatusForbidden, "this server does not answer for this host name (allowed hosts: see --allowed-host)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func hostAllowed(r *http.Request, allowed []string) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")), ".")
	if host == "" {
		return true // HTTP/1.0 without Host: no browser sends that
	}
	if _, err := netip.ParseAddr(host); err == nil || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true // no DNS name: nothing to rebind
	}
	for _, a := range allowed {
		a = strings.TrimSuffix(strings.ToLower(a), ".")
		if a == host || strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:]) {
			return true
		}
	}
	if len(allowed) > 0 {
		return false
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	tcp, ok := local.(*net.TCPAddr)
	return !ok || !tcp.IP.IsLoopback()
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
