package faultproxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
)

// echoServer accepts connections and echoes what it reads; received counts the bytes it read.
type echoServer struct {
	ln       net.Listener
	received atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln}
	e.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.conns = append(e.conns, c)
			e.mu.Unlock()
			e.wg.Go(func() {
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					e.received.Add(int64(n))
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						c.Close()
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		e.mu.Lock()
		for _, c := range e.conns {
			c.Close()
		}
		e.mu.Unlock()
		e.wg.Wait()
	})
	return e
}

func startProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := Listen(Config{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads it back within d, returning the error of the read.
func roundTrip(t *testing.T, c net.Conn, msg string, d time.Duration) error {
	t.Helper()
	if msg != "" {
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
	}
	return expect(c, msg, d)
}

func expect(c net.Conn, msg string, d time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return errors.New("got " + string(buf) + ", want " + msg)
	}
	return nil
}

func TestPass(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	e := startEcho(t)
	p := startProxy(t, e.ln.Addr().String())
	c := dial(t, p)
	if err := roundTrip(t, c, "hello", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if open, total := p.Conns(); open != 1 || total != 1 {
		t.Errorf("Conns() = %d open, %d total; want 1, 1", open, total)
	}
}

// TestPartition: nothing flows either way on an open connection or a new one, nothing is closed, and what was
// held flows once the partition heals.
func TestPartition(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	e := startEcho(t)
	p := startProxy(t, e.ln.Addr().String())
	old := dial(t, p)
	if err := roundTrip(t, old, "a", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	p.SetMode(Partition)
	before := e.received.Load()
	if err := roundTrip(t, old, "b", 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read during the partition: %v, want a timeout", err)
	}
	fresh := dial(t, p) // accepted by the kernel, not forwarded
	if _, err := fresh.Write([]byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := expect(fresh, "c", 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of a new connection during the partition: %v, want a timeout", err)
	}
	if got := e.received.Load(); got != before {
		t.Fatalf("the server received %d bytes during the partition", got-before)
	}
	p.SetMode(Pass)
	if err := expect(old, "b", 2*time.Second); err != nil {
		t.Fatalf("held bytes after the partition: %v", err)
	}
	if err := expect(fresh, "c", 2*time.Second); err != nil {
		t.Fatalf("held bytes of the new connection after the partition: %v", err)
	}
}

// TestStallDown: the client's bytes reach the server, the server's do not reach the client until Pass.
func TestStallDown(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	e := startEcho(t)
	p := startProxy(t, e.ln.Addr().String())
	c := dial(t, p)
	if err := roundTrip(t, c, "a", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	p.SetMode(StallDown)
	if err := roundTrip(t, c, "bc", 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read during the stall: %v, want a timeout", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for e.received.Load() != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the server received %d bytes, want 3: the client→server direction must flow", e.received.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.SetMode(Pass)
	if err := expect(c, "bc", 2*time.Second); err != nil {
		t.Fatalf("held bytes after the stall: %v", err)
	}
}

// TestReset: open connections are reset at once, new ones are reset as they come, and Pass lets new ones through.
func TestReset(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	e := startEcho(t)
	p := startProxy(t, e.ln.Addr().String())
	c := dial(t, p)
	if err := roundTrip(t, c, "a", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	p.SetMode(Reset)
	if err := expect(c, "x", 2*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after Reset: %v, want the connection closed", err)
	}
	// A connection made during Reset is reset as soon as it is accepted: its dial may already see the reset.
	if fresh, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second); err == nil {
		err = expect(fresh, "x", 2*time.Second)
		fresh.Close()
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read on a connection made during Reset: %v, want it closed", err)
		}
	}
	p.SetMode(Pass)
	if err := roundTrip(t, dial(t, p), "ok", 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestClose ends every connection, even one held by a partition, and every goroutine (leakcheck).
func TestClose(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	e := startEcho(t)
	p, err := Listen(Config{Target: e.ln.Addr().String(), ReadBuffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	if err := roundTrip(t, c, "a", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	p.SetMode(Partition)
	held := dial(t, p)
	if _, err := held.Write([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, conn := range []net.Conn{c, held} {
		if err := expect(conn, "x", 2*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after Close: %v, want the connection closed", err)
		}
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("the proxy still listens after Close")
	}
}
