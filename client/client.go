// Package client is a Socket.IO v5 client (Engine.IO v4), for Go programs that talk to Socket.IO servers: the
// Go server of package socketio, or Node's socket.io 4.
//
// A Manager is one Engine.IO connection to a server (long-polling, WebSocket, or polling upgraded to WebSocket as
// socket.io-client does), shared by the Sockets of several namespaces; it reconnects with exponential backoff and
// jitter when the connection is lost. A Socket is one namespace: typed event handlers, emits with and without
// acknowledgements, volatile emits, a bounded buffer of emits while disconnected, and connection state recovery.
//
//	s, err := client.Dial(ctx, "http://localhost:8080/", client.Options{}, nil) // nil: no auth payload
//	defer s.Close()
//	client.Handle(s, "chat", func(ctx context.Context, s *client.Socket, m Message) { … })
//	err = s.Emit("chat", Message{Text: "hi"})
//
// Handlers of a Manager's sockets run one at a time, in the order their packets arrived, on one goroutine of the
// Manager; acknowledgements are handled as they arrive, so a handler may wait in EmitWithAck. Every goroutine of a
// Manager ends when Close returns.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sioredis/sioredis/internal/eventargs"
	"github.com/sioredis/sioredis/internal/siopacket"
)

// Transport names an Engine.IO transport.
type Transport string

// The transports.
const (
	Polling   Transport = "polling"
	WebSocket Transport = "websocket"
)

// DefaultMaxBufferedPackets is the default of Options.MaxBufferedPackets.
const DefaultMaxBufferedPackets = 1024

// DefaultMaxQueuedPackets is the default of Options.MaxQueuedPackets.
const DefaultMaxQueuedPackets = 4096

// Options configure a Manager. The zero value is socket.io-client's defaults.
type Options struct {
	// Path is the Engine.IO endpoint; default "/socket.io/".
	Path string
	// Transports are tried in order: the connection opens with the first, and upgrades to "websocket" when it
	// is second and the server offers it. Default [Polling, WebSocket]; [WebSocket] opens over WebSocket only,
	// [Polling] never upgrades.
	Transports []Transport
	// Query is added to every request's query.
	Query url.Values
	// Header is added to every HTTP request (polling and the WebSocket handshake).
	Header http.Header
	// HTTPClient makes the polling requests; default a client of its own, given TLSConfig (its idle
	// connections are closed by Close).
	HTTPClient *http.Client
	// TLSConfig configures the TLS of an https or wss server: its roots of trust, client certificates. It is
	// used for the WebSocket connections, and for polling when HTTPClient is nil. When nil, the WebSocket
	// uses the TLS configuration of HTTPClient's Transport if that is an *http.Transport (so that
	// httptest.Server.Client() is enough), else the system's roots. The WebSocket always negotiates
	// http/1.1, whatever NextProtos says, and defaults ServerName to the URL's host.
	TLSConfig *tls.Config
	// NoReconnection turns reconnection off: a lost connection stays lost.
	NoReconnection bool
	// ReconnectionAttempts bounds the attempts after a connection is lost (or the first one failed); 0 means
	// no bound, as in socket.io-client.
	ReconnectionAttempts int
	// ReconnectionDelay is the first delay before a reconnection attempt, doubled at each attempt; default 1 s.
	ReconnectionDelay time.Duration
	// ReconnectionDelayMax bounds the delay; default 5 s.
	ReconnectionDelayMax time.Duration
	// RandomizationFactor spreads each delay by ± this fraction; default 0.5; negative means none.
	RandomizationFactor float64
	// MaxBufferedPackets bounds, per socket, the emits kept while it is not connected (sent, in order, once it
	// connects). When the buffer is full Emit and EmitWithAck return ErrBufferFull and the packet is dropped;
	// volatile emits are never buffered. Default DefaultMaxBufferedPackets; negative means no buffer.
	MaxBufferedPackets int
	// MaxQueuedPackets bounds the Engine.IO packets waiting to be written while connected (a binary event is
	// one packet per attachment more): an Emit beyond it returns ErrBufferFull and is not sent, so that a
	// server or network that does not keep up cannot grow the client's memory without bound. Acks, pongs and
	// connects are not counted against it. Default DefaultMaxQueuedPackets; negative means no bound.
	MaxQueuedPackets int
	// Parser is the packet format; default ParserJSON. ParserMsgpack is socket.io-msgpack-parser's, for servers
	// given that parser.
	Parser Parser
}

