package engineio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/sioredis/sioredis/engineio/internal/netpoll"
	"github.com/sioredis/sioredis/internal/wsproto"
)

// Conn is one Engine.IO session. It is safe for concurrent use: Send and Close may be called from any goroutine.
//
// Each connection has one writer at a time: the goroutine of the pending long-polling GET request, or, on
// WebSocket, a goroutine that exists only while there is something to send. Send only appends to a bounded queue
// that this writer drains, and never blocks on the network.
//
// Lock order: a lock may be held while taking one to its right, never the reverse:
//
//	wsConn.readMu → Conn.recvMu → Conn.mu → heartbeat.mu
//
// (the reader decodes frames under readMu and hands each packet to the Handler under recvMu; a Handler's Send
// takes mu; closing under mu cancels the heartbeat entry). wsConn.wmu, flushPool.mu, Server.mu and
// clientClosed.mu are taken with no other lock of this package held, and Handler calls never run under mu.
type Conn struct {
	srv *Server
	id  string
	req reqInfo

	mu         sync.Mutex
	transport  string
	state      connState
	reason     CloseReason
	queue      []queued
	getActive  bool // a long-polling GET is waiting or writing
	postActive bool
	upgrading  bool    // a WebSocket is probing this long-polling session
	probed     bool    // ... and has sent its probe: pending GETs get a noop
	eio3       bool    // Engine.IO protocol v3 (Config.AllowEIO3); set at creation, read without mu
	b64        bool    // v3 long-polling: binary in base64 text payloads ("b64" query parameter); set at creation
	ws         *wsConn // the WebSocket transport
	probe      *wsConn // a WebSocket probing an upgrade
	writing    bool    // the WebSocket writer goroutine is running
	hbDue      int64   // the heartbeat wheel's due tick for this connection (0: none), under the wheel's lock
	hbPong     bool    // ... a pong deadline rather than a ping
	closeTimer *time.Timer

	wake     chan struct{} // capacity 1: something to write, or a state change (nil for WebSocket-only connections)
	done     chan struct{} // closed when the connection is closed; made by Done on first use
	finished bool          // finish has run (under mu)

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
	frame      []byte // the WebSocket frame of p, when encoded once for many connections (PrepareMessages)
	volatile   bool
	groupStart bool
}

// ID returns the session id.
func (c *Conn) ID() string { return c.id }

// Request returns the handshake request, without body, rebuilt on each call from what the connection keeps of it:
// method, URL, protocol, host, remote address, TLS state and headers (but those of the WebSocket handshake
// itself: Connection, Upgrade, Sec-WebSocket-*). Its context is the connection's.
func (c *Conn) Request() *http.Request {
	f := c.req.fields
	u, err := url.ParseRequestURI(f[1])
	if err != nil {
		u = &url.URL{Path: "/"}
	}
	hdr := f[reqHeaderStart:]
	h := make(http.Header, len(hdr)/2)
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = append(h[hdr[i]], hdr[i+1])
	}
	r := &http.Request{
		Method:     f[0],
		URL:        u,
		Proto:      f[2],
		Header:     h,
		Body:       http.NoBody,
		Host:       f[3],
		RemoteAddr: f[4],
		RequestURI: f[1],
		TLS:        c.req.tls,
	}
	r.ProtoMajor, r.ProtoMinor, _ = http.ParseHTTPVersion(f[2])
	return r.WithContext(c.Context())
}

// Protocol returns the Engine.IO protocol revision of the connection: 4, or 3 for a client accepted with
// Config.AllowEIO3.
func (c *Conn) Protocol() int {
	if c.eio3 {
		return 3
	}
	return 4
}

// Transport returns the current transport name, TransportPolling or TransportWebSocket.
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Done returns a channel closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.doneLocked()
}

// doneLocked returns the done channel, made on first use (an idle connection nobody waits on keeps none).
func (c *Conn) doneLocked() chan struct{} {
	if c.done == nil {
		c.done = make(chan struct{})
		if c.finished {
			close(c.done)
		}
	}
	return c.done
}

