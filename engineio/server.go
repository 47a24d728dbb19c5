package engineio

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sioredis/sioredis/engineio/internal/netpoll"
	"github.com/sioredis/sioredis/engineio/internal/workpool"
	"github.com/sioredis/sioredis/internal/eiopacket"
	"github.com/sioredis/sioredis/internal/randid"
	"github.com/sioredis/sioredis/internal/wsproto"
)

// Handler receives the connections of a Server. For one connection, calls never overlap and come in this order:
// OnOpen, then OnMessage for each message in the order the client sent them, then OnClose once.
//
// OnMessage is called from the goroutine reading the transport: while it runs, nothing more is read from that
// client, so it should hand long work to another goroutine. It may keep msg.Data.
type Handler interface {
	OnOpen(c *Conn)
	OnMessage(c *Conn, msg Message)
	OnClose(c *Conn, reason CloseReason)
}

// BurstHandler is a Handler told when the server's poller has read what a WebSocket connection had sent.
//
// OnBurstEnd(c) is called after the OnMessage calls of one read for which c.InBurst reported true, on the same
// goroutine, once that goroutine has stopped reading c: other goroutines may already be calling OnMessage for c's
// next messages. Work deferred to it runs on a goroutine of the server's readers whose stack has grown already,
// without starting one per message; it may block, since c is read by others meanwhile. The readers run twice
// GOMAXPROCS at a time and the other readable connections wait their turn, so a call that blocks holds them up
// until the readers' pool counts it as blocked (after 1 ms) and starts another reader. It is not called on
// long-polling, over TLS, or where the poller is not used.
type BurstHandler interface {
	Handler
	OnBurstEnd(c *Conn)
}

// Message is the data of one Engine.IO message packet.
type Message struct {
	Data   []byte
	Binary bool

	frame []byte // its WebSocket frame, set by PrepareMessages
}

// PrepareMessages encodes the WebSocket frame of each message once, so that sending them to many connections
// (a broadcast) costs no encoding and no copy per connection: every WebSocket writer sends the same bytes. It
// changes nothing for long-polling connections. Data must not be modified afterwards.
func PrepareMessages(msgs []Message) {
	for i := range msgs {
		m := &msgs[i]
		p := eiopacket.Packet{Type: eiopacket.Message, Data: m.Data, Binary: m.Binary}
		m.frame = appendFrame(make([]byte, 0, wsproto.MaxHeaderLen+1+len(m.Data)), p, false)
	}
}

// Server is an Engine.IO v4 server. It is an http.Handler: mount it at the path clients use (by default
// "/engine.io/", or "/socket.io/" under Socket.IO) in any router. It is safe for concurrent use.
type Server struct {
	// Set at creation, read without a lock.
	cfg     Config
	handler Handler
	hb      *heartbeat     // the heartbeat wheel (with a lock of its own)
	readers *workpool.Pool // the goroutines reading WebSockets the poller reports readable, kept warm

	// Guarded by mu.
	mu      sync.Mutex
	conns   map[string]*Conn
	closed  bool
	pollr   *netpoll.Poller // watches idle WebSocket connections; started with the first one
	pollErr error

	// With locks of their own.
	flushers flushPool
	byClient clientClosed // long-polling sessions the client closed lately, for the GET it may have in flight

	wg sync.WaitGroup // one per connection until its OnClose returns, one per writer or reader goroutine
}

// NewServer returns a server that hands its connections to h.
func NewServer(cfg Config, h Handler) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("engineio: nil Handler")
	}
	s := &Server{cfg: cfg, handler: h, conns: make(map[string]*Conn)}
	s.flushers = flushPool{max: runtime.GOMAXPROCS(0), wg: &s.wg}
	s.readers = workpool.New(&s.wg, 0)
	s.hb = newHeartbeat(cfg)
	return s, nil
}

// Len returns the number of open connections.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Conn returns the open connection with the given session id, or nil.
func (s *Server) Conn(sid string) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[sid]
}