func (o Options) withDefaults() Options {
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if len(o.Transports) == 0 {
		o.Transports = []Transport{Polling, WebSocket}
	}
	if o.ReconnectionDelay <= 0 {
		o.ReconnectionDelay = time.Second
	}
	if o.ReconnectionDelayMax <= 0 {
		o.ReconnectionDelayMax = 5 * time.Second
	}
	if o.RandomizationFactor == 0 {
		o.RandomizationFactor = 0.5
	} else if o.RandomizationFactor < 0 {
		o.RandomizationFactor = 0
	}
	if o.MaxBufferedPackets == 0 {
		o.MaxBufferedPackets = DefaultMaxBufferedPackets
	}
	if o.MaxQueuedPackets == 0 {
		o.MaxQueuedPackets = DefaultMaxQueuedPackets
	}
	return o
}

// Backoff returns the delay before reconnection attempt n (from 0) as socket.io-client computes it:
// min·2ⁿ spread by ± factor, at most max.
func Backoff(n int, minDelay, maxDelay time.Duration, factor float64) time.Duration {
	ms := float64(minDelay)
	for range min(n, 62) {
		ms *= 2
		if ms > float64(maxDelay) {
			break
		}
	}
	if factor > 0 {
		r := rand.Float64()
		dev := r * factor * ms
		if int(r*10)&1 == 0 {
			ms -= dev
		} else {
			ms += dev
		}
	}
	return time.Duration(min(ms, float64(maxDelay)))
}

// Manager is one Engine.IO connection to a server, shared by the Sockets of its namespaces. It is safe for
// concurrent use.
type Manager struct {
	base *url.URL
	opts Options
	own  *http.Transport

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  sync.Once

	mu       sync.Mutex
	sockets  map[string]*Socket
	eng      *engine
	wake     chan struct{} // a socket wants a connection
	closed   bool
	failed   error // reconnection gave up
	tasks    []func()
	taskCond *sync.Cond

	// the binary packet being assembled (reader goroutine only)
	partial *packet
	bufs    [][]byte
}

// NewManager returns a Manager for the server at rawURL (http, https, ws or wss; its path is ignored: the
// endpoint is Options.Path). It connects when a socket does.
func NewManager(rawURL string, opts Options) (*Manager, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return nil, fmt.Errorf("client: unsupported scheme %q", u.Scheme)
	}
	opts = opts.withDefaults()
	for _, t := range opts.Transports {
		if t != Polling && t != WebSocket {
			return nil, fmt.Errorf("client: unknown transport %q", t)
		}
	}
	m := &Manager{opts: opts, sockets: map[string]*Socket{}, wake: make(chan struct{}, 1)}
	if m.opts.HTTPClient == nil {
		m.own = &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second, ForceAttemptHTTP2: true}
		if opts.TLSConfig != nil {
			m.own.TLSClientConfig = opts.TLSConfig.Clone()
		}
		m.opts.HTTPClient = &http.Client{Transport: m.own}
	}
	m.taskCond = sync.NewCond(&m.mu)
	m.ctx, m.cancel = context.WithCancel(context.Background())
	base := *u
	base.Path = opts.Path
	base.RawQuery = u.RawQuery
	m.base = &base
	return m, nil
}

// Socket returns the socket of namespace nsp ("/" when empty), made on first use with auth as its CONNECT
// payload (a JSON object: a map, a struct, or nil). A later call returns the same socket and ignores auth.
func (m *Manager) Socket(nsp string, auth any) *Socket {
	if nsp == "" {
		nsp = "/"
	}
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sockets[nsp]; ok {
		return s
	}
	s := &Socket{m: m, nsp: nsp, auth: auth, handlers: map[string]EventHandler{}, acks: map[int64]chan Args{}}
	s.ctx, s.cancel = context.WithCancel(m.ctx)
	m.sockets[nsp] = s
	return s
}