// Delivery says what Send does with messages the client is not ready to receive at once.
type Delivery uint8

const (
	// Queued messages wait in the connection's queue until they are written (the default).
	Queued Delivery = iota
	// Volatile messages are dropped instead (Socket.IO's volatile flag); see Send.
	Volatile
)

// Send queues messages, sent in order and without anything between them (a Socket.IO packet and its binary
// attachments, for example). A Volatile group is dropped, with ErrDropped, when the client is not ready to receive
// it: packets queued before it are still unsent, or a long-polling client has no request waiting. When the queue
// would exceed Config.MaxQueuedMessages, queued volatile messages are dropped; if still too full, the connection
// is closed with ReasonSlowClient and Send returns ErrClosed. Send never blocks on the network.
func (c *Conn) Send(d Delivery, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	volatile := d == Volatile
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	if volatile && (len(c.queue) > 0 || c.upgrading || (c.transport == TransportPolling && !c.getActive)) {
		c.mu.Unlock()
		if m := c.srv.cfg.Metrics; m != nil {
			m.VolatileDropped(len(msgs))
		}
		return ErrDropped
	}
	if c.fullLocked(len(msgs)) {
		c.closeSlowLocked()
		return ErrClosed
	}
	size := 0
	for i, m := range msgs {
		frame := m.frame
		if c.eio3 && m.Binary {
			frame = nil // v3 frames binary messages otherwise (appendFrameV3)
		}
		c.queue = append(c.queue, queued{p: Packet{Type: PacketMessage, Data: m.Data, Binary: m.Binary}, frame: frame,
			volatile: volatile, groupStart: i == 0})
		size += len(m.Data)
	}
	if m := c.srv.cfg.Metrics; m != nil {
		m.MessagesSent(len(msgs), size)
	}
	// A broadcast (prepared frames) is left to the flushers, which write each connection's packets together;
	// anything else is written at once if nobody is writing.
	c.wakeLocked(msgs[0].frame == nil)
	return nil
}

// fullLocked reports whether the queue has no room for n more packets under Config.MaxQueuedMessages, once
// the volatile ones queued are dropped if that is needed.
func (c *Conn) fullLocked(n int) bool {
	limit := c.srv.cfg.MaxQueuedMessages
	if len(c.queue)+n <= limit {
		return false
	}
	c.dropVolatileLocked()
	return len(c.queue)+n > limit
}

// closeSlowLocked closes a client that does not read what it is sent, and unlocks mu.
func (c *Conn) closeSlowLocked() {
	queued := len(c.queue)
	c.mu.Unlock()
	c.srv.cfg.Logger.Warn("engineio: closing slow client", "sid", c.id, "queued", queued)
	c.close(ReasonSlowClient, false)
}

func (c *Conn) dropVolatileLocked() {
	kept := c.queue[:0]
	for _, q := range c.queue {
		if !q.volatile {
			kept = append(kept, q)
		}
	}
	if m := c.srv.cfg.Metrics; m != nil && len(kept) < len(c.queue) {
		m.VolatileDropped(len(c.queue) - len(kept))
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
	c.wakeLocked(true)
}

// sendPong queues the pong answering a v3 client's ping. It counts against Config.MaxQueuedMessages like any
// packet: a client that sends pings faster than it reads the pongs is a slow client.
func (c *Conn) sendPong() {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	if c.fullLocked(1) {
		c.closeSlowLocked()
		return
	}
	c.queue = append(c.queue, queued{p: Packet{Type: PacketPong}, groupStart: true})
	c.wakeLocked(true)
}

// sendFrame queues a ready WebSocket frame (a pong) for the writer. It counts against Config.MaxQueuedMessages
// like any packet: a client that sends pings faster than it reads the pongs is a slow client.
func (c *Conn) sendFrame(frame []byte) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	if c.fullLocked(1) {
		c.closeSlowLocked()
		return
	}
	c.queue = append(c.queue, queued{frame: frame, groupStart: true})
	c.wakeLocked(true)
}

