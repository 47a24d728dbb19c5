package engineio

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Conn is one Engine.IO session. It is safe for concurrent use: Send and Close may be called from any goroutine.
//
// Each connection has exactly one writer: the goroutine of the pending long-polling GET request, or one goroutine
// per WebSocket connection. Send only appends to a bounded queue that this writer drains.
type Conn struct {
	srv *Server
	id  string
	req *http.Request

	mu         sync.Mutex
	transport  string
	state      connState
	reason     CloseReason
	queue      []queued
	spare      []queued // the other buffer of the writer's double buffering
	getActive  bool     // a long-polling GET is waiting or writing
	postActive bool
	upgrading  bool // a WebSocket is probing this long-polling session
	probed     bool // ... and has sent its probe: pending GETs get a noop
	ws         *websocket.Conn
	pingTimer  *time.Timer
	pongTimer  *time.Timer
	closeTimer *time.Timer
	writerDone chan struct{} // closed when the WebSocket writer exits; nil without one

	wake chan struct{} // capacity 1: something to write, or a state change
	done chan struct{} // closed when the connection is closed

	recvMu   sync.Mutex // serialises Handler calls
	notified bool       // OnClose was called (under recvMu)

	finishOnce sync.Once
	value      any // set by SetValue, under mu
}

// SetValue attaches an application value to the connection (typically in Handler.OnOpen).
func (c *Conn) SetValue(v any) {
	c.mu.Lock()
	c.value = v
	c.mu.Unlock()
}

// Value returns the value set by SetValue, or nil.
func (c *Conn) Value() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}

type connState uint8

const (
	stateOpen connState = iota
	stateClosing
	stateClosed
)

type queued struct {
	p          Packet
	volatile   bool
	groupStart bool
}

// ID returns the session id.
func (c *Conn) ID() string { return c.id }

// Request returns the handshake request (without body). Do not modify it.
func (c *Conn) Request() *http.Request { return c.req }

// Transport returns the current transport name, TransportPolling or TransportWebSocket.
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Done returns a channel closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Send queues messages, sent in order and without anything between them (a Socket.IO packet and its binary
// attachments, for example). A volatile group is dropped, with ErrDropped, when the client is not ready to receive
// it: packets queued before it are still unsent, or a long-polling client has no request waiting. When the queue
// would exceed Config.MaxQueuedMessages, queued volatile messages are dropped; if still too full, the connection
// is closed with ReasonSlowClient and Send returns ErrClosed. Send never blocks on the network.
func (c *Conn) Send(volatile bool, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	if volatile && (len(c.queue) > 0 || c.upgrading || (c.transport == TransportPolling && !c.getActive)) {
		c.mu.Unlock()
		return ErrDropped
	}
	limit := c.srv.cfg.MaxQueuedMessages
	if len(c.queue)+len(msgs) > limit {
		c.dropVolatileLocked()
		if len(c.queue)+len(msgs) > limit {
			c.mu.Unlock()
			c.srv.cfg.Logger.Warn("engineio: closing slow client", "sid", c.id, "queued", len(c.queue))
			c.close(ReasonSlowClient, false)
			return ErrClosed
		}
	}
	for i, m := range msgs {
		c.queue = append(c.queue, queued{p: Packet{Type: PacketMessage, Data: m.Data, Binary: m.Binary}, volatile: volatile, groupStart: i == 0})
	}
	c.mu.Unlock()
	c.signal()
	return nil
}

func (c *Conn) dropVolatileLocked() {
	kept := c.queue[:0]
	for _, q := range c.queue {
		if !q.volatile {
			kept = append(kept, q)
		}
	}
	clear(c.queue[len(kept):])
	c.queue = kept
}

// sendControl queues a control packet (ping, noop).
func (c *Conn) sendControl(t PacketType, data []byte) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, queued{p: Packet{Type: t, Data: data}, groupStart: true})
	c.mu.Unlock()
	c.signal()
}

func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Close closes the connection gracefully: what is queued is sent first (for at most Config.CloseTimeout), then
// the transport is closed. The Handler's OnClose gets ReasonForcedClose.
func (c *Conn) Close() { c.close(ReasonForcedClose, true) }

// close moves the connection to closing (graceful) or closed. The first reason wins.
func (c *Conn) close(reason CloseReason, graceful bool) {
	c.mu.Lock()
	switch c.state {
	case stateClosed:
		c.mu.Unlock()
		return
	case stateClosing:
		if graceful {
			c.mu.Unlock()
			return
		}
		reason = c.reason
	}
	if graceful {
		c.state, c.reason = stateClosing, reason
		c.closeTimer = time.AfterFunc(c.srv.cfg.CloseTimeout, func() { c.close(reason, false) })
		c.mu.Unlock()
		c.signal()
		return
	}
	c.state, c.reason = stateClosed, reason
	ws := c.ws
	c.mu.Unlock()
	c.finish(reason, ws)
}

