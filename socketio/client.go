package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/fifo"
	"github.com/sioredis/sioredis/internal/randid"
)

// client is one Engine.IO connection and the sockets it has opened in namespaces. Its packets are read by the
// engine's reading goroutine (onMessage, serialised by engineio) and handled in order by its runner.
type client struct {
	srv  *Server
	conn *engineio.Conn
	run  runner

	jsonDec jsonDecoder // the default parser's decoding state (reader goroutine only)
	custom  *Decoder    // another parser's decoder, nil with the default (reader goroutine only)

	mu           sync.Mutex
	sockets      []*Socket      // one per namespace joined (a slice: clients join few namespaces)
	connecting   map[string]int // CONNECT packets queued or running, by namespace; nil when none
	connectTimer *time.Timer    // nil once a namespace is joined
	// pendingConnects are the cancel functions of the CONNECTs running, canceled when the connection closes.
	pendingConnects []*context.CancelFunc
	closeReason     DisconnectReason // set before closing the conn for a protocol error
	closed          bool
	waiting         bool        // the decoder holds a packet waiting for more messages (reader goroutine only)
	burst           bool        // onMessage hands over a packet of a burst (engineio.Conn.InBurst; reader goroutine only)
	attachTimer     *time.Timer // closes the connection if the pending packet's attachments are late
}

func newClient(s *Server, c *engineio.Conn) *client {
	cl := &client{srv: s, conn: c}
	if _, ok := s.parser.(JSONParser); !ok {
		d := s.parser.NewDecoder(s.decCfg)
		cl.custom = &d
	}
	cl.connectTimer = time.AfterFunc(s.cfg.ConnectTimeout, func() {
		cl.mu.Lock()
		idle := len(cl.sockets) == 0
		cl.mu.Unlock()
		if idle {
			s.log.Debug("socketio: no namespace joined in time", "sid", c.ID())
			cl.closeWith(ReasonForcedClose)
		}
	})
	return cl
}

// closeWith closes the connection, reporting reason to its sockets.
func (cl *client) closeWith(reason DisconnectReason) {
	cl.mu.Lock()
	if cl.closeReason == "" {
		cl.closeReason = reason
	}
	cl.mu.Unlock()
	cl.conn.Close()
}

func (cl *client) parseError(err error) {
	cl.srv.log.Debug("socketio: closing connection after a malformed packet", "sid", cl.conn.ID(), "err", err)
	cl.closeWith(ReasonParseError)
}

// setAttachTimer starts (on) or stops the time limit of the pending packet's attachments.
func (cl *client) setAttachTimer(on bool) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.attachTimer != nil {
		cl.attachTimer.Stop()
		cl.attachTimer = nil
	}
	if on && !cl.closed {
		timeout := cl.srv.cfg.AttachmentTimeout
		cl.attachTimer = time.AfterFunc(timeout, func() {
			cl.srv.log.Warn("socketio: closing connection: attachments not received in time", "sid", cl.conn.ID(), "timeout", timeout)
			cl.closeWith(ReasonParseError)
		})
	}
}

// onMessage receives one Engine.IO message, in order.
func (cl *client) onMessage(msg engineio.Message) {
	var p ReceivedPacket
	var complete bool
	var err error
	if cl.custom != nil {
		p, complete, err = (*cl.custom).Decode(msg)
	} else {
		p, complete, err = cl.jsonDec.decode(msg, &cl.srv.decCfg)
	}
	if err != nil || complete {
		if cl.waiting {
			cl.waiting = false
			cl.setAttachTimer(false)
		}
	} else if !cl.waiting {
		cl.waiting = true
		cl.setAttachTimer(true)
	}
	switch {
	case errors.Is(err, ErrPacketLimit):
		cl.srv.log.Warn("socketio: closing connection: packet over a limit", "sid", cl.conn.ID(), "err", err)
		cl.closeWith(ReasonParseError)
	case err != nil:
		cl.parseError(err)
	case complete:
		cl.burst = cl.conn.InBurst()
		cl.handle(p)
		cl.burst = false
	}
}

// runMode returns how the runner starts for a packet being handled: with the default mode, or at the end of the
// engine's burst (engineio.BurstHandler) when the packet is part of one.
func (cl *client) runMode(m runMode) runMode {
	if cl.burst {
		m |= runAtBurstEnd
	}
	return m
}

func (cl *client) socket(nsp string) *Socket {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.socketLocked(nsp)
}

func (cl *client) socketLocked(nsp string) *Socket {
	for _, s := range cl.sockets {
		if s.ns.name == nsp {
			return s
		}
	}
	return nil
}

