package engineio

import (
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sioredis/sioredis/internal/eiopacket"
)

// This file holds the long-polling transport: the GET that waits for what a session has queued, the POST that
// brings what the client sends, and the answers for sessions closed by their client.

// probeGETWait is how long a long-polling GET arriving once a WebSocket has probed the upgrade waits for the
// upgrade to complete (the reference server's noop check interval).
const probeGETWait = 100 * time.Millisecond

// servePollGet answers a long-polling GET with what the connection has queued, waiting until there is something
// to send or the state changes. A second GET while one is pending is refused, and closes the session.
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

	packets := make([]eiopacket.Packet, 0, len(batch)+1)
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
		packets = append(packets, eiopacket.Packet{Type: eiopacket.Noop})
	case closeNow:
		packets = append(packets, eiopacket.Packet{Type: eiopacket.Close})
	case len(packets) == 0 && probed:
		packets = append(packets, eiopacket.Packet{Type: eiopacket.Noop})
	}
	var body []byte
	contentType := "text/plain; charset=UTF-8"
	switch {
	case c.eio3 && !c.b64 && hasBinary(packets):
		body, contentType = appendBinaryPayloadV3(nil, packets), "application/octet-stream"
	case c.eio3:
		body = appendPayloadV3(nil, packets)
	default:
		body = eiopacket.AppendPayload(nil, packets)
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

// servePollPost hands the packets of a long-polling POST to deliver, one POST at a time (postActive).
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
	stop := bodyDeadline(w, c.srv.cfg.HTTPRequestBodyTimeout, func() { c.close(ReasonTransportError, false) })
	body, tooLarge, err := readBody(r, c.srv.cfg.MaxHTTPBufferSize)
	timedOut := stop()
	switch {
	case tooLarge:
		// engine.io 6.6.13 closes the session too (6.6.12 kept it).
		writeError(w, &RequestError{Status: http.StatusRequestEntityTooLarge, Code: CodeBadRequest, Message: "Payload too large"})
		c.close(ReasonTransportError, false)
		return
	case err != nil && timedOut:
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestTimeout)
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
		err = eiopacket.EachInPayload(body, c.deliver)
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

// bodyDeadline ends the reading of a request's body after d: it then calls expire (which closes the session) and
// sets the connection's read deadline to now (never later than the http.Server's own deadline), which fails the
// read under way where the ResponseWriter supports it. The function it returns stops the timer once the body is
// read and reports whether it had fired; after it returns, the deadline is never touched again (the connection
// may be serving another request by then).
func bodyDeadline(w http.ResponseWriter, d time.Duration, expire func()) (stop func() (fired bool)) {
	var mu sync.Mutex
	done, fired := false, false
	t := time.AfterFunc(d, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			fired = true
			expire()
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		}
	})
	return func() bool {
		t.Stop()
		mu.Lock()
		defer mu.Unlock()
		done = true
		return fired
	}
}

// readBody reads at most limit bytes of the body; more is an error.
func readBody(r *http.Request, limit int64) ([]byte, bool, error) {
	if r.ContentLength > limit {
		return nil, true, nil
	}
	if r.ContentLength >= 0 {
		// Known length (the HTTP server enforces it): one buffer of that size, not ReadAll's doublings.
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, false, err
		}
		return b, false, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(b)) > limit {
		return nil, true, nil
	}
	return b, false, nil
}

// pollClosed answers a long-polling GET for a session that is closed or unknown: with a noop if the client closed
// that session itself an instant ago (the GET was probably sent before the close packet, and overtaken by it:
// it gets what a GET pending at the close gets), else 400.
func (s *Server) pollClosed(w http.ResponseWriter, sid string, closedByClient, eio3 bool) {
	if closedByClient || s.byClient.take(sid) {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		noop := eiopacket.Packet{Type: eiopacket.Noop}
		if eio3 {
			_, _ = w.Write(appendPayloadV3(nil, []eiopacket.Packet{noop}))
			return
		}
		_, _ = w.Write(eiopacket.AppendPacket(nil, noop))
		return
	}
	writeError(w, &RequestError{Status: http.StatusBadRequest, Code: CodeUnknownSID})
}

// clientClosedGrace is how long a long-polling session closed by its client's close packet still answers one
// GET with a noop.
const clientClosedGrace = time.Second

// clientClosed remembers, for clientClosedGrace, the long-polling sessions whose client sent a close packet while
// no GET was answered for it yet. The client sends its close packet in a POST while its GET may be on its way
// (the reference test suite sends both at once): that GET gets a noop, whichever request the server handles
// first, and every later GET gets 400. Without timers: expired entries go when the next one is added.
type clientClosed struct {
	mu    sync.Mutex
	sids  map[string]struct{}
	order []closedSID // by expiry
}

type closedSID struct {
	sid     string
	expires time.Time
}

func (cc *clientClosed) add(sid string) {
	now := time.Now()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.purgeLocked(now)
	if cc.sids == nil {
		cc.sids = make(map[string]struct{})
	}
	cc.sids[sid] = struct{}{}
	cc.order = append(cc.order, closedSID{sid, now.Add(clientClosedGrace)})
}

// take reports whether sid was closed by its client lately and no GET had its noop yet, and forgets it.
func (cc *clientClosed) take(sid string) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.purgeLocked(time.Now())
	_, ok := cc.sids[sid]
	delete(cc.sids, sid)
	return ok
}

func (cc *clientClosed) purgeLocked(now time.Time) {
	n := 0
	for n < len(cc.order) && !now.Before(cc.order[n].expires) {
		delete(cc.sids, cc.order[n].sid)
		n++
	}
	if n > 0 {
		clear(cc.order[:n])
		cc.order = cc.order[n:]
		if len(cc.order) == 0 {
			cc.order = nil
		}
	}
}