// Transport returns the transport in use ("polling" or "websocket"), or "" when not connected.
func (m *Manager) Transport() string {
	m.mu.Lock()
	e := m.eng
	m.mu.Unlock()
	if e == nil {
		return ""
	}
	return e.transportName()
}

// Close closes the connection at once (no DISCONNECT is sent), ends every socket, and waits for the Manager's
// goroutines to end. Pending EmitWithAck calls return ErrClosed.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	e := m.eng
	m.eng = nil
	m.taskCond.Broadcast()
	m.mu.Unlock()
	m.cancel()
	if e != nil {
		e.stop("io client disconnect")
		e.wait()
	}
	m.wg.Wait()
	if m.own != nil {
		m.own.CloseIdleConnections()
	}
	return nil
}

// run starts the Manager's goroutines (once).
func (m *Manager) run() {
	m.start.Do(func() {
		m.wg.Add(2)
		go m.connectLoop()
		go m.taskLoop()
	})
}

// connectLoop keeps a connection open while a socket wants one, reconnecting with backoff.
func (m *Manager) connectLoop() {
	defer m.wg.Done()
	attempt := 0
	for {
		m.mu.Lock()
		want := m.wantConnLocked()
		m.mu.Unlock()
		if !want {
			select {
			case <-m.wake:
				continue
			case <-m.ctx.Done():
				return
			}
		}
		closed := make(chan struct{})
		var closeErr error
		var closeOnce sync.Once
		e, err := openEngine(m.ctx, m.base, &m.opts, m.onMessage, func(reason string, err error) {
			closeOnce.Do(func() {
				closeErr = err
				m.onEngineClose(reason)
				close(closed)
			})
		})
		if err == nil {
			m.mu.Lock()
			if m.closed {
				m.mu.Unlock()
				e.stop("io client disconnect")
				e.wait()
				return
			}
			m.eng, m.partial, m.bufs = e, nil, nil
			for _, s := range m.sockets {
				if s.want {
					s.sendConnectLocked()
				}
			}
			m.mu.Unlock()
			attempt = 0
			select {
			case <-closed:
				e.wait()
			case <-m.ctx.Done():
				return // Close stops the engine
			}
			m.mu.Lock()
			want := m.wantConnLocked()
			m.mu.Unlock()
			if !want {
				continue
			}
		}
		if m.opts.NoReconnection || (m.opts.ReconnectionAttempts > 0 && attempt >= m.opts.ReconnectionAttempts) {
			m.giveUp(fmt.Errorf("%w: %w", ErrReconnectFailed, errOr(err, closeErr)))
			attempt = 0
			continue
		}
		t := time.NewTimer(Backoff(attempt, m.opts.ReconnectionDelay, m.opts.ReconnectionDelayMax, m.opts.RandomizationFactor))
		attempt++
		select {
		case <-t.C:
		case <-m.ctx.Done():
			t.Stop()
			return
		}
	}
}

func errOr(a, b error) error {
	if a != nil {
		return a
	}
	if b != nil {
		return b
	}
	return ErrTransportClosed
}

// giveUp ends the wish of every socket to connect after the last failed attempt.
func (m *Manager) giveUp(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sockets {
		if s.want {
			s.want = false
			s.setErrLocked(err)
		}
	}
}

func (m *Manager) wantConnLocked() bool {
	for _, s := range m.sockets {
		if s.want {
			return true
		}
	}
	return false
}

// onEngineClose marks every socket disconnected.
func (m *Manager) onEngineClose(reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.eng = nil
	for _, s := range m.sockets {
		if s.connected {
			s.connected = false
			s.disconnectedLocked(reason)
		}
	}
}

// post runs fn on the handler goroutine. Called with m.mu held.
func (m *Manager) postLocked(fn func()) {
	m.tasks = append(m.tasks, fn)
	m.taskCond.Signal()
}

func (m *Manager) taskLoop() {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		for len(m.tasks) == 0 && !m.closed {
			m.taskCond.Wait()
		}
		if m.closed {
			m.tasks = nil
			m.mu.Unlock()
			return
		}
		fn := m.tasks[0]
		m.tasks[0] = nil
		m.tasks = m.tasks[1:]
		m.mu.Unlock()
		fn()
	}
}

