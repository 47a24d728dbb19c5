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
	"github.com/sioredis/sioredis/internal/randid"
)

// client is one Engine.IO connection and the sockets it has opened in namespaces. Its packets are read by the
// engine's reading goroutine (onMessage, serialised by engineio) and handled in order by its runner.
type client struct {
	srv  *Server
	conn *engineio.Conn
	run  runner

	pending      *packet // a binary packet waiting for attachments (reader goroutine only)
	pendingBytes int     // the bytes of its attachments received so far (reader goroutine only)

	mu           sync.Mutex
	sockets      []*Socket      // one per namespace joined (a slice: clients join few namespaces)
	connecting   map[string]int // CONNECT packets queued or running, by namespace; nil when none
	connectTimer *time.Timer    // nil once a namespace is joined
	// pendingConnects are the cancel functions of the CONNECTs running, canceled when the connection closes.
	pendingConnects []*context.CancelFunc
	closeReason     DisconnectReason // set before closing the conn for a protocol error
	closed          bool
	attachTimer     *time.Timer // closes the connection if the pending packet's attachments are late
}

func newClient(s *Server, c *engineio.Conn) *client {
	cl := &client{srv: s, conn: c}
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

// refuseAttachments closes the connection of a client whose binary packet breaks a limit; the pending
// attachments are dropped at once.
func (cl *client) refuseAttachments(why string, args ...any) {
	cl.pending, cl.pendingBytes = nil, 0
	cl.setAttachTimer(false)
	cl.srv.log.Warn("socketio: closing connection: "+why, append([]any{"sid", cl.conn.ID()}, args...)...)
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
	if msg.Binary {
		p := cl.pending
		if p == nil {
			cl.parseError(errors.New("unexpected binary message"))
			return
		}
		cl.pendingBytes += len(msg.Data)
		if cl.pendingBytes > cl.srv.cfg.MaxAttachmentBytes {
			cl.refuseAttachments("attachments over the byte limit", "limit", cl.srv.cfg.MaxAttachmentBytes)
			return
		}
		p.bufs = append(p.bufs, msg.Data)
		if len(p.bufs) == p.attachments {
			cl.pending, cl.pendingBytes = nil, 0
			cl.setAttachTimer(false)
			cl.handle(*p)
		}
		return
	}
	if cl.pending != nil {
		cl.parseError(errors.New("text message while waiting for binary attachments"))
		return
	}
	p, err := decodePacket(msg.Data, cl.srv.cfg.MaxAttachments)
	if err != nil {
		cl.parseError(err)
		return
	}
	if p.attachments > 0 {
		p.bufs = make([][]byte, 0, p.attachments)
		cl.pending = &p
		cl.setAttachTimer(true)
		return
	}
	cl.handle(p)
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

func (cl *client) handle(p packet) {
	if p.typ == PacketConnect {
		auth := json.RawMessage(p.data)
		cl.mu.Lock()
		if cl.connecting == nil {
			cl.connecting = make(map[string]int)
		}
		cl.connecting[p.nsp]++
		cl.mu.Unlock()
		if !cl.run.do(cl.srv, func() { cl.connect(p.nsp, auth) }, false) {
			cl.closeWith(ReasonSlowClient)
		}
		return
	}
	cl.mu.Lock()
	known := cl.socketLocked(p.nsp) != nil || cl.connecting[p.nsp] > 0
	cl.mu.Unlock()
	if !known {
		cl.parseError(errors.New("packet for a namespace not joined"))
		return
	}
	// The socket is looked up when the packet is handled, after a CONNECT received before it.
	nsp := p.nsp
	switch p.typ {
	case PacketDisconnect:
		cl.run.do(cl.srv, func() {
			if s := cl.socket(nsp); s != nil {
				s.onclose(ReasonClientNamespaceDisconnect)
			}
		}, true)
	case PacketEvent, PacketBinaryEvent:
		name, args, err := p.eventArgs()
		if err != nil {
			cl.parseError(err)
			return
		}
		id := p.id
		if !cl.run.do(cl.srv, func() {
			if s := cl.socket(nsp); s != nil {
				s.dispatch(name, args, id)
			}
		}, false) {
			cl.srv.log.Warn("socketio: closing connection: too many pending events", "sid", cl.conn.ID())
			cl.closeWith(ReasonSlowClient)
		}
	case PacketAck, PacketBinaryAck:
		args, err := p.ackArgs()
		if err != nil {
			cl.parseError(err)
			return
		}
		if s := cl.socket(nsp); s != nil {
			s.onAck(p.id, args)
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
		cl.sendConnectError(name, &ConnectError{Message: "Invalid namespace"})
		return
	}
	defer ns.joined()
	s := newSocket(ns, cl, auth, ctx, cancel)
	var restored session
	var lastOffset string
	if ns.recovery != nil || ns.recLink != nil {
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
				cl.sendConnectError(name, err)
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
	data, _ := json.Marshal(reply)
	_ = cl.conn.Send(false, encodePacket(PacketConnect, name, -1, data, nil)...)
	if s.recovered {
		if missed := ns.replay(ctx, s, lastOffset, restored.rooms); len(missed) > 0 {
			_ = cl.conn.Send(false, missed...)
		}
	}
	if ns.recovery != nil || ns.recLink != nil {
		ns.deliverMu.Unlock()
	}
	for _, h := range ns.connectionHandlers() {
		h(ctx, s)
	}
}

func (cl *client) sendConnectError(nsp string, err error) {
	ce, ok := err.(*ConnectError)
	if !ok && !errors.As(err, &ce) {
		ce = &ConnectError{Message: err.Error()}
	}
	payload := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{ce.Message, ce.Data}
	data, merr := json.Marshal(payload)
	if merr != nil {
		data, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{ce.Message})
	}
	_ = cl.conn.Send(false, encodePacket(PacketConnectError, nsp, -1, data, nil)...)
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
	}, true)
}

// runner runs functions one after the other on a goroutine that exists only while there is work.
type runner struct {
	mu      sync.Mutex
	q       []func()
	running bool
}

// do queues f; it returns false, queuing nothing, when srv's MaxPendingEvents functions are waiting and force
// is false. srv's WaitGroup counts the runner's goroutine.
func (r *runner) do(srv *Server, f func(), force bool) bool {
	r.mu.Lock()
	if !force && len(r.q) >= srv.cfg.MaxPendingEvents {
		r.mu.Unlock()
		return false
	}
	r.q = append(r.q, f)
	if r.running {
		r.mu.Unlock()
		return true
	}
	r.running = true
	srv.wg.Add(1)
	r.mu.Unlock()
	go r.loop(srv)
	return true
}

func (r *runner) loop(srv *Server) {
	defer srv.wg.Done()
	for {
		r.mu.Lock()
		if len(r.q) == 0 {
			r.running = false
			r.q = nil
			r.mu.Unlock()
			return
		}
		f := r.q[0]
		r.q[0] = nil
		r.q = r.q[1:]
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