// wakeLocked tells the writer there is something to do, starting the WebSocket writer if needed, and unlocks mu.
// With inline, a WebSocket nobody is writing to is written at once by the calling goroutine (without blocking:
// what the socket does not take goes to a writer goroutine); otherwise the flushers do it.
func (c *Conn) wakeLocked(inline bool) {
	ws := c.ws
	start := ws != nil && !c.writing && c.state != stateClosed
	if start {
		c.writing = true
		c.srv.wg.Add(1)
	}
	c.mu.Unlock()
	switch {
	case start && ws.rc != nil && inline:
		// Nobody is writing: write now, without blocking, in the caller's goroutine.
		b := batchPool.Get().(*frameBatch)
		c.flushReady(ws, b)
		batchPool.Put(b)
	case start && ws.rc != nil:
		c.srv.flushers.push(c)
	case start:
		go c.writeWS(ws, nil)
	default:
		c.signal()
	}
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
		c.wakeLocked(false)
		return
	}
	c.state, c.reason = stateClosed, reason
	ws, probe := c.ws, c.probe
	c.mu.Unlock()
	c.finish(reason, ws, probe)
}

// finish releases everything once the state is closed.
func (c *Conn) finish(reason CloseReason, ws, probe *wsConn) {
	c.finishOnce.Do(func() {
		c.mu.Lock()
		if c.closeTimer != nil {
			c.closeTimer.Stop()
		}
		c.srv.hb.cancel(c)
		c.finished = true
		if c.done != nil {
			close(c.done)
		}
		transport := c.transport
		c.mu.Unlock()
		c.srv.remove(c)
		if m := c.srv.cfg.Metrics; m != nil {
			m.ConnClosed(transport, reason)
		}
		if ws != nil {
			ws.release()
		}
		if probe != nil {
			probe.closeNow()
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
		if m := c.srv.cfg.Metrics; m != nil {
			m.MessageReceived(len(p.Data))
		}
		c.recvMu.Lock()
		if !c.notified {
			c.srv.handler.OnMessage(c, Message{Data: p.Data, Binary: p.Binary})
		}
		c.recvMu.Unlock()
	case PacketPing:
		if c.eio3 {
			// v3: the client pings, the server answers, and waits for the next ping.
			c.srv.hb.schedule(c, c.srv.cfg.PingInterval+c.srv.cfg.PingTimeout, true, &c.srv.wg)
			c.sendPong()
		}
		// v4: a ping from the client is ignored.
	case PacketPong:
		if c.eio3 {
			c.close(ReasonTransportError, false) // the wrong direction in v3, as the reference server sees it
			return
		}
		c.onPong()
	case PacketClose:
		c.mu.Lock()
		polling := c.transport == TransportPolling && c.state == stateOpen
		c.mu.Unlock()
		if polling {
			c.srv.byClient.add(c.id) // before the close: the pending GET, if any, takes it back
		}
		c.close(ReasonTransportClose, false)
	case PacketNoop, PacketUpgrade:
		// Upgrade chatter on the wrong transport: nothing to do.
	default:
		c.close(ReasonTransportError, false)
	}
}

func (c *Conn) startHeartbeat() {
	if c.eio3 {
		// v3: the client pings; it is closed if no ping comes within PingInterval + PingTimeout.
		c.srv.hb.schedule(c, c.srv.cfg.PingInterval+c.srv.cfg.PingTimeout, true, &c.srv.wg)
		return
	}
	c.srv.hb.schedulePing(c, c.srv.cfg.PingInterval, &c.srv.wg)
}

// ping sends a ping and waits for its pong (called by the heartbeat wheel).
func (c *Conn) ping() {
	c.mu.Lock()
	open := c.state == stateOpen
	c.mu.Unlock()
	if !open {
		return
	}
	c.srv.hb.schedule(c, c.srv.cfg.PingTimeout, true, &c.srv.wg)
	c.sendControl(PacketPing, nil)
}

func (c *Conn) onPong() {
	h := c.srv.hb
	h.mu.Lock()
	waiting := c.hbPong && c.hbDue != 0
	h.mu.Unlock()
	if waiting {
		h.schedulePing(c, c.srv.cfg.PingInterval, &c.srv.wg)
	}
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
		previous := c.transport
		c.mu.Unlock()
		c.srv.refuse(w, r, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest},
			map[string]any{"name": "TRANSPORT_MISMATCH", "transport": TransportPolling, "previousTransport": previous})
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
		c.srv.pollClosed(w, c.id, false, c.eio3)
		return
	}
	c.getActive = true
	done := c.doneLocked()
	if c.probed && len(c.queue) == 0 {
		// A WebSocket has probed the upgrade: the client pauses polling, so this GET was sent before the
		// client's "upgrade" packet, and overtook it. It waits a moment for that packet, as the reference server
		// holds it until its next noop check (100 ms): upgraded meanwhile, it gets what a GET sent after the
		// upgrade gets, 400; otherwise a noop.
		t := time.NewTimer(probeGETWait)
		for waiting := true; waiting && c.probed && len(c.queue) == 0 && c.state == stateOpen; {
			c.mu.Unlock()
			select {
			case <-c.wake:
			case <-done:
			case <-t.C:
				waiting = false
			case <-r.Context().Done():
				waiting = false
			}
			c.mu.Lock()
		}
		t.Stop()
		switch {
		case r.Context().Err() != nil:
			c.getActive = false
			c.mu.Unlock()
			c.close(ReasonTransportError, false) // given up, as below
			return
		case c.transport != TransportPolling:
			c.getActive = false
			c.mu.Unlock()
			writeError(w, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest})
			return
		}
	}
	for len(c.queue) == 0 && c.state == stateOpen && !c.probed {
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-done:
		case <-r.Context().Done():
			// The client gave up the request (or its connection): what it was sent would be lost, so the session
			// ends, as in the reference server.
			c.mu.Lock()
			c.getActive = false
			c.mu.Unlock()
			c.close(ReasonTransportError, false)
			return
		}
		c.mu.Lock()
	}
	batch := c.takeLocked(nil)
	state, reason, probed := c.state, c.reason, c.probed
	c.mu.Unlock()

	packets := make([]Packet, 0, len(batch)+1)
	for _, q := range batch {
		packets = append(packets, q.p)
	}
	// Closing: what was queued goes first, and the close packet in the next response, as the client handles the
	// packets of one response before their effects (a Socket.IO DISCONNECT, say) are seen.
	closeNow := state == stateClosed || (state == stateClosing && len(packets) == 0)
	switch {
	case closeNow && reason == ReasonTransportClose:
		// The client closed the session itself (a close packet in a POST): the GET it left pending just ends.
		c.srv.byClient.take(c.id)
		packets = append(packets, Packet{Type: PacketNoop})
	case closeNow:
		packets = append(packets, Packet{Type: PacketClose})
	case len(packets) == 0 && probed:
		packets = append(packets, Packet{Type: PacketNoop})
	}
	var body []byte
	contentType := "text/plain; charset=UTF-8"
	switch {
	case c.eio3 && !c.b64 && hasBinary(packets):
		body, contentType = appendBinaryPayloadV3(nil, packets), "application/octet-stream"
	case c.eio3:
		body = appendPayloadV3(nil, packets)
	default:
		body = AppendPayload(nil, packets)
	}
	w.Header().Set("Content-Type", contentType)
	c.srv.responseHeaders(w.Header(), r, false)
	_, err := w.Write(body)

	c.mu.Lock()
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
	// Delivered as decoded, as the reference server does: the packets before a bad one are handled, then the
	// session is closed. Nothing is kept per packet (a body of 10^6 separators costs no 10^6 packets).
	if c.eio3 {
		err = eachPacketV3(body, r.Header.Get("Content-Type") == "application/octet-stream", c.deliver)
	} else {
		err = eachPacket(body, c.deliver)
	}
	if err != nil {
		writeError(w, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest})
		c.close(ReasonTransportError, false)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	c.srv.responseHeaders(w.Header(), r, false)
	_, _ = w.Write([]byte("ok"))
}

