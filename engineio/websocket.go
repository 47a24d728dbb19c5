package engineio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sioredis/sioredis/engineio/internal/netpoll"
	"github.com/sioredis/sioredis/internal/eiopacket"
	"github.com/sioredis/sioredis/internal/wsproto"
)

// wsConn is one WebSocket connection of a Conn: its transport once upgraded (or from the start), or a connection
// probing an upgrade.
//
// Reading. On Linux, with a plain TCP (or Unix) socket, an idle connection has no goroutine and no read buffer:
// the server's poller (internal/netpoll) calls onReady when data arrives, which hands the connection to a goroutine
// of the server's readers (internal/workpool: twice GOMAXPROCS at a time, the other readable connections waiting
// in order) that reads what is there into a pooled buffer, hands the messages
// over and ends the poller's turn (netpoll.Registration.Done); then it runs what the Handler left for the end of
// the burst (BurstHandler). Otherwise (TLS, other systems) one goroutine reads, the HTTP handler's.
//
// Writing. A flusher of the server's pool writes, without blocking, every packet the Conn has queued in one
// system call (writev), frames encoded once for many connections as they are; when the socket is full, a goroutine
// of the Conn's own (writeWS) waits for it until the queue is empty. Over TLS or without a poller, that goroutine
// does all the writing. Either way there is one writer at a time, and none while there is nothing to send.
type wsConn struct {
	// Set at creation, read without a lock.
	c   *Conn
	nc  wsSocket        // the connection: with a poller, its socket taken out of package net (netpoll.FD)
	rc  syscall.RawConn // for non-blocking reads and writes; nil over TLS or without a poller
	b64 bool            // a v3 client that sends and takes binary messages in base64 text frames

	// Guarded by readMu: one reader at a time (see Conn for the lock order).
	readMu sync.Mutex
	active bool // the Conn's transport (false while probing); set before reading starts when it is from the start
	probed bool // "3probe" sent
	burst  bool // readReady handed a message over: OnBurstEnd follows
	dec    wsproto.Decoder
	early  []byte // bytes read by the HTTP server before the hijack, decoded first

	// wmu serialises writes to nc; it guards no field.
	wmu sync.Mutex

	// Atomic: read and written without a lock.
	closeSent atomic.Bool                          // a close frame was written: wait for the client's end
	closed    atomic.Bool                          // released: data messages are ignored
	lingering atomic.Bool                          // release waits for the client's end (counted in Server.wg)
	released  atomic.Bool                          // closeNow has run
	pr        atomic.Pointer[netpoll.Registration] // nil when a goroutine reads

	// Guarded by the Conn's mu.
	upgradeEnd *time.Timer // bounds the probe
}

// wsSocket is what a wsConn uses of its connection: a net.Conn (over TLS, or without a poller) or a
// netpoll.FD, the socket taken out of package net, which drops the net package's descriptor, its two addresses
// and the runtime's poll state of an idle connection (a few hundred bytes).
type wsSocket interface {
	io.ReadWriteCloser
	SetWriteDeadline(time.Time) error
}

var readBufPool = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// errPeerClosed ends reading after the client's close frame.
var errPeerClosed = errors.New("engineio: websocket closed by the client")

// newWS takes nc, which it may close (see wsSocket): from now on the connection is used through the wsConn.
func (s *Server) newWS(c *Conn, nc net.Conn, early []byte, r *http.Request) *wsConn {
	w := &wsConn{c: c, nc: nc, early: early, b64: c.eio3 && wantsBase64(r)}
	w.dec.Server = true
	w.dec.MaxMessage = s.cfg.MaxHTTPBufferSize
	// A plain socket is taken out of package net, written without blocking by the flushers and, if the poller
	// takes it, read when ready.
	if sc, ok := nc.(syscall.Conn); ok && !s.cfg.noPoller && s.poller() != nil {
		if fd, err := netpoll.Detach(sc); err == nil {
			_ = nc.Close() // the FD holds the socket now
			w.nc = fd
			w.rc, _ = fd.SyscallConn()
		} else if rc, err := sc.SyscallConn(); err == nil {
			w.rc = rc
		}
	}
	return w
}