// onMessage handles an Engine.IO message (reader goroutine).
func (m *Manager) onMessage(p eioPacket) {
	if m.opts.Parser == ParserMsgpack {
		var pk packet
		var bufs [][]byte
		err := fmt.Errorf("%w: text message: the server does not use the msgpack parser", ErrBadPacket)
		if p.binary {
			pk, bufs, err = decodeMsgpackPacket(p.data)
		}
		if err != nil {
			m.mu.Lock()
			e := m.eng
			m.mu.Unlock()
			if e != nil {
				e.fail("parse error", err)
			}
			return
		}
		m.onPacket(pk, bufs)
		return
	}
	if p.binary {
		if m.partial == nil {
			return
		}
		m.bufs = append(m.bufs, p.data)
		if len(m.bufs) == m.partial.attachments {
			pk, bufs := *m.partial, m.bufs
			m.partial, m.bufs = nil, nil
			if err := eventargs.CheckPlaceholders(pk.data, len(bufs)); err != nil {
				m.mu.Lock()
				e := m.eng
				m.mu.Unlock()
				if e != nil {
					e.fail("parse error", fmt.Errorf("%w: %w", ErrBadPacket, err))
				}
				return
			}
			m.onPacket(pk, bufs)
		}
		return
	}
	pk, err := decodePacket(p.data)
	if err != nil {
		m.mu.Lock()
		e := m.eng
		m.mu.Unlock()
		if e != nil {
			e.fail("parse error", err)
		}
		return
	}
	if pk.attachments > 0 {
		m.partial, m.bufs = &pk, nil
		return
	}
	m.onPacket(pk, nil)
}

func (m *Manager) onPacket(pk packet, bufs [][]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sockets[pk.nsp]
	if s == nil {
		return
	}
	switch pk.typ {
	case pConnect:
		var d struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		_ = json.Unmarshal(pk.data, &d)
		s.onConnectLocked(d.SID, d.PID)
	case pConnectError:
		ce := &ConnectError{}
		var d struct {
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if json.Unmarshal(pk.data, &d) == nil {
			ce.Message, ce.Data = d.Message, d.Data
		} else {
			ce.Message = string(pk.data)
		}
		s.want = false
		s.setErrLocked(ce)
		if h := s.onConnErr; h != nil {
			m.postLocked(func() { h(ce) })
		}
	case pDisconnect:
		if s.connected {
			s.connected, s.want = false, false
			s.disconnectedLocked("io server disconnect")
			s.failAcksLocked()
		}
	case pEvent, pBinaryEvent:
		l, err := splitArgs(pk.data, bufs)
		if err != nil || l.Len() == 0 {
			return
		}
		var event string
		if json.Unmarshal(l.Raw(0), &event) != nil {
			return
		}
		args := Args{l: l.Drop(1)}
		if s.pid != "" && args.Len() > 0 {
			var off string
			if json.Unmarshal(args.Raw(args.Len()-1), &off) == nil {
				s.offset = off
			}
		}
		var ack AckFunc
		if pk.id >= 0 {
			id := pk.id
			var once sync.Once
			ack = func(a ...any) error {
				err := errAckTwice
				once.Do(func() { err = s.sendAck(id, a) })
				return err
			}
		}
		h := s.handlers[event]
		anyH := s.anyH
		m.postLocked(func() {
			if anyH != nil {
				anyH(s.ctx, s, event, args)
			}
			if h != nil {
				h(s.ctx, s, args, ack)
			}
		})
	case pAck, pBinaryAck:
		l, err := splitArgs(pk.data, bufs)
		if err != nil {
			return
		}
		if ch, ok := s.acks[pk.id]; ok {
			delete(s.acks, pk.id)
			ch <- Args{l: l}
		}
	}
}

var errAckTwice = errors.New("client: acknowledgement already sent")

// EventHandler handles an event: its arguments, and ack, non-nil when the server asked for an acknowledgement.
// ctx ends when the socket's Manager is closed.
type EventHandler func(ctx context.Context, s *Socket, args Args, ack AckFunc)

// AnyHandler sees every event before its handler.
type AnyHandler func(ctx context.Context, s *Socket, event string, args Args)

// AckFunc sends the acknowledgement the server asked for; a second call returns an error.
type AckFunc func(args ...any) error

// Socket is one namespace of a Manager's connection. It is safe for concurrent use.
type Socket struct {
	m      *Manager
	nsp    string
	auth   any
	owner  bool // made by Dial: Close closes the Manager
	ctx    context.Context
	cancel context.CancelFunc

	// guarded by m.mu
	want      bool
	connected bool
	id        string
	pid       string
	offset    string
	recovered bool
	err       error
	waiters   []chan struct{}
	handlers  map[string]EventHandler
	anyH      AnyHandler
	onConn    func()
	onDisc    func(reason string)
	onConnErr func(err *ConnectError)
	buffer    [][]eioPacket
	nextAck   int64
	acks      map[int64]chan Args
}

// Dial makes a Manager for rawURL and connects the socket of the URL's path (a namespace; "/" when empty) with
// Options' defaults; the socket's Close closes the Manager too. The endpoint is Options.Path.
func Dial(ctx context.Context, rawURL string, opts Options, auth any) (*Socket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	m, err := NewManager(rawURL, opts)
	if err != nil {
		return nil, err
	}
	s := m.Socket(u.Path, auth)
	s.owner = true
	if err := s.Connect(ctx); err != nil {
		_ = m.Close()
		return nil, err
	}
	return s, nil
}

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() string { return s.nsp }

// Manager returns the socket's Manager.
func (s *Socket) Manager() *Manager { return s.m }

// ID returns the socket's id given by the server at its last connection, or "".
func (s *Socket) ID() string {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.id
}

// Connected reports whether the socket is connected to its namespace.
func (s *Socket) Connected() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.connected
}