// finish releases everything once the state is closed.
func (c *Conn) finish(reason CloseReason, ws *websocket.Conn) {
	c.finishOnce.Do(func() {
		c.mu.Lock()
		for _, t := range []*time.Timer{c.pingTimer, c.pongTimer, c.closeTimer} {
			if t != nil {
				t.Stop()
			}
		}
		c.mu.Unlock()
		close(c.done)
		c.srv.remove(c)
		if ws != nil {
			_ = ws.CloseNow()
		}
		go func() {
			defer c.srv.wg.Done() // the connection's count, taken in newConn
			c.recvMu.Lock()
			defer c.recvMu.Unlock()
			c.notified = true
			c.srv.handler.OnClose(c, reason)
		}()
	})
}

// deliver hands a received packet to the protocol logic and the handler.
func (c *Conn) deliver(p Packet) {
	switch p.Type {
	case PacketMessage:
		c.recvMu.Lock()
		if !c.notified {
			c.srv.handler.OnMessage(c, Message{Data: p.Data, Binary: p.Binary})
		}
		c.recvMu.Unlock()
	case PacketPong:
		c.onPong()
	case PacketClose:
		c.close(ReasonTransportClose, false)
	case PacketPing, PacketNoop, PacketUpgrade:
		// A v3 client's ping, or upgrade chatter on the wrong transport: nothing to do.
	default:
		c.close(ReasonTransportError, false)
	}
}

func (c *Conn) startHeartbeat() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateOpen {
		c.pingTimer = time.AfterFunc(c.srv.cfg.PingInterval, c.ping)
	}
}

func (c *Conn) ping() {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.pongTimer = time.AfterFunc(c.srv.cfg.PingTimeout, func() { c.close(ReasonPingTimeout, false) })
	c.mu.Unlock()
	c.sendControl(PacketPing, nil)
}

func (c *Conn) onPong() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateOpen || c.pongTimer == nil || !c.pongTimer.Stop() {
		return
	}
	c.pongTimer = nil
	c.pingTimer.Reset(c.srv.cfg.PingInterval)
}

// takeLocked swaps the queue with buf and returns what was queued.
func (c *Conn) takeLocked(buf []queued) []queued {
	batch := c.queue
	clear(buf)
	c.queue = buf[:0]
	return batch
}

// ---- long-polling ----

func (c *Conn) servePollGet(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.transport != TransportPolling {
		c.mu.Unlock()
		writeError(w, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest})
		return
	}
	if c.getActive {
		// Two GETs at once: refuse this one and close the session (the pending one gets a close packet).
		c.mu.Unlock()
		writeError(w, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest})
		c.close(ReasonTransportError, false)
		return
	}
	if c.state == stateClosed {
		c.mu.Unlock()
		writeError(w, &RequestError{Status: http.StatusBadRequest, Code: CodeUnknownSID})
		return
	}
	c.getActive = true
	for len(c.queue) == 0 && c.state == stateOpen && !c.probed {
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-c.done:
		case <-r.Context().Done():
			c.mu.Lock()
			c.getActive = false
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
	}
	batch := c.takeLocked(c.spare)
	state, reason, probed := c.state, c.reason, c.probed
	c.mu.Unlock()

	packets := make([]Packet, 0, len(batch)+1)
	for _, q := range batch {
		packets = append(packets, q.p)
	}
	// Closing: what was queued goes first, and the close packet in the next response, as the client handles the
	// packets of one response before their effects (a Socket.IO DISCONNECT, say) are seen.
	closeNow := state == stateClosed || (state == stateClosing && len(packets) == 0)
	if closeNow {
		packets = append(packets, Packet{Type: PacketClose})
	} else if len(packets) == 0 && probed {
		packets = append(packets, Packet{Type: PacketNoop})
	}
	body := AppendPayload(nil, packets)
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	_, err := w.Write(body)

	c.mu.Lock()
	c.spare = batch
	c.getActive = false
	c.mu.Unlock()
	switch {
	case state == stateClosing && closeNow:
		c.close(reason, false)
	case err != nil:
		c.close(ReasonTransportError, false)
	}
}

func (c *Conn) servePollPost(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.postActive || c.state == stateClosed {
		c.mu.Unlock()
		writeError(w, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest})
		c.close(ReasonTransportError, false)
		return
	}
	c.postActive = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.postActive = false
		c.mu.Unlock()
	}()
	body, tooLarge, err := readBody(r, c.srv.cfg.MaxHTTPBufferSize)
	switch {
	case tooLarge:
		writeError(w, &RequestError{Status: http.StatusRequestEntityTooLarge, Code: CodeBadRequest, Message: "Payload too large"})
		c.close(ReasonTransportError, false)
		return
	case err != nil:
		c.close(ReasonTransportError, false)
		return
	}
	packets, err := DecodePayload(body)
	if err != nil {
		writeError(w, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest})
		c.close(ReasonTransportError, false)
		return
	}
	for _, p := range packets {
		c.deliver(p)
	}
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("ok"))
}