// Shutdown stops the server gracefully: it refuses new connections, closes every connection with
// ReasonServerShutdown (a close packet first, so clients do not reconnect at once), and waits, until ctx is
// done, for the goroutines the server started and for the Handler's OnClose calls to return; it then returns
// ctx's error. It does not wait for HTTP handlers, which belong to the http.Server: shut that down too.
func (s *Server) Shutdown(ctx context.Context) error { return s.shutdown(ctx, true) }

// Close stops the server at once: what Shutdown does, without waiting for the server's goroutines and the
// Handler's OnClose calls, which end on their own (the poller is released after the last of them).
func (s *Server) Close() error { return s.shutdown(context.Background(), false) }

func (s *Server) shutdown(ctx context.Context, wait bool) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close(ReasonServerShutdown, false)
	}
	s.hb.close()
	s.readers.Close()
	var err error
	if wait {
		done := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	p := s.pollr
	s.mu.Unlock()
	switch {
	case p == nil:
	case wait:
		_ = p.Close() // ErrClosed when an earlier call closed it
	default: // the poller outlives the connections' goroutines, which may still use it
		go func() {
			s.wg.Wait()
			_ = p.Close()
		}()
	}
	return err
}

func (s *Server) remove(c *Conn) {
	s.mu.Lock()
	if s.conns[c.id] == c {
		delete(s.conns, c.id)
	}
	s.mu.Unlock()
}

// ServeHTTP serves the handshake, long-polling requests and WebSocket connections of Engine.IO v4, and of v3 with
// Config.AllowEIO3.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if headerBytes(r) >= s.cfg.MaxHeaderBytes {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	r = FromTrustedProxyHeader(r, s.cfg.TrustedProxies, s.cfg.ProxyHeader)
	origin := r.Header.Get("Origin")
	if origin != "" {
		if !s.originAllowed(origin, r.Host) {
			s.refuse(w, r, &RequestError{Status: http.StatusForbidden, Code: CodeForbidden},
				map[string]any{"name": "ORIGIN_NOT_ALLOWED", "origin": origin})
			return
		}
		if !sameHost(origin, r.Host) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if s.cfg.AllowCredentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
	}
	if r.Method == http.MethodOptions {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := r.URL.Query()
	// As in the reference server, every EIO but "4" is protocol v3.
	eio3 := q.Get("EIO") != "4"
	transport := q.Get("transport")
	if !s.cfg.allows(transport) {
		s.refuse(w, r, &RequestError{Status: http.StatusBadRequest, Code: CodeUnknownTransport},
			map[string]any{"transport": transport})
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		if eio3 && !s.cfg.AllowEIO3 {
			s.refuse(w, r, &RequestError{Status: http.StatusBadRequest, Code: CodeUnsupportedVersion},
				map[string]any{"protocol": q.Get("EIO")})
			return
		}
		s.handshake(w, r, transport, eio3)
		return
	}
	c := s.Conn(sid)
	if c == nil {
		if transport == TransportPolling && r.Method == http.MethodGet && s.byClient.take(sid) {
			s.pollClosed(w, sid, true, eio3)
			return
		}
		s.refuse(w, r, &RequestError{Status: http.StatusBadRequest, Code: CodeUnknownSID}, map[string]any{"sid": sid})
		return
	}
	if c.eio3 != eio3 {
		// A request (an upgrade, say) in another protocol revision than its session's: refused, the session
		// untouched, as the reference server (engine.io 6.6.10 and later) refuses it.
		protocol := 4
		if eio3 {
			protocol = 3
		}
		s.refuse(w, r, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest},
			map[string]any{"name": "PROTOCOL_MISMATCH", "protocol": protocol, "previousProtocol": c.Protocol()})
		return
	}
	switch {
	case transport == TransportWebSocket:
		c.serveUpgrade(w, r)
	case r.Method == http.MethodGet:
		c.servePollGet(w, r)
	case r.Method == http.MethodPost:
		c.servePollPost(w, r)
	default:
		s.refuse(w, r, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest},
			map[string]any{"name": "BAD_METHOD", "method": r.Method})
	}
}

