// Package faultproxy is a TCP proxy for fault tests: placed between one program and a server (one app server and
// Redis), it passes bytes, or plays a network fault on that path only while the program's other connections
// (its clients, its database) stay as they are. It is imported only by tests.
//
// A userspace proxy was chosen over network namespaces with packet filters because it needs no privileges and no
// tool beyond Go, so it runs the same on a developer's machine and in CI, and because it faults one path of one
// process, however many processes share the loopback interface. What it cannot reproduce: during a partition a
// dial still completes (the kernel accepts the handshake on the proxy's socket; the proxy then forwards nothing),
// where a real partition would leave the dial hanging; the program sees a command that times out either way.
package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Mode is what the proxy does with the bytes of its connections.
type Mode int

// The modes.
const (
	// Pass forwards bytes both ways.
	Pass Mode = iota
	// Partition forwards nothing, either way, on every connection, open or new, and closes none, as a network
	// partition between the two sides: the proxy stops reading, so the senders' buffers fill up and they see no
	// progress and no error. When the mode goes back to Pass, what was held flows, as TCP's retransmissions
	// deliver it when a partition heals; a side that closed its connection meanwhile is seen closed only then.
	Partition
	// StallDown stops the server-to-client direction only (the client→server direction flows): the proxy stops
	// reading what the server sends, as a client that no longer reads (a paused process, a slow subscriber), so the
	// server's output buffer for that connection grows. Back in Pass, what was held flows.
	StallDown
	// Reset closes every connection at once with a TCP reset, on both sides, and resets new connections as they
	// are accepted, as a firewall rejecting the path or a middlebox restarting.
	Reset
)

func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Partition:
		return "partition"
	case StallDown:
		return "stall-down"
	case Reset:
		return "reset"
	}
	return "unknown"
}

// Config configures [Listen].
type Config struct {
	// Target is the server's "host:port".
	Target string
	// ReadBuffer, when positive, is the socket receive buffer (SO_RCVBUF) the proxy sets on both of its sockets of
	// each connection, before they connect (on Unix). A small one makes a stalled direction back up to the sender
	// after fewer bytes, so that a server's output-buffer limit is reached sooner; 0 keeps the kernel's default.
	ReadBuffer int
	// DialTimeout bounds the dial to Target; default 5 s.
	DialTimeout time.Duration
}

// Proxy is a TCP proxy listening on a loopback port. It is safe for concurrent use.
type Proxy struct {
	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup

	mu      sync.Mutex
	mode    Mode
	changed chan struct{} // closed, and replaced, at each mode change and at Close
	closed  bool
	conns   map[*pair]struct{}
	total   int // connections accepted
}

// pair is one proxied connection: the client's and the server's sockets.
type pair struct {
	client net.Conn

	mu     sync.Mutex
	server net.Conn // nil until dialed
	done   bool     // closed or reset
}

// Listen starts a proxy to cfg.Target on a free port of 127.0.0.1, in Pass mode.
func Listen(cfg Config) (*Proxy, error) {
	if cfg.Target == "" {
		return nil, errors.New("faultproxy: no target")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	lc := net.ListenConfig{Control: rcvbuf(cfg.ReadBuffer)} // accepted sockets inherit the listener's buffer size
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, ln: ln, changed: make(chan struct{}), conns: map[*pair]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr returns the proxy's "127.0.0.1:port", to give the program in place of the server's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Mode returns the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// SetMode switches the proxy to m; Reset cuts the open connections before it returns.
func (p *Proxy) SetMode(m Mode) {
	p.mu.Lock()
	p.mode = m
	close(p.changed)
	p.changed = make(chan struct{})
	var cut []*pair
	if m == Reset {
		for c := range p.conns {
			cut = append(cut, c)
		}
	}
	p.mu.Unlock()
	for _, c := range cut {
		c.reset()
	}
}

// Conns returns the number of connections open now, and the number accepted since Listen.
func (p *Proxy) Conns() (open, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns), p.total
}

// Close stops listening, closes every connection and waits for the proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.changed)
	p.changed = make(chan struct{})
	var all []*pair
	for c := range p.conns {
		all = append(all, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range all {
		c.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		c := &pair{client: conn}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			conn.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.total++
		p.mu.Unlock()
		p.wg.Go(func() { p.serve(c) })
	}
}

// direction is the way bytes go through a pair.
type direction int

const (
	up   direction = iota // client → server
	down                  // server → client
)

var errCut = errors.New("faultproxy: connection cut")

// gate waits until bytes may go in direction d, and returns errCut if the connection must be cut (Reset, Close).
func (p *Proxy) gate(d direction) error {
	for {
		p.mu.Lock()
		m, ch, closed := p.mode, p.changed, p.closed
		p.mu.Unlock()
		switch {
		case closed || m == Reset:
			return errCut
		case m == Pass, m == StallDown && d == up:
			return nil
		}
		<-ch
	}
}

func (p *Proxy) serve(c *pair) {
	defer func() {
		c.close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	// A new connection waits, accepted but not forwarded, while nothing may flow (Partition).
	if err := p.gate(up); err != nil {
		c.reset()
		return
	}
	d := net.Dialer{Timeout: p.cfg.DialTimeout, Control: rcvbuf(p.cfg.ReadBuffer)}
	server, err := d.Dial("tcp", p.cfg.Target)
	if err != nil {
		c.reset()
		return
	}
	if !c.setServer(server) {
		return // cut while dialing
	}
	if p.gate(up) != nil { // Reset or Close came while dialing
		c.reset()
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { p.copy(c, server, c.client, up) })
	p.copy(c, c.client, server, down)
	wg.Wait()
}

// copy moves bytes from src to dst in direction d, through the gate, until either side fails; then it closes the
// pair, so that the other direction ends too.
func (p *Proxy) copy(c *pair, dst, src net.Conn, d direction) {
	buf := make([]byte, 32<<10)
	for {
		if err := p.gate(d); err != nil { // stalled: do not even read, so the sender's buffers fill
			c.reset()
			return
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			if err := p.gate(d); err != nil {
				c.reset()
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				c.close()
				return
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				c.reset()
				return
			}
			if err := p.gate(d); err != nil { // a close is held like the bytes before it
				c.reset()
				return
			}
			c.close()
			return
		}
	}
}

// setServer records the dialed server socket, or closes it and returns false if the pair was cut meanwhile.
func (c *pair) setServer(s net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		s.Close()
		return false
	}
	c.server = s
	return true
}

// reset closes both sockets with a TCP reset (SO_LINGER 0).
func (c *pair) reset() { c.end(true) }

// close closes both sockets normally.
func (c *pair) close() { c.end(false) }

func (c *pair) end(reset bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.done = true
	for _, conn := range []net.Conn{c.client, c.server} {
		if conn == nil {
			continue
		}
		if tc, ok := conn.(*net.TCPConn); ok && reset {
			_ = tc.SetLinger(0)
		}
		conn.Close()
	}
}