// ---- WebSocket ----

// serveUpgrade takes a WebSocket connection probing the upgrade of a long-polling session.
func (c *Conn) serveUpgrade(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.state != stateOpen || c.srv.cfg.DisableUpgrades {
		c.mu.Unlock()
		writeError(w, &RequestError{Status: http.StatusBadRequest, Code: CodeBadRequest})
		return
	}
	if c.transport != TransportPolling || c.upgrading {
		// Upgraded already, or being upgraded by another WebSocket: as in the reference server, this one is
		// accepted and closed at once (the client sees a close, not a failed handshake); the session goes on.
		c.mu.Unlock()
		if nc, _, err := wsproto.Accept(w, r); err == nil {
			refuseWebSocket(nc)
		}
		return
	}
	c.upgrading = true
	c.mu.Unlock()
	nc, early, err := wsproto.AcceptWithHeader(w, r, c.srv.wsHeaders(r, false))
	if err != nil {
		c.abortUpgrade(nil)
		return
	}
	ws := c.srv.newWS(c, nc, early, r)
	c.mu.Lock()
	if c.state != stateOpen {
		c.upgrading = false
		c.mu.Unlock()
		_ = nc.Close()
		return
	}
	c.probe = ws
	ws.upgradeEnd = time.AfterFunc(c.srv.cfg.UpgradeTimeout, func() {
		if c.abortUpgrade(ws) {
			ws.closeNow()
		}
	})
	c.mu.Unlock()
	ws.run()
}