func (s *Server) handshake(w http.ResponseWriter, r *http.Request, transport string, eio3 bool) {
	if r.Method != http.MethodGet {
		s.refuse(w, r, &RequestError{Status: http.StatusBadRequest, Code: CodeBadHandshakeMethod},
			map[string]any{"method": r.Method})
		return
	}
	if s.cfg.AllowRequest != nil {
		if err := s.cfg.AllowRequest(r); err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				re = &RequestError{Status: http.StatusForbidden, Code: CodeForbidden}
			}
			s.refuse(w, r, re, map[string]any{"message": err.Error()})
			return
		}
	}
	if transport == TransportWebSocket {
		s.serveWebSocket(w, r, eio3)
		return
	}
	c, err := s.newConn(r, TransportPolling, eio3)
	if err != nil {
		s.refuse(w, r, &RequestError{Status: http.StatusServiceUnavailable, Code: CodeBadRequest, Message: "Server closed"},
			map[string]any{"name": "SERVER_CLOSED"})
		return
	}
	s.handler.OnOpen(c)
	c.startHeartbeat()
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	s.responseHeaders(w.Header(), r, true)
	open := eiopacket.Packet{Type: eiopacket.Open, Data: s.openData(c.id, true)}
	if eio3 {
		_, _ = w.Write(appendPayloadV3(nil, []eiopacket.Packet{open}))
		return
	}
	_, _ = w.Write(eiopacket.AppendPacket(nil, open))
}

// serveWebSocket runs a session that starts on WebSocket.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, eio3 bool) {
	if _, err := wsproto.CheckRequest(r); err != nil && s.cfg.OnConnectionError != nil {
		s.cfg.OnConnectionError(&ConnectionError{Request: r, Code: CodeBadRequest, Message: CodeBadRequest.String(),
			Context: map[string]any{"name": "TRANSPORT_HANDSHAKE_ERROR", "error": err.Error()}})
	}
	nc, early, err := wsproto.AcceptWithHeader(w, r, s.wsHeaders(r, true))
	if err != nil {
		return // Accept has answered the request
	}
	c, err := s.newConn(r, TransportWebSocket, eio3)
	if err != nil {
		_, _ = nc.Write(wsproto.AppendClose(nil, wsproto.CloseGoingAway, "server closed"))
		_ = nc.Close()
		return
	}
	ws := s.newWS(c, nc, early, r)
	ws.active = true
	// The open packet goes first, through the writer like everything else.
	c.mu.Lock()
	c.ws = ws
	c.queue = append(c.queue, queued{p: eiopacket.Packet{Type: eiopacket.Open, Data: s.openData(c.id, false)}})
	c.wakeAndUnlock(true)
	s.handler.OnOpen(c)
	c.startHeartbeat()
	ws.run()
}

// poller returns the server's poller, started on first use, or nil where there is none.
func (s *Server) poller() *netpoll.Poller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pollr == nil && s.pollErr == nil && !s.closed {
		s.pollr, s.pollErr = netpoll.New()
		if s.pollErr != nil && !errors.Is(s.pollErr, netpoll.ErrUnsupported) {
			s.cfg.Logger.Warn("engineio: no poller, one reading goroutine per WebSocket", "err", s.pollErr)
		}
	}
	return s.pollr
}

func (s *Server) newConn(r *http.Request, transport string, eio3 bool) (*Conn, error) {
	c := &Conn{
		srv:       s,
		id:        randid.New(),
		transport: transport,
		req:       requestInfo(r),
		eio3:      eio3,
		b64:       eio3 && wantsBase64(r),
	}
	if transport == TransportPolling {
		c.wake = make(chan struct{}, 1) // only long-polling GETs wait on it
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServerClosed
	}
	s.conns[c.id] = c
	s.wg.Add(1) // released once OnClose has returned; Close waits for it
	if m := s.cfg.Metrics; m != nil {
		m.ConnOpened(transport)
	}

	return c, nil
}