// run starts reading: it registers with the poller and returns, or reads in the calling goroutine until the
// connection ends.
func (w *wsConn) run() {
	if w.rc != nil {
		var pr *netpoll.Registration
		var err error
		w.readMu.Lock() // no event is handled before the registration is stored
		if pr, err = w.c.srv.poller().Add(w.nc.(syscall.Conn), w.onReady); err == nil {
			w.pr.Store(pr)
		}
		early := len(w.early) > 0
		w.readMu.Unlock()
		if err == nil {
			if w.closed.Load() {
				pr.Remove() // closed meanwhile: closeNow may not have seen the registration
				return
			}
			// Bytes read before the hijack are not seen by the poller.
			if early {
				w.onReady()
			}
			return
		}
		// Not registered: a goroutine reads; the flushers still write without blocking.
		w.c.srv.cfg.Logger.Warn("engineio: poller refused a connection", "err", err)
	}
	w.readLoop()
}

// onReady is called by the poller (which it must not block) when the connection has something to read: a
// goroutine of the server's readers, warm from earlier reads (its stack already grown), reads it.
func (w *wsConn) onReady() { w.c.srv.readers.Go((*wsReader)(w)) }

// wsReader is a wsConn as the readers' task (a method value would be allocated on each wake-up).
type wsReader wsConn

// Run reads the connection (readReady).
func (r *wsReader) Run() { (*wsConn)(r).readReady() }

// readReady reads what the socket has, without blocking, and ends the poller's turn; then, if the Handler is a
// BurstHandler and messages were handed over, it calls OnBurstEnd.
func (w *wsConn) readReady() {
	w.readMu.Lock()
	w.burst = false
	w.readSocket()
	burst := w.burst
	w.readMu.Unlock()
	if burst {
		if bh, ok := w.c.srv.handler.(BurstHandler); ok {
			bh.OnBurstEnd(w.c)
		}
	}
}

// readSocket reads what the socket has, without blocking, then ends the poller's turn (under readMu).
func (w *wsConn) readSocket() {
	if err := w.feedEarly(); err != nil {
		w.fail(err)
		return
	}
	bp := readBufPool.Get().(*[]byte)
	defer readBufPool.Put(bp)
	buf := *bp
	for {
		n, err := w.tryRead(buf)
		switch {
		case err == netpoll.ErrWouldBlock:
			if w.pr.Load().Done() {
				continue // more came meanwhile
			}
			return
		case err != nil:
			w.fail(err)
			return
		}
		if err := w.dec.Feed(buf[:n], w.handle); err != nil {
			w.fail(err)
			return
		}
		if n < len(buf) && !w.pr.Load().Done() {
			// All there was; the poller's next event for this socket starts another turn. (Done reports what
			// came since the read.)
			return
		}
	}
}

