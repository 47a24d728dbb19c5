// Package loadclient is the load client of the server benchmarks (bench/server_test.go): many Socket.IO
// connections to one server over WebSocket (Engine.IO v4, no long-polling), each joined to the main namespace.
// Every connection answers the server's pings, counts the EVENT packets it receives and can emit events with an
// acknowledgement, to time round trips. It speaks the protocol directly, with no Socket.IO library, so that the
// same client measures every server.
package loadclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Sentinel errors, for errors.Is.
var (
	// ErrProtocol reports a packet the client did not expect, during the handshake or after.
	ErrProtocol = errors.New("loadclient: protocol error")
	// ErrClosed is returned by operations on a closed connection.
	ErrClosed = errors.New("loadclient: connection closed")
)

// Options adjust DialWith.
type Options struct {
	// Query is added to the handshake URL, for example "rooms=room_777" (url-encoded).
	Query string
	// OnEvent, when set, is called by the connection's reader with each EVENT packet as received ("42[...]");
	// the slice is reused after the call returns.
	OnEvent func(c *Conn, packet []byte)
	// LocalAddrs, when set, are the source addresses of the connections, taken in turn (e.g. 127.0.0.2,
	// 127.0.0.3, ... on loopback): each address has its own range of ephemeral ports, so more connections than
	// one range holds (~28 000 on Linux) reach one server port.
	LocalAddrs []net.IP
}

// Pool is a set of connections to one server. Safe for concurrent use.
type Pool struct {
	opts   Options
	conns  []*Conn
	events atomic.Int64 // EVENT packets received by all connections

	ctx    context.Context // ends with Close: stops the readers
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Dial opens n connections to the server at base ("http://127.0.0.1:PORT"), at most parallel at a time, and
// joins each to the main namespace. Each connection's handshake is bounded by ctx and by 30 s. On error the
// connections already open are closed.
func Dial(ctx context.Context, base string, n, parallel int) (*Pool, error) {
	return DialWith(ctx, base, n, parallel, Options{})
}

// DialWith is Dial with options.
func DialWith(ctx context.Context, base string, n, parallel int, opts Options) (*Pool, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	if opts.Query != "" {
		u += "&" + opts.Query
	}
	p := &Pool{opts: opts, conns: make([]*Conn, n)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	// One transport for every handshake request: the WebSocket connections are hijacked from it.
	tr := &http.Transport{MaxIdleConnsPerHost: -1}
	if len(opts.LocalAddrs) > 0 {
		var next atomic.Uint64
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			ip := opts.LocalAddrs[(next.Add(1)-1)%uint64(len(opts.LocalAddrs))]
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
			return d.DialContext(ctx, network, addr)
		}
	}
	client := &http.Client{Transport: tr}
	sem := make(chan struct{}, max(parallel, 1))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := p.dial(ctx, client, u)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("connection %d: %w", i, err)
				}
				return
			}
			p.conns[i] = c
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		p.Close()
		return nil, firstErr
	}
	return p, nil
}

// Len returns the number of connections.
func (p *Pool) Len() int { return len(p.conns) }

// Conn returns connection i.
func (p *Pool) Conn(i int) *Conn { return p.conns[i] }

// Events returns the number of EVENT packets received so far by all the connections.
func (p *Pool) Events() int64 { return p.events.Load() }

// WaitEvents waits until the connections have received at least n EVENT packets in all, or ctx ends.
func (p *Pool) WaitEvents(ctx context.Context, n int64) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for p.events.Load() < n {
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("loadclient: %d of %d events: %w", p.events.Load(), n, ctx.Err())
		}
	}
	return nil
}

// Close closes every connection and waits for their readers.
func (p *Pool) Close() {
	p.cancel()
	for _, c := range p.conns {
		if c != nil {
			_ = c.ws.CloseNow()
		}
	}
	p.wg.Wait()
}

// Conn is one Socket.IO connection of a Pool. Safe for concurrent use.
type Conn struct {
	pool *Pool
	ws   *websocket.Conn

	writeMu sync.Mutex

	mu     sync.Mutex
	nextID int64
	acks   map[int64]chan []byte
	err    error // set when the reader stops
}

