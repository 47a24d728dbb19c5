package engineio

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioredis/sioredis/internal/eiopacket"
)

// This file holds the Conn: its state, its queue (Send), its close and the dispatch of what it receives. Its
// transports are in polling.go (long-polling), upgrade.go (from long-polling to WebSocket), websocket.go (a
// WebSocket connection, its reading and its close) and websocket_write.go (its writing); the server's flushers
// are in flusher.go.

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
// (the reader decodes frames under readMu and hands each message to the Handler under recvMu; a Handler's Send
// takes mu; finish cancels the heartbeat entry under mu). wsConn.wmu, flushPool.mu, Server.mu and
// clientClosed.mu, like heartbeat.mu and the locks of internal/netpoll and internal/workpool, are leaves: any of
// the locks above may be held when one of them is taken (a Send from OnMessage may write to the socket at once,
// under readMu and recvMu), and no other lock is taken while one of them is held. Handler calls never run under
// mu; Metrics calls may.
type Conn struct {
	// Set at creation, read without a lock.
	// (Fields are ordered so that the small ones share words: the Conn fits a 224-byte allocation.)
	srv  *Server
	id   string
	req  reqInfo
	wake chan struct{} // capacity 1: something to write, or a state change (nil for WebSocket-only connections)
	eio3 bool          // Engine.IO protocol v3 (Config.AllowEIO3)
	b64  bool          // v3 long-polling: binary in base64 text payloads ("b64" query parameter)

	// pinged is set when a ping goes out and cleared by the first packet received after it, a pong or not:
	// the first other packet gives the wait for the pong one more PingTimeout (see deliverFrom).
	pinged atomic.Bool

	// Guarded by mu.
	mu         sync.Mutex
	state      connState
	getActive  bool // a long-polling GET is waiting or writing
	postActive bool
	upgrading  bool // a WebSocket is probing this long-polling session
	probed     bool // ... and has sent its probe: pending GETs get a noop
	writing    bool // the WebSocket writer goroutine is running
	finished   bool // finish has run
	transport  string
	reason     CloseReason
	queue      []queued
	ws         *wsConn // the WebSocket transport
	probe      *wsConn // a WebSocket probing an upgrade
	closeTimer *time.Timer
	done       chan struct{} // closed when the connection is closed; made by Done on first use
	value      any           // set by SetValue

	// Guarded by the heartbeat wheel's lock (heartbeat.mu).
	hbDue  int64 // the due time of its event, in nanoseconds since the wheel's base (0: none)
	hbPong bool  // ... a pong deadline rather than a ping

	// Guarded by recvMu, which also serialises Handler calls.
	recvMu   sync.Mutex
	notified bool // OnClose was called
	inBurst  bool // the message being handed over is read by the poller's reader: OnBurstEnd follows (InBurst)

	finishOnce sync.Once
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

// InBurst reports, when called from Handler.OnMessage, whether the message is one of a burst read by the server's
// poller, after which the Handler's OnBurstEnd is called for c (see BurstHandler). It is false on long-polling,
// over TLS and outside OnMessage.
func (c *Conn) InBurst() bool { return c.inBurst }

type connState uint8

const (
	stateOpen connState = iota
	stateClosing
	stateClosed
)

type queued struct {
	p          eiopacket.Packet
	frame      []byte // the WebSocket frame of p, when encoded once for many connections (PrepareMessages)
	volatile   bool
	groupStart bool
}

// ID returns the session id.
func (c *Conn) ID() string { return c.id }

// Request returns the handshake request, without body, rebuilt on each call from what the connection keeps of it:
// method, URL, protocol, host, remote address, TLS state and headers (but those of the WebSocket handshake
// itself: Connection, Upgrade, Sec-WebSocket-*), less than Config.MaxHeaderBytes in all plus a few bytes per
// field. Its context is the connection's.
func (c *Conn) Request() *http.Request {
	f := c.req.list()
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
		c.closeSlowAndUnlock()
		return ErrClosed
	}
	size := 0
	for i, m := range msgs {
		frame := m.frame
		if c.eio3 && m.Binary {
			frame = nil // v3 frames binary messages otherwise (appendFrameV3)
		}
		c.queue = append(c.queue, queued{p: eiopacket.Packet{Type: eiopacket.Message, Data: m.Data, Binary: m.Binary}, frame: frame,
			volatile: volatile, groupStart: i == 0})
		size += len(m.Data)
	}
	if m := c.srv.cfg.Metrics; m != nil {
		m.MessagesSent(len(msgs), size)
	}
	// A broadcast (prepared frames) is left to the flushers, which write each connection's packets together;
	// anything else is written at once if nobody is writing.
	c.wakeAndUnlock(msgs[0].frame == nil)
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

// closeSlowAndUnlock closes a client that does not read what it is sent. It is called with mu held and unlocks it
// before closing.
func (c *Conn) closeSlowAndUnlock() {
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
func (c *Conn) sendControl(t eiopacket.Type, data []byte) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, queued{p: eiopacket.Packet{Type: t, Data: data}, groupStart: true})
	c.wakeAndUnlock(true)
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
		c.closeSlowAndUnlock()
		return
	}
	c.queue = append(c.queue, queued{p: eiopacket.Packet{Type: eiopacket.Pong}, groupStart: true})
	c.wakeAndUnlock(true)
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
		c.closeSlowAndUnlock()
		return
	}
	c.queue = append(c.queue, queued{frame: frame, groupStart: true})
	c.wakeAndUnlock(true)
}