// Recovered reports whether the last connection recovered the session of the previous one (connection state
// recovery: the server kept its id and rooms, and sent the packets it missed).
func (s *Socket) Recovered() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.recovered
}

// Connect connects the socket (and the Manager's connection if needed) and waits until the server has accepted
// it. It returns a *ConnectError when the server refuses the namespace, ErrReconnectFailed when the connection
// could not be opened in Options.ReconnectionAttempts attempts, or ctx's error; the Manager keeps trying in the
// background after ctx ends, until Disconnect or Close.
func (s *Socket) Connect(ctx context.Context) error {
	m := s.m
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if s.connected {
		m.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.err = nil
	if !s.want {
		s.want = true
		if m.eng != nil {
			s.sendConnectLocked()
		}
	}
	m.mu.Unlock()
	m.run()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	select {
	case <-ch:
		m.mu.Lock()
		defer m.mu.Unlock()
		if s.connected {
			return nil
		}
		if s.err != nil {
			return s.err
		}
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Socket) setErrLocked(err error) {
	s.err = err
	for _, w := range s.waiters {
		close(w)
	}
	s.waiters = nil
}

// sendConnectLocked sends CONNECT with the auth payload and, after a first connection with recovery, the
// session's pid and offset.
func (s *Socket) sendConnectLocked() {
	var data []byte
	if s.auth != nil {
		b, err := json.Marshal(s.auth)
		if err != nil || len(b) == 0 || b[0] != '{' {
			s.want = false
			s.setErrLocked(fmt.Errorf("client: auth is not a JSON object: %v", err))
			return
		}
		data = b
	}
	if s.pid != "" {
		var b bytes.Buffer
		b.WriteString(`{"pid":`)
		p, _ := json.Marshal(s.pid)
		b.Write(p)
		if s.offset != "" {
			o, _ := json.Marshal(s.offset)
			b.WriteString(`,"offset":`)
			b.Write(o)
		}
		if len(data) > 2 {
			b.WriteByte(',')
			b.Write(data[1:])
		} else {
			b.WriteByte('}')
		}
		data = b.Bytes()
	}
	s.m.eng.send(s.m.encodePacket(pConnect, s.nsp, -1, data, nil)...)
}

func (s *Socket) onConnectLocked(sid, pid string) {
	s.recovered = pid != "" && pid == s.pid
	s.id, s.pid = sid, pid
	if pid == "" {
		s.offset = ""
	}
	s.connected, s.err = true, nil
	for _, w := range s.waiters {
		close(w)
	}
	s.waiters = nil
	if e := s.m.eng; e != nil {
		for _, b := range s.buffer {
			e.send(b...)
		}
	}
	s.buffer = nil
	if h := s.onConn; h != nil {
		s.m.postLocked(h)
	}
}

func (s *Socket) disconnectedLocked(reason string) {
	if h := s.onDisc; h != nil {
		s.m.postLocked(func() { h(reason) })
	}
}

func (s *Socket) failAcksLocked() {
	for id, ch := range s.acks {
		delete(s.acks, id)
		close(ch)
	}
}

// On sets the handler of event, replacing any earlier one. Handlers may be set at any time.
func (s *Socket) On(event string, h EventHandler) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.handlers[event] = h
}

// OnAny sets a handler called for every event, before the event's own handler.
func (s *Socket) OnAny(h AnyHandler) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.anyH = h
}