// eio3 reports whether the client speaks Engine.IO v3, hence Socket.IO protocol v4 (socket.io-client 2.x).
func (cl *client) eio3() bool { return cl.conn.Protocol() == 3 }

func (cl *client) handle(p ReceivedPacket) {
	var query json.RawMessage
	if cl.eio3() {
		// Socket.IO v4 carries a namespace's query in the namespace ("/admin?token=x"); it is the CONNECT's
		// auth, as the reference server makes it.
		p.Nsp, query = splitNamespaceQuery(p.Nsp)
	}
	if m := cl.srv.cfg.Metrics; m != nil {
		m.PacketReceived(p.Type)
	}
	if p.Type == PacketConnect {
		auth, nsp := p.Auth, p.Nsp
		if cl.eio3() {
			auth = query
		}
		cl.mu.Lock()
		if cl.connecting == nil {
			cl.connecting = make(map[string]int)
		}
		cl.connecting[nsp]++
		cl.mu.Unlock()
		if !cl.run.do(cl.srv, func() { cl.connect(nsp, auth) }, cl.runMode(runQueue)) {
			cl.closeWith(ReasonSlowClient)
		}
		return
	}
	cl.mu.Lock()
	known := cl.socketLocked(p.Nsp) != nil || cl.connecting[p.Nsp] > 0
	cl.mu.Unlock()
	if !known {
		cl.parseError(errors.New("packet for a namespace not joined"))
		return
	}
	// The socket is looked up when the packet is handled, after a CONNECT received before it.
	nsp := p.Nsp
	switch p.Type {
	case PacketDisconnect:
		cl.run.do(cl.srv, func() {
			if s := cl.socket(nsp); s != nil {
				s.onclose(ReasonClientNamespaceDisconnect)
			}
		}, cl.runMode(runForce))
	case PacketEvent, PacketBinaryEvent:
		name, args, id := p.Event, p.Args, p.ID
		if !cl.run.do(cl.srv, func() {
			if s := cl.socket(nsp); s != nil {
				s.dispatch(name, args, id)
			}
		}, cl.runMode(runQueue)) {
			cl.srv.log.Warn("socketio: closing connection: too many pending events", "sid", cl.conn.ID())
			cl.closeWith(ReasonSlowClient)
		}
	case PacketAck, PacketBinaryAck:
		if s := cl.socket(nsp); s != nil {
			s.onAck(p.ID, p.Args)
		}
	}
}