// headerBytes returns the size of r's request line and headers as Node's HTTP parser counts it against its
// maxHeaderSize: the request target, and each header's name and value (Host, and Transfer-Encoding, which
// net/http takes out of Header, included); the method, the version and the separators are not counted.
func headerBytes(r *http.Request) int {
	n := len(r.RequestURI)
	if n == 0 && r.URL != nil {
		n = len(r.URL.RequestURI())
	}
	if r.Host != "" {
		n += len("Host") + len(r.Host)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	for _, te := range r.TransferEncoding {
		n += len("Transfer-Encoding") + len(te)
	}
	return n
}

// wantsBase64 reports whether a v3 client asks for binary data in base64 (a non-empty "b64" query parameter, as
// the reference server tests it).
func wantsBase64(r *http.Request) bool { return r.URL.Query().Get("b64") != "" }

// openData returns the JSON payload of the open packet.
func (s *Server) openData(sid string, upgradable bool) []byte {
	type open struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}
	o := open{
		SID:          sid,
		Upgrades:     []string{},
		PingInterval: s.cfg.PingInterval.Milliseconds(),
		PingTimeout:  s.cfg.PingTimeout.Milliseconds(),
		MaxPayload:   s.cfg.MaxHTTPBufferSize,
	}
	if upgradable && !s.cfg.DisableUpgrades && s.cfg.allows(TransportWebSocket) {
		o.Upgrades = []string{TransportWebSocket}
	}
	b, _ := json.Marshal(o)
	return b
}

func (s *Server) originAllowed(origin, host string) bool {
	if sameHost(origin, host) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	for _, p := range s.cfg.AllowedOrigins {
		if p == "*" || strings.EqualFold(p, origin) {
			return true
		}
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}

func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

func writeError(w http.ResponseWriter, e *RequestError) {
	msg := e.Message
	if msg == "" {
		msg = e.Code.String()
	}
	body, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{int(e.Code), msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// reqInfo is what a connection keeps of its handshake request (Conn.Request rebuilds one from it): its strings
// (method, request URI, protocol, host, remote address, then header name/value pairs) in one string, each
// preceded by its length as a uvarint, and its TLS state; none of the HTTP server's parsing buffers. One string
// rather than a slice of strings saves an idle connection the slice and the request line and header blocks
// that the strings would keep alive (about 150 bytes).
type reqInfo struct {
	fields string
	tls    *tls.ConnectionState
}

const reqHeaderStart = 5 // index of the first header name in reqInfo.list()

// transportHeaders are the headers of the WebSocket handshake itself, which say nothing about the client.
var transportHeaders = []string{"Connection", "Upgrade", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions"}

func requestInfo(r *http.Request) reqInfo {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	base := [reqHeaderStart]string{r.Method, uri, r.Proto, r.Host, r.RemoteAddr}
	size := 0
	for _, f := range base {
		size += uvarintLen(len(f)) + len(f)
	}
	for k, v := range r.Header {
		if !slices.Contains(transportHeaders, k) {
			for _, x := range v {
				size += uvarintLen(len(k)) + len(k) + uvarintLen(len(x)) + len(x)
			}
		}
	}
	var b strings.Builder
	b.Grow(size) // the one allocation
	var n [binary.MaxVarintLen64]byte
	add := func(f string) {
		b.Write(binary.AppendUvarint(n[:0], uint64(len(f))))
		b.WriteString(f)
	}
	for _, f := range base {
		add(f)
	}
	for k, v := range r.Header {
		if slices.Contains(transportHeaders, k) {
			continue
		}
		for _, x := range v {
			add(k)
			add(x)
		}
	}
	return reqInfo{fields: b.String(), tls: r.TLS}
}

// list returns the strings of the request, in the order of requestInfo.
func (ri reqInfo) list() []string {
	var out []string
	for rest := ri.fields; rest != ""; {
		n, k := binary.Uvarint([]byte(rest[:min(len(rest), binary.MaxVarintLen64)]))
		if k <= 0 || uint64(len(rest)-k) < n {
			break // cannot happen: requestInfo wrote it
		}
		out = append(out, rest[k:k+int(n)])
		rest = rest[k+int(n):]
	}
	for len(out) < reqHeaderStart {
		out = append(out, "")
	}
	return out
}

// uvarintLen returns the length of n as a uvarint.
func uvarintLen(n int) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}
