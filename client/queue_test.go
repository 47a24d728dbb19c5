package client

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/socketio"
)

// stallingProxy forwards TCP connections to target until stall is called; from then on it reads nothing more
// from the client, as a network path that stopped moving data (the kernel's buffers fill, then the client's
// writes block).
type stallingProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	stop   chan struct{}
	wg     sync.WaitGroup
}

func startStallingProxy(t *testing.T, target string) *stallingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallingProxy{ln: ln, target: target, stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); p.pipe(up, c) }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, up) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// pipe copies client → server until the proxy stalls, then only waits for the end.
func (p *stallingProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		select {
		case <-p.stop:
			<-make(chan struct{}) // never reads again; ended by closing the connections
		default:
		}
		_ = src.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
			return
		}
		select {
		case <-p.stop:
			return
		default:
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (p *stallingProxy) stall() { close(p.stop) }

// TestQueueBoundedWhileConnected: when the network stops moving data, a connected client's emits wait in a
// queue bounded by Options.MaxQueuedPackets; past it Emit returns ErrBufferFull instead of growing the memory,
// and volatile emits are dropped.
func TestQueueBoundedWhileConnected(t *testing.T) {
	t.Parallel()
	g := startGoServer(t, socketio.Config{}, echoServer)
	p := startStallingProxy(t, strings.TrimPrefix(g.URL(), "http://"))
	s := dial(t, "http://"+p.ln.Addr().String(), Options{Transports: []Transport{WebSocket}, NoReconnection: true, MaxQueuedPackets: 8}, nil)
	p.stall()
	big := strings.Repeat("x", 256<<10) // the kernel's buffers hold a few of them, then the writer blocks
	var full error
	sent := 0
	for range 200 {
		if full = s.Emit("echo", msg{Text: big}); full != nil {
			break
		}
		sent++
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(full, ErrBufferFull) {
		t.Fatalf("200 emits of 256 KiB into a stalled network all accepted (err %v): the queue is not bounded", full)
	}
	t.Logf("ErrBufferFull after %d emits", sent)
	if err := s.Volatile().Emit("echo", msg{Text: "v"}); err != nil {
		t.Fatalf("volatile emit while the writer is behind: %v, want nil (dropped)", err)
	}
	s.m.mu.Lock()
	e := s.m.eng
	s.m.mu.Unlock()
	e.mu.Lock()
	queued := 0
	for _, p := range e.queue {
		if p.typ == '4' { // pongs are not counted (the server pings every 300 ms): only messages, here all emits
			queued++
		}
	}
	e.mu.Unlock()
	if queued > 8 {
		t.Errorf("%d messages queued, want at most MaxQueuedPackets (8)", queued)
	}
}