// connect runs on the runner: namespace lookup, middlewares, CONNECT reply, connection handlers.
func (cl *client) connect(name string, auth json.RawMessage) {
	defer func() {
		cl.mu.Lock()
		if cl.connecting[name]--; cl.connecting[name] <= 0 {
			delete(cl.connecting, name)
			if len(cl.connecting) == 0 {
				cl.connecting = nil // maps do not shrink: an idle client keeps none
			}
		}
		cl.mu.Unlock()
	}()
	if cl.socket(name) != nil {
		return // already connected to this namespace
	}
	if limit := cl.srv.cfg.MaxNamespaces; limit > 0 {
		cl.mu.Lock()
		joined := len(cl.sockets) + len(cl.pendingConnects)
		cl.mu.Unlock()
		if joined >= limit {
			cl.srv.log.Warn("socketio: CONNECT refused: too many namespaces on one connection", "sid", cl.conn.ID(), "nsp", name, "max", limit)
			cl.sendConnectError(name, &ConnectError{Message: "Too many namespaces"}, false)
			return
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Closing the connection cancels the middlewares' context (onClose cancels what is pending).
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		cancel()
		return
	}
	pending := &cancel
	cl.pendingConnects = append(cl.pendingConnects, pending)
	cl.mu.Unlock()
	defer func() {
		cl.mu.Lock()
		if i := slices.Index(cl.pendingConnects, pending); i >= 0 {
			cl.pendingConnects = slices.Delete(cl.pendingConnects, i, i+1)
		}
		if len(cl.pendingConnects) == 0 {
			cl.pendingConnects = nil
		}
		cl.mu.Unlock()
	}()
	ns := cl.srv.namespace(ctx, name, auth)
	if ns == nil {
		cancel()
		cl.sendConnectError(name, &ConnectError{Message: "Invalid namespace"}, false)
		return
	}
	defer ns.joined()
	s := newSocket(ns, cl, auth, ctx, cancel)
	eio3 := cl.eio3()
	if eio3 {
		// The id socket.io-client 2 computes for itself.
		s.id = cl.conn.ID()
		if name != "/" {
			s.id = name + "#" + s.id
		}
	}
	var restored session
	var lastOffset string
	if (ns.recovery != nil || ns.recLink != nil) && !eio3 { // a v4 CONNECT reply has no pid: no recovery
		restored, lastOffset, s.recovered = ns.takeSession(ctx, auth)
		if s.recovered {
			s.id, s.pid = restored.sid, restored.pid
		} else {
			s.pid = randid.New()
		}
	}
	if !s.recovered || cl.srv.cfg.ConnectionStateRecovery.RunMiddlewares {
		for _, mw := range ns.allMiddlewares() {
			if err := mw(ctx, s); err != nil {
				cancel()
				cl.sendConnectError(name, err, eio3)
				return
			}
		}
	}
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		cancel()
		return
	}
	cl.sockets = append(cl.sockets, s)
	if cl.attachTimer != nil {
		cl.attachTimer.Stop()
		cl.attachTimer = nil
	}
	if cl.connectTimer != nil {
		cl.connectTimer.Stop()
		cl.connectTimer = nil
	}
	cl.mu.Unlock()
	if ns.recovery != nil || ns.recLink != nil {
		// No broadcast between the socket joining its rooms and the replay of what it missed.
		ns.deliverMu.Lock()
	}
	ns.add(s)
	s.Join(s.id)
	reply := map[string]string{"sid": s.id}
	if s.pid != "" {
		reply["pid"] = s.pid
	}
	if s.recovered {
		s.Join(restored.rooms...)
		s.SetData(restored.data)
	}
	var connectData any = reply
	if eio3 {
		connectData = nil // Socket.IO v4: the client knows its id already
	}
	if msgs, err := cl.srv.parser.Encode(Packet{Type: PacketConnect, Nsp: name, ID: NoAckID, Data: connectData}); err != nil {
		cl.srv.log.Warn("socketio: the parser cannot encode a CONNECT", "sid", cl.conn.ID(), "err", err)
	} else {
		_ = cl.conn.Send(engineio.Queued, msgs...)
	}
	if s.recovered {
		if missed := ns.replay(ctx, s, lastOffset, restored.rooms); len(missed) > 0 {
			_ = cl.conn.Send(engineio.Queued, missed...)
		}
	}
	if ns.recovery != nil || ns.recLink != nil {
		ns.deliverMu.Unlock()
	}
	for _, h := range ns.connectionHandlers() {
		h(ctx, s)
	}
}

// sendConnectError refuses a CONNECT. With v4 (a middleware's error for a socket.io-client 2 client), the ERROR
// packet carries the error's Data, or else its message as a JSON string, as the reference server sends it.
func (cl *client) sendConnectError(nsp string, err error, v4 bool) {
	ce, ok := err.(*ConnectError)
	if !ok && !errors.As(err, &ce) {
		ce = &ConnectError{Message: err.Error()}
	}
	var data []byte
	var merr error
	if v4 {
		if ce.Data != nil {
			data, merr = json.Marshal(ce.Data)
		}
		if ce.Data == nil || merr != nil {
			data, _ = json.Marshal(ce.Message)
		}
		_ = cl.conn.Send(engineio.Queued, encodePacket(PacketConnectError, nsp, -1, data, nil)...)
		return
	}
	payload := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{ce.Message, ce.Data}
	msgs, err := cl.srv.parser.Encode(Packet{Type: PacketConnectError, Nsp: nsp, ID: NoAckID, Data: payload})
	if err != nil { // Data cannot be encoded: the message alone
		msgs, err = cl.srv.parser.Encode(Packet{Type: PacketConnectError, Nsp: nsp, ID: NoAckID, Data: struct {
			Message string `json:"message"`
		}{ce.Message}})
	}
	if err != nil {
		cl.srv.log.Warn("socketio: the parser cannot encode a CONNECT_ERROR", "sid", cl.conn.ID(), "err", err)
		return
	}
	_ = cl.conn.Send(engineio.Queued, msgs...)
}

func (cl *client) remove(s *Socket) {
	cl.mu.Lock()
	if i := slices.Index(cl.sockets, s); i >= 0 {
		cl.sockets = slices.Delete(cl.sockets, i, i+1)
	}
	cl.mu.Unlock()
}

// disconnectAll sends DISCONNECT to every socket, then closes the connection gracefully.
func (cl *client) disconnectAll() {
	cl.mu.Lock()
	socks := slices.Clone(cl.sockets)
	cl.mu.Unlock()
	for _, s := range socks {
		s.Disconnect(false)
	}
	cl.closeWith(ReasonServerNamespaceDisconnect)
}