func (p *Pool) dial(ctx context.Context, client *http.Client, u string) (*Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		return nil, fmt.Errorf("loadclient: dial: %w", err)
	}
	ws.SetReadLimit(16 << 20)
	c := &Conn{pool: p, ws: ws, acks: make(map[int64]chan []byte)}
	if err := c.handshake(ctx); err != nil {
		_ = ws.CloseNow()
		return nil, err
	}
	p.wg.Go(c.read)
	return c, nil
}

// handshake reads the Engine.IO OPEN packet, sends the Socket.IO CONNECT of the main namespace and waits for
// the server's CONNECT.
func (c *Conn) handshake(ctx context.Context) error {
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return fmt.Errorf("loadclient: open: %w", err)
	}
	if len(b) == 0 || b[0] != '0' {
		return fmt.Errorf("%w: expected the OPEN packet, got %q", ErrProtocol, b)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
		return fmt.Errorf("loadclient: connect: %w", err)
	}
	for {
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			return fmt.Errorf("loadclient: connect: %w", err)
		}
		switch {
		case string(b) == "2": // a ping before the CONNECT reply
			if err := c.write(ctx, "3"); err != nil {
				return err
			}
		case strings.HasPrefix(string(b), "40"):
			return nil
		default:
			return fmt.Errorf("%w: expected CONNECT, got %q", ErrProtocol, b)
		}
	}
}

func (c *Conn) write(ctx context.Context, s string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return nil
}

// read handles the packets of the connection until it closes, reading each message into a reused buffer.
func (c *Conn) read() {
	buf := make([]byte, 0, 512)
	var err error
	for {
		var r io.Reader
		// No context: Pool.Close ends the read with CloseNow, and a cancelable context would cost a callback
		// registration per message.
		if _, r, err = c.ws.Reader(context.Background()); err != nil {
			break
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, rerr := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				err = rerr
				break
			}
		}
		if err != nil {
			break
		}
		if err = c.handle(buf); err != nil {
			break
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("%w: %w", ErrClosed, err)
	acks := c.acks
	c.acks = nil
	c.mu.Unlock()
	for _, ch := range acks {
		close(ch)
	}
	_ = c.ws.CloseNow()
}

func (c *Conn) handle(b []byte) error {
	switch {
	case len(b) == 1 && b[0] == '2': // ping
		return c.write(c.pool.ctx, "3")
	case len(b) >= 2 && b[0] == '4' && b[1] == '2': // EVENT
		if c.pool.opts.OnEvent != nil {
			c.pool.opts.OnEvent(c, b)
		}
		c.pool.events.Add(1)
	case len(b) >= 3 && b[0] == '4' && b[1] == '3': // ACK: 43<id>[...]
		i := 2
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		id, err := strconv.ParseInt(string(b[2:i]), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: bad ACK %q", ErrProtocol, b)
		}
		c.mu.Lock()
		ch := c.acks[id]
		delete(c.acks, id)
		c.mu.Unlock()
		if ch != nil {
			ch <- append([]byte(nil), b[i:]...)
		}
	case len(b) >= 2 && b[0] == '4' && b[1] == '1', len(b) >= 1 && b[0] == '1': // DISCONNECT, CLOSE
		return fmt.Errorf("%w: closed by the server (%q)", ErrClosed, b)
	}
	return nil
}

// Emit sends an event whose arguments are the JSON values args.
func (c *Conn) Emit(ctx context.Context, event string, args ...json.RawMessage) error {
	return c.write(ctx, "42"+payload(event, args))
}

// Call sends an event asking for an acknowledgement and returns the acknowledgement's JSON array, waiting until
// ctx ends.
func (c *Conn) Call(ctx context.Context, event string, args ...json.RawMessage) (json.RawMessage, error) {
	ch := make(chan []byte, 1)
	c.mu.Lock()
	if c.acks == nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	id := c.nextID
	c.nextID++
	c.acks[id] = ch
	c.mu.Unlock()
	if err := c.write(ctx, "42"+strconv.FormatInt(id, 10)+payload(event, args)); err != nil {
		return nil, err
	}
	select {
	case b, ok := <-ch:
		if !ok {
			return nil, ErrClosed
		}
		return b, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.acks, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("loadclient: acknowledgement of %q: %w", event, ctx.Err())
	}
}

func payload(event string, args []json.RawMessage) string {
	var sb strings.Builder
	name, _ := json.Marshal(event)
	sb.WriteByte('[')
	sb.Write(name)
	for _, a := range args {
		sb.WriteByte(',')
		sb.Write(a)
	}
	sb.WriteByte(']')
	return sb.String()
}