// tryRead reads what the socket has into buf without waiting: netpoll.ErrWouldBlock when it has nothing, io.EOF
// once the client has closed its end.
func (w *wsConn) tryRead(buf []byte) (int, error) {
	if fd, ok := w.nc.(*netpoll.FD); ok {
		return fd.TryRead(buf)
	}
	var n int
	var rerr error
	err := w.rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = readFD(fd, buf)
			if rerr != syscall.EINTR {
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case rerr == syscall.EAGAIN:
		return 0, netpoll.ErrWouldBlock
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// feedEarly decodes the bytes read by the HTTP server before the hijack (under readMu).
func (w *wsConn) feedEarly() error {
	early := w.early
	w.early = nil
	if len(early) == 0 {
		return nil
	}
	return w.dec.Feed(early, w.handle)
}

// readLoop reads in the calling goroutine until the connection ends.
func (w *wsConn) readLoop() {
	w.readMu.Lock()
	defer w.readMu.Unlock()
	buf := make([]byte, 4096)
	w.fail(w.readAll(buf))
	// After a close frame, wait here for the client's end of the connection (release lingers).
	for w.lingering.Load() {
		if _, err := w.nc.Read(buf); err != nil {
			w.closeNow()
			return
		}
	}
}

// readAll decodes what the client sends until an error, which it returns (under readMu).
func (w *wsConn) readAll(buf []byte) error {
	if err := w.feedEarly(); err != nil {
		return err
	}
	for {
		n, err := w.nc.Read(buf)
		if n > 0 {
			if ferr := w.dec.Feed(buf[:n], w.handle); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return err
		}
	}
}

// handle receives one decoded message or control frame (under readMu).
func (w *wsConn) handle(op wsproto.Opcode, payload []byte) error {
	switch op {
	case wsproto.OpText, wsproto.OpBinary:
		if w.closed.Load() {
			return nil
		}
		if !w.active {
			return w.probe(payload, op == wsproto.OpBinary)
		}
		var p eiopacket.Packet
		var err error
		if w.c.eio3 {
			p, err = parsePacketV3(payload, op == wsproto.OpBinary)
		} else {
			p, err = eiopacket.Parse(payload, op == wsproto.OpBinary)
		}
		if err != nil {
			return err
		}
		if p.Type == eiopacket.Message {
			p.Data = bytes.Clone(p.Data) // payload is the read buffer; the handler may keep the data
		}
		poller := w.pr.Load() != nil
		w.burst = w.burst || (poller && p.Type == eiopacket.Message)
		w.c.deliverFrom(p, poller)
		return nil
	case wsproto.OpPing:
		pong := wsproto.AppendFrame(make([]byte, 0, 2+len(payload)), wsproto.OpPong, payload)
		if w.active {
			w.c.sendFrame(pong) // through the writer, never waiting for the socket here
			return nil
		}
		return w.writeFrame(pong)
	case wsproto.OpClose:
		code, _, err := wsproto.ParseClose(payload)
		if err != nil {
			return err
		}
		if code == wsproto.CloseNoStatus {
			code = wsproto.CloseNormal
		}
		w.sendClose(code)
		return errPeerClosed
	}
	return nil // pong
}

// fail ends the connection after a read error, a protocol error or the client's close (under readMu).
func (w *wsConn) fail(err error) {
	if w.closed.Load() {
		w.release()
		return
	}
	var reason CloseReason
	switch {
	case errors.Is(err, errPeerClosed), errors.Is(err, io.EOF):
		reason = ReasonTransportClose
	case errors.Is(err, wsproto.ErrProtocol), errors.Is(err, wsproto.ErrTooLarge), errors.Is(err, wsproto.ErrInvalidUTF8):
		w.sendClose(wsproto.CloseCode(err))
		reason = ReasonTransportError
	default:
		reason = ReasonTransportError
	}
	if !w.active {
		w.c.abortUpgrade(w)
		w.release()
		return
	}
	w.c.close(reason, false)
}

// sendClose writes a close frame, once; the connection is then closed when the client ends it (or shortly after).
func (w *wsConn) sendClose(code uint16) {
	if w.closeSent.Swap(true) {
		return
	}
	w.wmu.Lock()
	_ = w.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = w.nc.Write(wsproto.AppendClose(nil, code, ""))
	w.wmu.Unlock()
}

// lingerTimeout bounds the wait for the client's end of the TCP connection after a close frame.
const lingerTimeout = 2 * time.Second

// release closes the connection: at once, or, after a close frame, once the client has closed its end (which the
// reader sees as EOF) or after lingerTimeout. Closing at once with unread data in the socket would reset the
// connection and could destroy the close frame on its way. A second call closes at once.
func (w *wsConn) release() {
	if w.closed.Swap(true) || !w.closeSent.Load() {
		w.closeNow()
		return
	}
	cw, ok := w.nc.(interface{ CloseWrite() error })
	if !ok {
		w.closeNow()
		return
	}
	w.c.srv.wg.Add(1) // until closeNow
	w.lingering.Store(true)
	if cw.CloseWrite() != nil {
		w.closeNow()
		return
	}
	time.AfterFunc(lingerTimeout, w.closeNow)
	if pr := w.pr.Load(); pr != nil {
		_ = pr.Resume() // the reader may have stopped: watch for the client's end
	}
}

// closeNow closes the TCP connection and stops watching it.
func (w *wsConn) closeNow() {
	w.closed.Store(true)
	if w.released.Swap(true) {
		return
	}
	if pr := w.pr.Load(); pr != nil {
		pr.Remove()
	}
	_ = w.nc.Close()
	if w.lingering.Load() {
		w.c.srv.wg.Done()
	}
}