// probeGETWait is how long a long-polling GET arriving once a WebSocket has probed the upgrade waits for the
// upgrade to complete (the reference server's noop check interval).
const probeGETWait = 100 * time.Millisecond

// refuseWebSocket closes an accepted WebSocket connection that joins no session: a close frame, then the
// TCP connection once the client has closed its end, or after lingerTimeout. It blocks until then.
func refuseWebSocket(nc net.Conn) {
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(lingerTimeout))
	if _, err := nc.Write(wsproto.AppendClose(nil, wsproto.CloseNormal, "")); err != nil {
		return
	}
	// Read (and drop) what the client sends until it closes: closing with unread data would reset the
	// connection and could destroy the close frame on its way.
	buf := make([]byte, 512)
	for {
		if _, err := nc.Read(buf); err != nil {
			return
		}
	}
}

// completeUpgrade makes ws, which has probed, the connection's transport.
func (c *Conn) completeUpgrade(ws *wsConn) bool {
	c.mu.Lock()
	if c.state == stateClosed || c.probe != ws {
		c.mu.Unlock()
		return false
	}
	ws.upgradeEnd.Stop()
	from := c.transport
	c.transport, c.ws, c.probe, c.upgrading, c.probed = TransportWebSocket, ws, nil, false, false
	if m := c.srv.cfg.Metrics; m != nil {
		m.ConnUpgraded(from, TransportWebSocket)
	}
	c.signal() // a long-polling GET still waiting ends
	c.wakeLocked(false)
	return true
}

// abortUpgrade ends the upgrade by ws (any upgrade if nil) and reports whether it was under way.
func (c *Conn) abortUpgrade(ws *wsConn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ws != nil && c.probe != ws {
		return false
	}
	c.probe, c.upgrading, c.probed = nil, false, false
	return true
}

var batchPool = sync.Pool{New: func() any { return new(frameBatch) }}

