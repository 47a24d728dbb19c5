package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/sioredis/sioredis/internal/eiopacket"
	"github.com/sioredis/sioredis/internal/wsproto"
)

// transport is one Engine.IO transport of a session. read is called by one goroutine at a time, write by another.
type transport interface {
	read(ctx context.Context) ([]eioPacket, error)
	write(ctx context.Context, pkts []eioPacket) error
	close()
}

// handshake is the data of the Engine.IO open packet.
type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// engine is an Engine.IO v4 client session: a reader goroutine (heartbeat, messages to onMessage), a writer
// goroutine (one batch at a time on the current transport) and, while upgrading, a probe goroutine.
type engine struct {
	opts      *Options
	base      *url.URL
	hs        handshake
	onMessage func(eioPacket)
	onClose   func(reason string, err error)
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	cond    *sync.Cond
	tr      transport
	ws      bool // tr is the WebSocket
	queue   []eioPacket
	writing bool
	pausing bool // an upgrade holds the polling transport
	paused  bool // the reader is parked for the upgrade
	closed  bool
	timer   *time.Timer
	reason  string
}

// openEngine does the Engine.IO handshake and starts the session's goroutines.
func openEngine(ctx context.Context, base *url.URL, opts *Options, onMessage func(eioPacket), onClose func(string, error)) (*engine, error) {
	e := &engine{opts: opts, base: base, onMessage: onMessage, onClose: onClose}
	e.cond = sync.NewCond(&e.mu)
	e.ctx, e.cancel = context.WithCancel(context.Background())
	var first []eioPacket
	if opts.Transports[0] == WebSocket {
		ws, err := dialWS(ctx, e, "")
		if err != nil {
			e.cancel()
			return nil, err
		}
		pkts, err := ws.read(ctx)
		if err != nil {
			ws.close()
			e.cancel()
			return nil, err
		}
		e.tr, e.ws, first = ws, true, pkts
	} else {
		pt := &polling{e: e}
		pkts, err := pt.read(ctx)
		if err != nil {
			e.cancel()
			return nil, err
		}
		e.tr, first = pt, pkts
	}
	if len(first) == 0 || first[0].typ != '0' || json.Unmarshal(first[0].data, &e.hs) != nil || e.hs.SID == "" {
		e.tr.close()
		e.cancel()
		return nil, fmt.Errorf("%w: no open packet", ErrBadPacket)
	}
	if e.hs.PingInterval <= 0 {
		e.hs.PingInterval = 25000
	}
	if e.hs.PingTimeout <= 0 {
		e.hs.PingTimeout = 20000
	}
	e.timer = time.AfterFunc(e.deadline(), func() { e.fail("ping timeout", ErrPingTimeout) })
	e.wg.Add(2)
	go e.readLoop(first[1:])
	go e.writeLoop()
	if !e.ws && len(opts.Transports) > 1 && opts.Transports[1] == WebSocket {
		for _, u := range e.hs.Upgrades {
			if u == "websocket" {
				e.wg.Add(1)
				go e.probe()
				break
			}
		}
	}
	return e, nil
}

func (e *engine) deadline() time.Duration {
	return time.Duration(e.hs.PingInterval+e.hs.PingTimeout) * time.Millisecond
}

// endpoint returns the URL of a request on transport name.
func (e *engine) endpoint(name, sid string) *url.URL {
	u := *e.base
	q := u.Query()
	for k, vs := range e.opts.Query {
		q[k] = vs
	}
	q.Set("EIO", "4")
	q.Set("transport", name)
	if sid != "" {
		q.Set("sid", sid)
	}
	if name == "polling" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		q.Set("t", fmt.Sprintf("%x", b))
	}
	u.RawQuery = q.Encode()
	return &u
}

// errQueueFull is what emit tells the caller when the writer is behind by Options.MaxQueuedPackets.
var errQueueFull = errors.New("queue full")

// emit queues the packets of an emit, bounded by Options.MaxQueuedPackets: errQueueFull when they would exceed
// it. A volatile emit is dropped (nil) unless the writer is idle with nothing queued, as socket.io-client drops
// one when its transport is not writable.
func (e *engine) emit(volatile bool, pkts []eioPacket) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return nil // the reconnection logic buffers what follows; this one is lost with the connection
	case volatile && (len(e.queue) > 0 || e.writing || e.pausing):
		return nil
	case e.opts.MaxQueuedPackets > 0 && len(e.queue)+len(pkts) > e.opts.MaxQueuedPackets:
		return errQueueFull
	}
	e.queue = append(e.queue, pkts...)
	e.cond.Broadcast()
	return nil
}

// send queues packets for the writer, unbounded (control packets, acks, connects); false when the session is
// closed.
func (e *engine) send(pkts ...eioPacket) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.queue = append(e.queue, pkts...)
	e.cond.Broadcast()
	return true
}