// takeLocked swaps the queue with buf and returns what was queued.
func (c *Conn) takeLocked(buf []queued) []queued {
	batch := c.queue
	clear(buf)
	c.queue = buf[:0]
	return batch
}

// wakeAndUnlock tells the writer there is something to do, starting the WebSocket writer if needed. It is called
// with mu held and unlocks it: under mu it only claims the writer's place (writing); the write, or the wake-up of
// the long-polling GET, comes after. With inline, a WebSocket nobody is writing to is written at once by the
// calling goroutine (without blocking: what the socket does not take goes to a writer goroutine); otherwise the
// flushers do it.
func (c *Conn) wakeAndUnlock(inline bool) {
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
		c.wakeAndUnlock(false)
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
func (c *Conn) deliver(p eiopacket.Packet) { c.deliverFrom(p, false) }

// deliverFrom hands p over; burst is true when the poller's reader calls it, which then calls OnBurstEnd.
func (c *Conn) deliverFrom(p eiopacket.Packet, burst bool) {
	// A client that sends something while the server waits for its pong is alive, if slow to answer: as the
	// reference server (engine.io 6.6.11 and later), the first packet after a ping that is not the pong starts
	// the pong's PingTimeout again, once per ping. One atomic load per packet; the lock only once per ping.
	if p.Type != eiopacket.Pong && c.pinged.Load() && c.pinged.CompareAndSwap(true, false) {
		c.srv.hb.extendPongWait(c, c.srv.cfg.PingTimeout)
	}
	switch p.Type {
	case eiopacket.Message:
		if m := c.srv.cfg.Metrics; m != nil {
			m.MessageReceived(len(p.Data))
		}
		c.recvMu.Lock()
		if !c.notified {
			c.inBurst = burst
			c.srv.handler.OnMessage(c, Message{Data: p.Data, Binary: p.Binary})
			c.inBurst = false
		}
		c.recvMu.Unlock()
	case eiopacket.Ping:
		if c.eio3 {
			// v3: the client pings, the server answers, and waits for the next ping.
			c.srv.hb.schedule(c, c.srv.cfg.PingInterval+c.srv.cfg.PingTimeout, true, &c.srv.wg)
			c.sendPong()
		}
		// v4: a ping from the client is ignored.
	case eiopacket.Pong:
		if c.eio3 {
			c.close(ReasonTransportError, false) // the wrong direction in v3, as the reference server sees it
			return
		}
		c.onPong()
	case eiopacket.Close:
		c.mu.Lock()
		polling := c.transport == TransportPolling && c.state == stateOpen
		c.mu.Unlock()
		if polling {
			c.srv.byClient.add(c.id) // before the close: the pending GET, if any, takes it back
		}
		c.close(ReasonTransportClose, false)
	case eiopacket.Noop, eiopacket.Upgrade:
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
	c.pinged.Store(true)
	c.sendControl(eiopacket.Ping, nil)
}

func (c *Conn) onPong() {
	c.pinged.Store(false)
	h := c.srv.hb
	h.mu.Lock()
	waiting := c.hbPong && c.hbDue != 0
	h.mu.Unlock()
	if waiting {
		h.schedulePing(c, c.srv.cfg.PingInterval, &c.srv.wg)
	}
}