// frameBatch turns queued packets into the buffers of one vectored write, reusing its storage.
type frameBatch struct {
	v3, b64 bool // the connection's protocol is v3 (and its WebSocket asked for base64)
	batch   []queued
	scratch []byte // frame headers and small payloads
	ends    []int  // end offset in scratch of each queued packet, or -1 for a prepared frame
	bufs    net.Buffers
	iovs    []syscall.Iovec
}

// take moves what c has queued into b and returns true, or returns false when there is nothing to write: then
// the writer ends (writing is false again), and closing reports that the connection is closing gracefully, so
// that the writer sends the close frame (closeGracefully).
func (b *frameBatch) take(c *Conn) (ok, closing bool) {
	c.mu.Lock()
	if len(c.queue) == 0 || c.state == stateClosed {
		closing = c.state == stateClosing
		c.writing = false
		c.queue = nil // an idle connection keeps no buffer
		c.mu.Unlock()
		return false, closing
	}
	b.batch = c.takeLocked(b.batch)
	b.v3, b.b64 = c.eio3, c.eio3 && c.ws != nil && c.ws.b64
	c.mu.Unlock()
	b.encode()
	return true, false
}

// closeGracefully ends a graceful close once everything queued is written: the close frame, then the close.
func (c *Conn) closeGracefully(ws *wsConn) {
	c.mu.Lock()
	reason := c.reason
	c.mu.Unlock()
	ws.sendClose(wsproto.CloseNormal)
	c.close(reason, false)
}

// encode fills bufs with the frames of batch: headers (and small payloads) go into scratch, large payloads and
// prepared frames are written from where they are.
func (b *frameBatch) encode() {
	b.scratch, b.ends = b.scratch[:0], b.ends[:0]
	for _, q := range b.batch {
		if q.frame != nil {
			b.ends = append(b.ends, -1)
			continue
		}
		if b.v3 && q.p.Binary {
			b.scratch = appendFrameV3(b.scratch, q.p, b.b64, !b.b64 && len(q.p.Data) > inlinePayload)
		} else {
			b.scratch = appendFrame(b.scratch, q.p, len(q.p.Data) > inlinePayload)
		}
		b.ends = append(b.ends, len(b.scratch))
	}
	b.bufs = b.bufs[:0]
	start := 0
	for i, q := range b.batch {
		if b.ends[i] < 0 {
			b.bufs = append(b.bufs, q.frame)
			continue
		}
		b.bufs = append(b.bufs, b.scratch[start:b.ends[i]])
		start = b.ends[i]
		if len(q.p.Data) > inlinePayload && !(b.b64 && q.p.Binary) {
			b.bufs = append(b.bufs, q.p.Data)
		}
	}
}

// reset drops the references to the written data.
func (b *frameBatch) reset() {
	clear(b.bufs[:cap(b.bufs)])
	b.bufs = b.bufs[:0]
}

// flushReady writes, without blocking, what the connection has queued (called by a flusher of the server's
// pool, for a connection whose socket can be written without a goroutine). When the socket's buffer fills up,
// the rest is handed to a goroutine of the connection's own, which waits for the socket (writeWS).
func (c *Conn) flushReady(ws *wsConn, b *frameBatch) {
	for {
		ok, closing := b.take(c)
		if !ok {
			if closing {
				// The close frame may wait for a full socket: not on a flusher.
				go func() {
					defer c.srv.wg.Done()
					c.closeGracefully(ws)
				}()
				return
			}
			break
		}
		total := 0
		for _, x := range b.bufs {
			total += len(x)
		}
		written := 0
		var err error
		all := b.bufs // consume moves b.bufs's start; all is reset after the write
		ws.wmu.Lock()
		for written < total && err == nil {
			var n int
			n, b.iovs, err = netpoll.TryWritev(ws.rc, b.bufs, b.iovs)
			written += n
			consume(&b.bufs, n)
		}
		ws.wmu.Unlock()
		switch {
		case errors.Is(err, netpoll.ErrWouldBlock):
			// A slow reader: its own goroutine waits for the socket, with the rest of this batch.
			rest := append(net.Buffers(nil), b.bufs...)
			b.bufs = all
			b.reset()
			go c.writeWS(ws, rest)
			return
		case err != nil:
			b.bufs = all
			b.reset()
			c.writeFailed()
			c.srv.wg.Done()
			return
		}
		b.bufs = all
		b.reset()
	}
	c.srv.wg.Done() // the writer's count, taken in wakeLocked
}