// onClose runs when the Engine.IO connection is closed.
func (cl *client) onClose(reason DisconnectReason) {
	cl.mu.Lock()
	cl.closed = true
	if cl.closeReason != "" {
		reason = cl.closeReason
	}
	socks := slices.Clone(cl.sockets)
	for _, cancel := range cl.pendingConnects {
		(*cancel)()
	}
	if cl.attachTimer != nil {
		cl.attachTimer.Stop()
		cl.attachTimer = nil
	}
	if cl.connectTimer != nil {
		cl.connectTimer.Stop()
		cl.connectTimer = nil
	}
	cl.mu.Unlock()
	// Handlers blocked on the socket (an acknowledgement, say) are released at once; the disconnection itself
	// runs after the packets received before the close, as a DISCONNECT packet among them sets the reason.
	for _, s := range socks {
		s.cancel()
	}
	cl.run.do(cl.srv, func() {
		for _, s := range socks {
			s.onclose(reason)
		}
	}, runForce)
}

// runner runs functions one after the other on a goroutine that exists only while there is work: one of its
// own, or, for the packets of a WebSocket read by the engine's poller, the reader's goroutine once the read is
// over (engineio.BurstHandler), whose stack has grown already.
type runner struct {
	mu       sync.Mutex
	q        fifo.Queue[func()]
	running  bool
	deferred bool // running, with the loop left to burstEnd rather than to a goroutine
}

// runMode says how runner.do queues a function.
type runMode uint8

const (
	// runQueue queues the function unless Config.MaxPendingEvents functions are waiting.
	runQueue runMode = 0
	// runForce queues it whatever is waiting.
	runForce runMode = 1 << iota
	// runAtBurstEnd leaves starting the runner, if it is not running, to burstEnd (the caller is handling a
	// packet of a burst, engineio.Conn.InBurst).
	runAtBurstEnd
)

// do queues f; it returns false, queuing nothing, when srv's MaxPendingEvents functions are waiting and m has
// no runForce. srv's WaitGroup counts the runner's loop.
func (r *runner) do(srv *Server, f func(), m runMode) bool {
	r.mu.Lock()
	if m&runForce == 0 && r.q.Len() >= srv.cfg.MaxPendingEvents {
		r.mu.Unlock()
		return false
	}
	r.q.Push(f)
	if r.running {
		start := r.deferred && r.q.Len() >= deferLimit(srv)
		if start {
			r.deferred = false
		}
		r.mu.Unlock()
		if start {
			go r.loop(srv)
		}
		return true
	}
	r.running = true
	srv.wg.Add(1)
	if m&runAtBurstEnd != 0 && deferLimit(srv) > 1 {
		r.deferred = true
		r.mu.Unlock()
		return true
	}
	r.mu.Unlock()
	go r.loop(srv)
	return true
}

// maxKeptQueue is the largest queue array a runner keeps while idle (64 bytes).
const maxKeptQueue = 8

// maxDeferred is the most functions a runner leaves for the end of a burst: a long burst (a client's pipelined
// events, read while more keeps coming) starts the loop on a goroutine instead, so that the handlers drain the
// queue while the reader reads, and Config.MaxPendingEvents means what it did.
const maxDeferred = 32

// deferLimit is maxDeferred, or half of Config.MaxPendingEvents when that is smaller, so that a deferred queue
// starts draining well before do refuses functions.
func deferLimit(srv *Server) int { return min(maxDeferred, srv.cfg.MaxPendingEvents/2) }

// burstEnd runs the loop on the calling goroutine if do left it to the end of the burst.
func (r *runner) burstEnd(srv *Server) {
	r.mu.Lock()
	if !r.deferred {
		r.mu.Unlock()
		return
	}
	r.deferred = false
	r.mu.Unlock()
	r.loop(srv)
}

func (r *runner) loop(srv *Server) {
	defer srv.wg.Done()
	for {
		r.mu.Lock()
		if r.q.Len() == 0 {
			r.running = false
			// The queue's array is kept for the next events (one allocation less per event), unless a burst
			// made it large.
			r.q.Trim(maxKeptQueue)
			r.mu.Unlock()
			return
		}
		f := r.q.Pop()
		r.mu.Unlock()
		r.call(srv, f)
	}
}

// call runs f, turning a panic of an application handler into a logged error.
func (r *runner) call(srv *Server, f func()) {
	defer func() {
		if v := recover(); v != nil {
			srv.log.Error("socketio: handler panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	f()
}