func (e *engine) readLoop(pending []eioPacket) {
	defer e.wg.Done()
	for {
		for _, p := range pending {
			switch p.typ {
			case '2':
				// Only a ping proves the server's heartbeat alive (as in socket.io-client): a server that
				// stops pinging but still sends messages has lost its heartbeat, and the session is closed
				// pingInterval + pingTimeout after the last ping (or the handshake).
				e.timer.Reset(e.deadline())
				e.send(eioPacket{typ: '3', data: p.data})
			case '1':
				e.fail("transport close", ErrTransportClosed)
				return
			case '4':
				e.onMessage(p)
			}
		}
		e.mu.Lock()
		if e.pausing && !e.ws {
			e.paused = true
			e.cond.Broadcast()
			for e.pausing && !e.closed {
				e.cond.Wait()
			}
			e.paused = false
		}
		tr, closed := e.tr, e.closed
		e.mu.Unlock()
		if closed {
			return
		}
		pkts, err := tr.read(e.ctx)
		if err != nil {
			e.fail("transport close", fmt.Errorf("%w: %w", ErrTransportClosed, err))
			return
		}
		pending = pkts
	}
}

func (e *engine) writeLoop() {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		for (len(e.queue) == 0 || e.pausing) && !e.closed {
			e.cond.Wait()
		}
		if e.closed {
			e.mu.Unlock()
			return
		}
		batch, tr := e.queue, e.tr
		e.queue, e.writing = nil, true
		e.mu.Unlock()
		err := tr.write(e.ctx, batch)
		e.mu.Lock()
		e.writing = false
		e.cond.Broadcast()
		e.mu.Unlock()
		if err != nil {
			e.fail("transport error", fmt.Errorf("%w: %w", ErrTransportClosed, err))
			return
		}
	}
}

// probe upgrades a polling session to WebSocket as socket.io-client does: 2probe, 3probe, pause polling, 5.
func (e *engine) probe() {
	defer e.wg.Done()
	ctx, cancel := context.WithTimeout(e.ctx, e.deadline())
	defer cancel()
	ws, err := dialWS(ctx, e, e.hs.SID)
	if err != nil {
		return // stay on polling
	}
	ok := ws.write(ctx, []eioPacket{{typ: '2', data: []byte("probe")}}) == nil
	if ok {
		pkts, err := ws.read(ctx)
		ok = err == nil && len(pkts) == 1 && pkts[0].typ == '3' && string(pkts[0].data) == "probe"
	}
	if !ok {
		ws.close()
		return
	}
	// Pause polling: wait for the reader to park and the writer to finish. Writes, pongs included, are held
	// meanwhile, and the server waits pingTimeout for a pong: a GET the server (or a proxy) does not answer
	// must not hold them back, so the upgrade is given up after pingTimeout/2 (or at the probe's deadline).
	// A pause bounded by the probe's deadline alone (pingInterval + pingTimeout from the probe's start) would
	// lose the race with both heartbeats, and the session with it.
	pctx, pcancel := context.WithTimeout(ctx, time.Duration(e.hs.PingTimeout)*time.Millisecond/2)
	defer pcancel()
	stop := context.AfterFunc(pctx, func() {
		e.mu.Lock()
		e.cond.Broadcast()
		e.mu.Unlock()
	})
	defer stop()
	e.mu.Lock()
	e.pausing = true
	e.cond.Broadcast()
	for !e.closed && (!e.paused || e.writing) && pctx.Err() == nil {
		e.cond.Wait()
	}
	if e.closed || pctx.Err() != nil {
		e.pausing = false
		e.cond.Broadcast()
		e.mu.Unlock()
		ws.close()
		return
	}
	e.mu.Unlock()
	err = ws.write(ctx, []eioPacket{{typ: '5'}})
	e.mu.Lock()
	if err == nil {
		e.tr, e.ws = ws, true
	}
	e.pausing = false
	e.cond.Broadcast()
	e.mu.Unlock()
	if err != nil {
		ws.close()
	}
}

// transportName returns "websocket" or "polling".
func (e *engine) transportName() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ws {
		return "websocket"
	}
	return "polling"
}

// fail ends the session once, telling onClose why.
func (e *engine) fail(reason string, err error) {
	if !e.stop(reason) {
		return
	}
	e.onClose(reason, err)
}

// stop closes the session without calling onClose; false if it was closed already.
func (e *engine) stop(reason string) bool {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return false
	}
	e.closed, e.reason = true, reason
	tr := e.tr
	e.cond.Broadcast()
	e.mu.Unlock()
	if e.timer != nil {
		e.timer.Stop()
	}
	e.cancel()
	tr.close()
	return true
}

// flush waits until the queued packets are written (or ctx ends, or the session closes).
func (e *engine) flush(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() {
		e.mu.Lock()
		e.cond.Broadcast()
		e.mu.Unlock()
	})
	defer stop()
	e.mu.Lock()
	defer e.mu.Unlock()
	for (len(e.queue) > 0 || e.writing) && !e.closed && ctx.Err() == nil {
		e.cond.Wait()
	}
}

// wait waits for the session's goroutines to end (after stop).
func (e *engine) wait() { e.wg.Wait() }

// polling is the long-polling transport.
type polling struct {
	e *engine
}