// OnConnect sets a function called at each connection (on the handler goroutine).
func (s *Socket) OnConnect(fn func()) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.onConn = fn
}

// OnDisconnect sets a function called at each disconnection with socket.io-client's reason: "io server
// disconnect", "io client disconnect", "transport close", "transport error", "ping timeout", "parse error".
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.onDisc = fn
}

// OnConnectError sets a function called when the server refuses the namespace.
func (s *Socket) OnConnectError(fn func(err *ConnectError)) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.onConnErr = fn
}

// Emit sends an event. Arguments follow the argument-encoding rule of package jsvalue, as the server's do. While the socket is not connected the
// packet is buffered (see Options.MaxBufferedPackets); ErrBufferFull when the buffer is full.
func (s *Socket) Emit(event string, args ...any) error { return s.emit(false, event, args, -1) }

// Volatile returns an emitter whose emits are dropped (with a nil error) when the socket is not connected.
func (s *Socket) Volatile() VolatileEmitter { return VolatileEmitter{s} }

// VolatileEmitter emits events that are not buffered. It is safe for concurrent use.
type VolatileEmitter struct{ s *Socket }

// Emit sends the event if the socket is connected, and drops it otherwise.
func (v VolatileEmitter) Emit(event string, args ...any) error {
	return v.s.emit(true, event, args, -1)
}

func (s *Socket) emit(volatile bool, event string, args []any, id int64) error {
	data, atts, err := siopacket.AppendEventData(nil, event, args, nil)
	if err != nil {
		return err
	}
	pkts := s.m.encodePacket(pEvent, s.nsp, id, data, atts)
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.sendLocked(volatile, pkts)
}

func (s *Socket) sendLocked(volatile bool, pkts []eioPacket) error {
	m := s.m
	if m.closed {
		return ErrClosed
	}
	if s.connected && m.eng != nil {
		if err := m.eng.emit(volatile, pkts); err != nil {
			return ErrBufferFull
		}
		return nil
	}
	if volatile {
		return nil
	}
	if m.opts.MaxBufferedPackets < 0 || len(s.buffer) >= m.opts.MaxBufferedPackets {
		return ErrBufferFull
	}
	s.buffer = append(s.buffer, pkts)
	return nil
}

func (s *Socket) sendAck(id int64, args []any) error {
	data, atts, err := siopacket.AppendAckData(nil, args, nil)
	if err != nil {
		return err
	}
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if !s.connected || m.eng == nil {
		return ErrDisconnected
	}
	m.eng.send(m.encodePacket(pAck, s.nsp, id, data, atts)...)
	return nil
}

