package engineio

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/sioredis/sioredis/internal/eiopacket"
	"github.com/sioredis/sioredis/internal/wsproto"
)

// This file holds the upgrade of a long-polling session to WebSocket: the WebSocket request that probes it, the
// probe's "2probe"/"3probe" exchange and the "5" that completes it, and the end of an upgrade that fails.

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
		ws.closeNow()
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
	c.wakeAndUnlock(false)
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

// probe handles the messages of a connection probing an upgrade: "2probe", answered with "3probe", then "5"
// (upgrade), possibly after noops.
func (w *wsConn) probe(data []byte, binary bool) error {
	p, err := eiopacket.Parse(data, binary)
	if err != nil || binary {
		return errBadProbe
	}
	switch {
	case !w.probed && p.Type == eiopacket.Ping && string(p.Data) == probeData:
		// Probed before the answer goes out: a GET the client sends once it has the answer must find it so.
		w.probed = true
		w.c.mu.Lock()
		w.c.probed = true
		w.c.mu.Unlock()
		w.c.signal() // a pending GET answers with noop, so that the client can finish pausing polling
		pong := appendFrame(nil, eiopacket.Packet{Type: eiopacket.Pong, Data: []byte(probeData)}, false)
		return w.writeFrame(pong) // an error ends the probe (fail, abortUpgrade)
	case w.probed && p.Type == eiopacket.Noop && len(p.Data) == 0:
		return nil
	case w.probed && p.Type == eiopacket.Upgrade && len(p.Data) == 0:
		if !w.c.completeUpgrade(w) {
			return errBadProbe
		}
		w.active = true
		return nil
	}
	return errBadProbe
}

// probeData is the data of the ping and pong that open an upgrade ("2probe", "3probe").
const probeData = "probe"

// errBadProbe ends a probing connection that broke the upgrade sequence.
var errBadProbe = errors.New("engineio: bad upgrade probe")