func (p *polling) read(ctx context.Context) ([]eioPacket, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.e.endpoint("polling", p.e.hs.SID).String(), nil)
	if err != nil {
		return nil, err
	}
	body, err := p.do(req)
	if err != nil {
		return nil, err
	}
	return decodePayload(body)
}

func (p *polling) write(ctx context.Context, pkts []eioPacket) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.e.endpoint("polling", p.e.hs.SID).String(), bytes.NewReader(appendPayload(nil, pkts)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	_, err = p.do(req)
	return err
}

func (p *polling) do(req *http.Request) ([]byte, error) {
	for k, vs := range p.e.opts.Header {
		req.Header[k] = vs
	}
	resp, err := p.e.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := int64(p.e.hs.MaxPayload)
	if limit <= 0 {
		limit = 100 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit*2+1024))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("polling: status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

func (p *polling) close() {}

// websocket is the WebSocket transport, over internal/wsproto.
type websocket struct {
	conn net.Conn
	dec  wsproto.Decoder
	buf  []byte
	rest []byte // bytes read with the handshake response

	wmu sync.Mutex
}

func dialWS(ctx context.Context, e *engine, sid string) (*websocket, error) {
	u := e.endpoint("websocket", sid)
	host := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			host += ":443"
		} else {
			host += ":80"
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		tc := tls.Client(conn, wsTLSConfig(e.opts, u.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	key := wsproto.NewKey()
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	for k, vs := range e.opts.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	rest, err := wsproto.ReadResponse(br, req, key)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if !stop() {
		conn.Close()
		return nil, ctx.Err()
	}
	_ = conn.SetDeadline(time.Time{})
	return &websocket{conn: conn, rest: rest, dec: wsproto.Decoder{MaxMessage: 100 << 20}}, nil
}

// wsTLSConfig returns the TLS configuration of a WebSocket to host (see Options.TLSConfig).
func wsTLSConfig(opts *Options, host string) *tls.Config {
	cfg := opts.TLSConfig
	if cfg == nil {
		if t, ok := opts.HTTPClient.Transport.(*http.Transport); ok {
			cfg = t.TLSClientConfig
		}
	}
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"http/1.1"} // the upgrade is an HTTP/1.1 request
	return cfg
}

func (w *websocket) read(ctx context.Context) ([]eioPacket, error) {
	stop := context.AfterFunc(ctx, func() { _ = w.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var out []eioPacket
	var closeErr error
	h := func(op wsproto.Opcode, payload []byte) error {
		switch op {
		case wsproto.OpText, wsproto.OpBinary:
			p, err := eiopacket.Parse(payload, op == wsproto.OpBinary)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrBadPacket, err)
			}
			out = append(out, fromWire(p))
		case wsproto.OpPing:
			w.wmu.Lock()
			_, _ = w.conn.Write(maskedFrame(wsproto.OpPong, payload))
			w.wmu.Unlock()
		case wsproto.OpClose:
			closeErr = errors.New("websocket closed by the server")
		}
		return nil
	}
	for len(out) == 0 {
		var data []byte
		if w.rest != nil {
			data, w.rest = w.rest, nil
		} else {
			if w.buf == nil {
				w.buf = make([]byte, 32<<10)
			}
			n, err := w.conn.Read(w.buf)
			if n == 0 && err != nil {
				return nil, err
			}
			data = w.buf[:n]
		}
		if err := w.dec.Feed(data, h); err != nil {
			return nil, err
		}
		if closeErr != nil {
			return nil, closeErr
		}
	}
	return out, nil
}

func maskedFrame(op wsproto.Opcode, payload []byte) []byte {
	var key [4]byte
	_, _ = rand.Read(key[:])
	return wsproto.AppendMaskedFrame(make([]byte, 0, len(payload)+wsproto.MaxHeaderLen), op, payload, key)
}

func (w *websocket) write(ctx context.Context, pkts []eioPacket) error {
	var buf []byte
	var key [4]byte
	for _, p := range pkts {
		_, _ = rand.Read(key[:])
		if p.binary {
			buf = wsproto.AppendMaskedFrame(buf, wsproto.OpBinary, p.data, key)
			continue
		}
		msg := eiopacket.AppendPacket(make([]byte, 0, 1+len(p.data)), eiopacket.Packet{Type: eiopacket.Type(p.typ - '0'), Data: p.data})
		buf = wsproto.AppendMaskedFrame(buf, wsproto.OpText, msg, key)
	}
	stop := context.AfterFunc(ctx, func() { _ = w.conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_, err := w.conn.Write(buf)
	return err
}

func (w *websocket) close() {
	w.wmu.Lock()
	_ = w.conn.SetWriteDeadline(time.Now().Add(time.Second))
	var key [4]byte
	_, _ = rand.Read(key[:])
	_, _ = w.conn.Write(wsproto.AppendMaskedFrame(nil, wsproto.OpClose, []byte{0x03, 0xe8}, key))
	w.wmu.Unlock()
	_ = w.conn.Close()
}

var _ = strconv.Itoa