// consume drops the first n bytes of bufs.
func consume(bufs *net.Buffers, n int) {
	for len(*bufs) > 0 && n > 0 {
		if n < len((*bufs)[0]) {
			(*bufs)[0] = (*bufs)[0][n:]
			return
		}
		n -= len((*bufs)[0])
		*bufs = (*bufs)[1:]
	}
	for len(*bufs) > 0 && len((*bufs)[0]) == 0 {
		*bufs = (*bufs)[1:]
	}
}

// writeWS is the connection's writer goroutine on WebSocket when the socket cannot be written without waiting:
// it first writes rest, then everything queued, and ends when the queue is empty.
func (c *Conn) writeWS(ws *wsConn, rest net.Buffers) {
	defer c.srv.wg.Done() // the writer's count, taken in wakeLocked
	if len(rest) > 0 {
		if err := ws.writeBuffers(&rest); err != nil {
			c.writeFailed()
			return
		}
	}
	var b frameBatch
	for {
		ok, closing := b.take(c)
		if !ok {
			if closing {
				c.closeGracefully(ws)
			}
			return
		}
		all := b.bufs // WriteTo consumes b.bufs
		err := ws.writeBuffers(&b.bufs)
		b.bufs = all
		b.reset()
		if err != nil {
			c.writeFailed()
			return
		}
	}
}

func (c *Conn) writeFailed() {
	c.mu.Lock()
	c.writing = false
	c.mu.Unlock()
	c.close(ReasonTransportError, false)
}

// inlinePayload is the largest payload copied next to its frame header rather than written from where it is.
const inlinePayload = 512

// flushPool is the server's pool of flushers: goroutines that write the queued packets of WebSocket connections
// without blocking, one connection at a time, so that a broadcast wakes no goroutine per connection and a
// connection's packets queued meanwhile go out in one system call. Flushers exist only while there is work.
type flushPool struct {
	mu      sync.Mutex
	q       []*Conn
	head    int
	workers int
	max     int
	wg      *sync.WaitGroup
}

func (p *flushPool) push(c *Conn) {
	p.mu.Lock()
	p.q = append(p.q, c)
	spawn := p.workers < p.max
	if spawn {
		p.workers++
		p.wg.Add(1)
	}
	p.mu.Unlock()
	if spawn {
		go p.work()
	}
}

func (p *flushPool) work() {
	defer p.wg.Done()
	var b frameBatch
	for {
		p.mu.Lock()
		if p.head == len(p.q) {
			p.q, p.head = p.q[:0], 0
			if cap(p.q) > 4096 {
				p.q = nil
			}
			p.workers--
			p.mu.Unlock()
			return
		}
		c := p.q[p.head]
		p.q[p.head] = nil
		p.head++
		p.mu.Unlock()
		c.mu.Lock()
		ws := c.ws
		c.mu.Unlock()
		c.flushReady(ws, &b)
	}
}

// Context returns a context canceled when the connection is closed.
func (c *Conn) Context() context.Context { return connContext{c} }

type connContext struct{ c *Conn }

func (connContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (x connContext) Done() <-chan struct{}     { return x.c.Done() }
func (connContext) Value(any) any               { return nil }
func (x connContext) Err() error {
	select {
	case <-x.c.Done():
		return context.Canceled
	default:
		return nil
	}
}