// ---- WebSocket ----

// serveUpgrade upgrades a long-polling session to WebSocket.
func (c *Conn) serveUpgrade(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.transport != TransportPolling || c.upgrading || c.state != stateOpen || c.srv.cfg.DisableUpgrades {
		c.mu.Unlock()
		writeError(w, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest})
		return
	}
	c.upgrading = true
	c.mu.Unlock()
	ws, err := websocket.Accept(w, r, c.srv.acceptOptions())
	if err != nil {
		c.abortUpgrade()
		return
	}
	ws.SetReadLimit(c.srv.cfg.MaxHTTPBufferSize)
	if !c.probe(ws) {
		c.abortUpgrade()
		_ = ws.CloseNow()
		return
	}
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		_ = ws.CloseNow()
		return
	}
	c.transport, c.ws, c.upgrading, c.probed = TransportWebSocket, ws, false, false
	c.mu.Unlock()
	c.startWriter()
	c.readWebSocket(ws)
}

// probe answers "2probe" with "3probe" and waits for the "5" upgrade packet.
func (c *Conn) probe(ws *websocket.Conn) bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.srv.cfg.UpgradeTimeout)
	defer cancel()
	typ, data, err := ws.Read(ctx)
	if err != nil || typ != websocket.MessageText || string(data) != "2probe" {
		return false
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte("3probe")); err != nil {
		return false
	}
	c.mu.Lock()
	c.probed = true
	c.mu.Unlock()
	c.signal() // a pending GET answers with noop, so that the client can finish pausing polling
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil || typ != websocket.MessageText || len(data) == 0 {
			return false
		}
		switch PacketType(data[0] - '0') {
		case PacketUpgrade:
			return true
		case PacketNoop:
		default:
			return false
		}
	}
}

func (c *Conn) abortUpgrade() {
	c.mu.Lock()
	c.upgrading, c.probed = false, false
	c.mu.Unlock()
}

func (c *Conn) startWriter() {
	c.mu.Lock()
	ws := c.ws
	c.writerDone = make(chan struct{})
	done := c.writerDone
	c.mu.Unlock()
	c.srv.wg.Add(1)
	go func() {
		defer c.srv.wg.Done()
		defer close(done)
		c.writeWebSocket(ws)
	}()
	c.signal()
}

// writeWebSocket is the connection's writer once on WebSocket.
func (c *Conn) writeWebSocket(ws *websocket.Conn) {
	ctx := context.Background() // a blocked write is undone by CloseNow (slow client, ping timeout, shutdown)
	var buf []byte
	var batch []queued
	for {
		c.mu.Lock()
		batch = c.takeLocked(batch)
		state, reason := c.state, c.reason
		c.mu.Unlock()
		for _, q := range batch {
			var err error
			if q.p.Binary {
				err = ws.Write(ctx, websocket.MessageBinary, q.p.Data)
			} else {
				buf = AppendPacket(buf[:0], q.p)
				err = ws.Write(ctx, websocket.MessageText, buf)
			}
			if err != nil {
				c.close(ReasonTransportError, false)
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		switch state {
		case stateClosing:
			_ = ws.Close(websocket.StatusNormalClosure, "")
			c.close(reason, false)
			return
		case stateClosed:
			return
		}
		select {
		case <-c.wake:
		case <-c.done:
		}
	}
}

// readWebSocket reads packets until the connection ends, then waits for the writer.
func (c *Conn) readWebSocket(ws *websocket.Conn) {
	for {
		typ, data, err := ws.Read(context.Background())
		if err != nil {
			reason := ReasonTransportError
			if websocket.CloseStatus(err) != -1 || errors.Is(err, context.Canceled) {
				reason = ReasonTransportClose
			}
			c.close(reason, false)
			break
		}
		p, err := ParsePacket(data, typ == websocket.MessageBinary)
		if err != nil {
			c.close(ReasonTransportError, false)
			break
		}
		c.deliver(p)
	}
	c.mu.Lock()
	done := c.writerDone
	c.mu.Unlock()
	if done != nil {
		<-done
	}
}

// Context returns a context canceled when the connection is closed.
func (c *Conn) Context() context.Context { return connContext{c} }

type connContext struct{ c *Conn }

func (connContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (x connContext) Done() <-chan struct{}     { return x.c.done }
func (connContext) Value(any) any               { return nil }
func (x connContext) Err() error {
	select {
	case <-x.c.done:
		return context.Canceled
	default:
		return nil
	}
}