// EmitWithAck sends an event asking for an acknowledgement and waits for it, until ctx ends. Buffered as Emit
// while not connected.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	data, atts, err := siopacket.AppendEventData(nil, event, args, nil)
	if err != nil {
		return Args{}, err
	}
	m := s.m
	ch := make(chan Args, 1)
	m.mu.Lock()
	id := s.nextAck
	s.nextAck++
	if err := s.sendLocked(false, m.encodePacket(pEvent, s.nsp, id, data, atts)); err != nil {
		m.mu.Unlock()
		return Args{}, err
	}
	s.acks[id] = ch
	m.mu.Unlock()
	select {
	case a, ok := <-ch:
		if !ok {
			return Args{}, ErrDisconnected
		}
		return a, nil
	case <-ctx.Done():
		m.mu.Lock()
		delete(s.acks, id)
		m.mu.Unlock()
		return Args{}, ctx.Err()
	case <-s.ctx.Done():
		return Args{}, ErrClosed
	}
}

// Disconnect leaves the namespace gracefully: the DISCONNECT packet and what was queued before it are written
// (until ctx ends), and the socket does not reconnect. When no other socket of the Manager is connected, the
// connection is closed. A socket made by Dial closes its Manager.
func (s *Socket) Disconnect(ctx context.Context) error {
	m := s.m
	m.mu.Lock()
	e := m.eng
	wasConnected := s.connected && e != nil
	if wasConnected {
		e.send(m.encodePacket(pDisconnect, s.nsp, -1, nil, nil)...)
	}
	s.want = false
	if s.connected {
		s.connected = false
		s.disconnectedLocked("io client disconnect")
	}
	s.buffer = nil
	s.failAcksLocked()
	s.setErrLocked(ErrDisconnected)
	last := !m.wantConnLocked()
	m.mu.Unlock()
	if e != nil && (last || s.owner) {
		e.flush(ctx)
		if wasConnected && e.transportName() == "polling" {
			e.send(eioPacket{typ: '1'})
			e.flush(ctx)
		}
		m.mu.Lock()
		if m.eng == e {
			m.eng = nil
		}
		m.mu.Unlock()
		e.fail("io client disconnect", nil)
	}
	if s.owner {
		return m.Close()
	}
	return nil
}

// Close is Disconnect without waiting: for a socket made by Dial it closes the Manager at once; otherwise it
// leaves the namespace as Disconnect does with a context already ended.
func (s *Socket) Close() error {
	if s.owner {
		return s.m.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return s.Disconnect(ctx)
}

// Handle sets a typed handler: the event's first argument is decoded into a T. An argument that does not decode
// is ignored (the handler is not called).
func Handle[T any](s *Socket, event string, fn func(ctx context.Context, s *Socket, v T)) {
	s.On(event, func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var v T
		if args.Len() > 0 {
			if err := args.Decode(0, &v); err != nil {
				return
			}
		}
		fn(ctx, s, v)
	})
}

// HandleAck sets a typed handler whose result is the acknowledgement: the event's first argument is decoded into
// a T, and the returned R is sent back when the server asked for an acknowledgement.
func HandleAck[T, R any](s *Socket, event string, fn func(ctx context.Context, s *Socket, v T) R) {
	s.On(event, func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var v T
		if args.Len() > 0 {
			if err := args.Decode(0, &v); err != nil {
				return
			}
		}
		r := fn(ctx, s, v)
		if ack != nil {
			_ = ack(r)
		}
	})
}

// EmitWithAckAs is EmitWithAck decoding the first argument of the acknowledgement into an R.
func EmitWithAckAs[R any](ctx context.Context, s *Socket, event string, args ...any) (R, error) {
	var r R
	a, err := s.EmitWithAck(ctx, event, args...)
	if err != nil || a.Len() == 0 {
		return r, err
	}
	err = a.Decode(0, &r)
	return r, err
}

// encodePacket writes a packet in the Manager's format (Options.Parser); data is its JSON with placeholders
// naming atts.
func (m *Manager) encodePacket(typ int, nsp string, id int64, data []byte, atts [][]byte) []eioPacket {
	if m.opts.Parser != ParserMsgpack {
		return encodePacket(typ, nsp, id, data, atts)
	}
	pkts, err := msgpackPacket(typ, nsp, id, data, atts)
	if err != nil { // data came from this package's own JSON writer: cannot happen
		panic(fmt.Sprintf("client: msgpack packet: %v", err))
	}
	return pkts
}
