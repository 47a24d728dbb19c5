//go:build linux

package netpoll

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
)

const (
	// waitFor bounds the wait for something that must happen.
	waitFor = 5 * time.Second
	// quiet is how long nothing must happen for a test to conclude it does not. An event that the poller would
	// wrongly deliver comes within microseconds on loopback.
	quiet = 150 * time.Millisecond
)

// tcpPair returns both ends of a loopback TCP connection, closed at the end of the test.
func tcpPair(t *testing.T) (local, peer *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	p, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		p.Close()
		t.Fatal(r.err)
	}
	t.Cleanup(func() {
		p.Close()
		r.c.Close()
	})
	return r.c.(*net.TCPConn), p.(*net.TCPConn)
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// counter counts the calls of a ready callback and tells each one on a channel.
type counter struct {
	n  atomic.Int32
	ch chan struct{}
}

func newCounter() *counter { return &counter{ch: make(chan struct{}, 100)} }

func (c *counter) ready() {
	c.n.Add(1)
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// called waits for one more call.
func (c *counter) called(t *testing.T, what string) {
	t.Helper()
	select {
	case <-c.ch:
	case <-time.After(waitFor):
		t.Fatalf("%s: ready not called within %v (%d calls so far)", what, waitFor, c.n.Load())
	}
}

// notCalled checks that no call comes for a while.
func (c *counter) notCalled(t *testing.T, what string) {
	t.Helper()
	select {
	case <-c.ch:
		t.Fatalf("%s: ready called (%d calls so far)", what, c.n.Load())
	case <-time.After(quiet):
	}
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// readNow reads what c has without waiting long.
func readNow(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return string(buf)
}

func TestReadyInTurns(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	p := newPoller(t)
	local, peer := tcpPair(t)
	c := newCounter()
	reg, err := p.Add(local, c.ready)
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 1 {
		t.Fatalf("Len() = %d, want 1", p.Len())
	}
	c.notCalled(t, "nothing written yet")

	write(t, peer, "hello")
	c.called(t, "after the peer wrote")

	// One turn at a time: more data during the turn calls nothing, and makes Done say so.
	write(t, peer, " world")
	c.notCalled(t, "during the turn")
	time.Sleep(quiet) // the poller has seen the event
	if !reg.Done() {
		t.Fatal("Done() = false after data came during the turn")
	}
	c.notCalled(t, "the turn goes on")
	if got := readNow(t, local, 11); got != "hello world" {
		t.Fatalf("read %q", got)
	}
	if reg.Done() {
		t.Fatal("Done() = true with nothing new")
	}
	c.notCalled(t, "after the turn with nothing to read")
	if reg.Done() {
		t.Fatal("Done() = true outside a turn")
	}

	// Data is reported once per turn.
	write(t, peer, "!")
	c.called(t, "after the peer wrote again")
	if got := readNow(t, local, 1); got != "!" {
		t.Fatalf("read %q", got)
	}
	write(t, peer, "?")
	time.Sleep(quiet)
	// Resume, for an owner that does not read: the event of the turn calls ready again.
	if err := reg.Resume(); err != nil {
		t.Fatal(err)
	}
	c.called(t, "after Resume, with data that came during the turn")
	if got := readNow(t, local, 1); got != "?" {
		t.Fatalf("read %q", got)
	}
	if reg.Done() {
		t.Fatal("Done() = true with nothing new")
	}
	if err := reg.Resume(); err != nil { // outside a turn: nothing
		t.Fatal(err)
	}
	c.notCalled(t, "Resume outside a turn")

	// The peer closes: ready is called, and the read says EOF.
	peer.Close()
	c.called(t, "after the peer closed")
	_ = local.SetReadDeadline(time.Now().Add(waitFor))
	if n, err := local.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after the peer closed: %d, %v; want EOF", n, err)
	}
	if reg.Done() {
		t.Fatal("Done() = true after EOF with nothing new")
	}
	c.notCalled(t, "after EOF was read")
	if got := c.n.Load(); got != 4 {
		t.Fatalf("%d calls in all, want 4", got)
	}
}

// TestReadyOnHalfClose: the peer shutting down its writing side (no data) is reported too.
func TestReadyOnHalfClose(t *testing.T) {
	p := newPoller(t)
	local, peer := tcpPair(t)
	c := newCounter()
	if _, err := p.Add(local, c.ready); err != nil {
		t.Fatal(err)
	}
	c.notCalled(t, "before CloseWrite")
	if err := peer.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.called(t, "after the peer's CloseWrite")
}

// TestReadyOnReset: a connection reset by the peer is reported.
func TestReadyOnReset(t *testing.T) {
	p := newPoller(t)
	local, peer := tcpPair(t)
	c := newCounter()
	if _, err := p.Add(local, c.ready); err != nil {
		t.Fatal(err)
	}
	if err := peer.SetLinger(0); err != nil { // close sends RST
		t.Fatal(err)
	}
	peer.Close()
	c.called(t, "after the peer reset the connection")
}

func TestReadyDataAlreadyThere(t *testing.T) {
	p := newPoller(t)
	local, peer := tcpPair(t)
	write(t, peer, "before")
	// Wait until the data has arrived, by peeking at it with a non-blocking recv.
	rc, err := local.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitFor)
	for {
		var n int
		_ = rc.Control(func(fd uintptr) {
			n, _, _ = syscall.Recvfrom(int(fd), make([]byte, 16), syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		})
		if n == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("data did not arrive")
		}
		time.Sleep(time.Millisecond)
	}
	c := newCounter()
	if _, err := p.Add(local, c.ready); err != nil {
		t.Fatal(err)
	}
	c.called(t, "added with data already readable")
	c.notCalled(t, "a second time without Resume")
}

func TestRemove(t *testing.T) {
	p := newPoller(t)
	local, peer := tcpPair(t)
	local2, peer2 := tcpPair(t)
	c, c2 := newCounter(), newCounter()
	reg, err := p.Add(local, c.ready)
	if err != nil {
		t.Fatal(err)
	}
	reg2, err := p.Add(local2, c2.ready)
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 2 {
		t.Fatalf("Len() = %d, want 2", p.Len())
	}
	reg.Remove()
	if p.Len() != 1 {
		t.Fatalf("Len() after Remove = %d, want 1", p.Len())
	}
	write(t, peer, "x")
	write(t, peer2, "y")
	c2.called(t, "the registration left")
	c.notCalled(t, "after Remove")
	if err := reg.Resume(); err == nil {
		t.Errorf("Resume after Remove succeeded")
	}
	c.notCalled(t, "after Remove and Resume")

	// The connection can be registered again; only the new callback is called.
	c3 := newCounter()
	reg3, err := p.Add(local, c3.ready)
	if err != nil {
		t.Fatal(err)
	}
	c3.called(t, "registered again with data unread")
	c.notCalled(t, "old registration after a new one")

	// Removing a closed connection is fine, and forgets it.
	local2.Close()
	reg2.Remove()
	reg3.Remove()
	reg3.Remove() // twice: no harm
	if p.Len() != 0 {
		t.Fatalf("Len() = %d, want 0", p.Len())
	}
	_ = peer2
}

// TestRemoveRacingEvents: after Remove returns, ready is not called, even when events keep coming.
func TestRemoveRacingEvents(t *testing.T) {
	p := newPoller(t)
	const conns = 20
	var removed atomic.Bool
	var late atomic.Int32
	var regs []*Registration
	var peers []*net.TCPConn
	var mu sync.Mutex
	for range conns {
		local, peer := tcpPair(t)
		var reg *Registration
		r, err := p.Add(local, func() {
			if removed.Load() {
				late.Add(1)
			}
			mu.Lock()
			rr := reg
			mu.Unlock()
			if rr != nil {
				go func() { _, _ = local.Read(make([]byte, 1024)); _ = rr.Resume() }()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		reg = r
		mu.Unlock()
		regs = append(regs, r)
		peers = append(peers, peer)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, peer := range peers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := peer.Write([]byte("data")); err != nil {
					return
				}
				time.Sleep(100 * time.Microsecond)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	for _, r := range regs {
		r.Remove()
	}
	removed.Store(true)
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := late.Load(); n != 0 {
		t.Fatalf("ready called %d times after Remove returned", n)
	}
	if p.Len() != 0 {
		t.Fatalf("Len() = %d", p.Len())
	}
}

// TestManyConnections: one poller, many connections, each called once per write and Resume, and for the right
// connection.
func TestManyConnections(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	p := newPoller(t)
	const n = 300 // more than the 256 events of one epoll_wait
	locals := make([]*net.TCPConn, n)
	peers := make([]*net.TCPConn, n)
	regs := make([]*Registration, n)
	calls := make([]atomic.Int32, n)
	all := make(chan int, 4*n)
	var overflow atomic.Bool
	for i := range n {
		locals[i], peers[i] = tcpPair(t)
		reg, err := p.Add(locals[i], func() {
			calls[i].Add(1)
			select {
			case all <- i:
			default: // far too many calls: never block the poller, expect reports it
				overflow.Store(true)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		regs[i] = reg
	}
	if p.Len() != n {
		t.Fatalf("Len() = %d, want %d", p.Len(), n)
	}
	// expect waits until every connection has been reported once, then checks that nothing more comes.
	expect := func(what string) {
		t.Helper()
		seen := make(map[int]bool)
		timeout := time.After(waitFor)
		for len(seen) < n {
			select {
			case i := <-all:
				if seen[i] {
					t.Fatalf("%s: connection %d reported twice", what, i)
				}
				seen[i] = true
			case <-timeout:
				t.Fatalf("%s: %d of %d connections reported", what, len(seen), n)
			}
		}
		select {
		case i := <-all:
			t.Fatalf("%s: extra call for connection %d", what, i)
		case <-time.After(quiet):
		}
		if overflow.Load() {
			t.Fatalf("%s: more than %d calls", what, cap(all))
		}
	}
	resumeAll := func() {
		t.Helper()
		for _, r := range regs {
			if err := r.Resume(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for round := range 3 {
		for i, peer := range peers {
			write(t, peer, string(rune('a'+i%26)))
		}
		expect("after every peer wrote")
		for i, peer := range peers {
			write(t, peer, string(rune('A'+i%26)))
		}
		time.Sleep(quiet) // the poller has seen the second byte, during the turn
		resumeAll()       // so every connection is reported again, once
		expect("after Resume with data that came during the turn")
		for i, local := range locals {
			if got, want := readNow(t, local, 2), string(rune('a'+i%26))+string(rune('A'+i%26)); got != want {
				t.Fatalf("connection %d read %q, want %q", i, got, want)
			}
			if got := calls[i].Load(); got != int32(2*(round+1)) {
				t.Fatalf("connection %d: %d calls after round %d, want %d", i, got, round, 2*(round+1))
			}
		}
		resumeAll() // nothing came during the turn: nothing reported
		select {
		case i := <-all:
			t.Fatalf("connection %d reported with nothing to read", i)
		case <-time.After(quiet):
		}
	}
}

func TestAddClosedConn(t *testing.T) {
	p := newPoller(t)
	local, _ := tcpPair(t)
	local.Close()
	if reg, err := p.Add(local, func() {}); err == nil || reg != nil {
		t.Fatalf("Add of a closed connection = %v, %v; want an error", reg, err)
	}
	if p.Len() != 0 {
		t.Fatalf("Len() = %d after a failed Add, want 0", p.Len())
	}
}

// isPollerLoop reports whether a goroutine's stack is a poller's waiting goroutine. (One not yet started shows
// only the wrapper of the go statement, so its creator is what is matched.)
func isPollerLoop(_, stack string) bool {
	return strings.Contains(stack, "netpoll.(*Poller).loop") ||
		strings.Contains(stack, "created by github.com/sioredis/sioredis/engineio/internal/netpoll.New")
}

// pollerLoops counts the goroutines running a poller's loop.
func pollerLoops() int { return len(leakcheck.Wait(0, isPollerLoop)) }

func TestClose(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	// The pollers of earlier tests are closed, but their goroutines may still be on their way out.
	if left := leakcheck.Wait(waitFor, isPollerLoop); len(left) != 0 {
		t.Fatalf("%d poller goroutines before the test:\n%s", len(left), strings.Join(left, "\n\n"))
	}
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close() // when the test fails early
	if got := pollerLoops(); got != 1 {
		t.Fatalf("%d poller goroutines after New, want 1", got)
	}
	local, peer := tcpPair(t)
	c := newCounter()
	reg, err := p.Add(local, c.ready)
	if err != nil {
		t.Fatal(err)
	}
	// Close with a registration and nothing to report: the goroutine, parked, must stop.
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Close did not return")
	}
	left := leakcheck.Wait(waitFor, isPollerLoop)
	if len(left) != 0 {
		t.Fatalf("%d poller goroutines after Close:\n%s", len(left), strings.Join(left, "\n\n"))
	}
	if p.Len() != 0 {
		t.Fatalf("Len() after Close = %d, want 0", p.Len())
	}
	write(t, peer, "x")
	c.notCalled(t, "after Close")

	if _, err := p.Add(local, c.ready); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v, want ErrClosed", err)
	}
	if err := reg.Resume(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Resume after Close: %v, want ErrClosed", err)
	}
	reg.Remove() // no panic
	if err := p.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
}

// TestCloseWhileBusy closes a poller while events are being delivered.
func TestCloseWhileBusy(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var regs []*Registration
	stop := make(chan struct{})
	var writers sync.WaitGroup
	defer writers.Wait()
	defer close(stop)
	for range 10 {
		local, peer := tcpPair(t)
		var r *Registration
		var mu sync.Mutex
		rr, err := p.Add(local, func() {
			mu.Lock()
			rr := r
			mu.Unlock()
			if rr != nil {
				go func() { _ = rr.Resume() }() // the peer keeps writing: reported again and again
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		r = rr
		mu.Unlock()
		regs = append(regs, rr)
		writers.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
					if _, err := peer.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Close did not return")
	}
	for _, r := range regs {
		r.Remove()
	}
}

func TestCloseConcurrentAdd(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var conns []*net.TCPConn
	for range 20 {
		local, _ := tcpPair(t)
		conns = append(conns, local)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			r, err := p.Add(c, func() {})
			switch {
			case err == nil:
				r.Remove()
			case !errors.Is(err, ErrClosed):
				t.Errorf("Add racing Close: %v, want nil or ErrClosed", err)
			}
		})
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if p.Len() != 0 {
		t.Fatalf("Len() = %d", p.Len())
	}
}

// ---------------------------------------------------------------------------------------------------------------
// TryWritev.

func rawConn(t *testing.T, c *net.TCPConn) syscall.RawConn {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func TestTryWritevSmall(t *testing.T) {
	local, peer := tcpPair(t)
	rc := rawConn(t, local)
	tests := []struct {
		bufs []string
		want string
	}{
		{[]string{"hello"}, "hello"},
		{[]string{"hello", " ", "world"}, "hello world"},
		{[]string{"", "a", "", "", "bc", ""}, "abc"},
	}
	var iovs []syscall.Iovec
	for _, tt := range tests {
		var bufs [][]byte
		for _, s := range tt.bufs {
			bufs = append(bufs, []byte(s))
		}
		var n int
		var err error
		n, iovs, err = TryWritev(rc, bufs, iovs)
		if err != nil || n != len(tt.want) {
			t.Fatalf("TryWritev(%q) = %d, %v; want %d", tt.bufs, n, err, len(tt.want))
		}
		if got := readNow(t, peer, n); got != tt.want {
			t.Fatalf("peer read %q, want %q", got, tt.want)
		}
		for i, v := range iovs[:cap(iovs)] {
			if v.Base != nil || v.Len != 0 {
				t.Fatalf("iovs[%d] still points into the buffers", i)
			}
		}
	}
	// Nothing to write.
	for _, bufs := range [][][]byte{nil, {}, {nil, {}}} {
		n, _, err := TryWritev(rc, bufs, nil)
		if n != 0 || err != nil {
			t.Fatalf("TryWritev(%q) = %d, %v; want 0, nil", bufs, n, err)
		}
	}
}

// TestTryWritevManyBuffers: at most IOV_MAX buffers are written in one call.
func TestTryWritevManyBuffers(t *testing.T) {
	local, peer := tcpPair(t)
	rc := rawConn(t, local)
	var bufs [][]byte
	var want []byte
	for i := range 2000 {
		b := []byte{byte(i), byte(i >> 8)}
		bufs = append(bufs, b, nil)
		want = append(want, b...)
	}
	var got []byte
	var iovs []syscall.Iovec
	for len(bufs) > 0 {
		n, iv, err := TryWritev(rc, bufs, iovs)
		iovs = iv
		if err != nil {
			t.Fatal(err)
		}
		if n > 2*maxIovecs {
			t.Fatalf("wrote %d bytes in one call from more than %d buffers of 2 bytes", n, maxIovecs)
		}
		got = append(got, readNow(t, peer, n)...)
		bufs = consume(bufs, n)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("peer read other bytes than written")
	}
}

// consume drops the first n bytes of bufs.
func consume(bufs [][]byte, n int) [][]byte {
	for n > 0 {
		if len(bufs[0]) <= n {
			n -= len(bufs[0])
			bufs = bufs[1:]
			continue
		}
		bufs[0] = bufs[0][n:]
		n = 0
	}
	for len(bufs) > 0 && len(bufs[0]) == 0 {
		bufs = bufs[1:]
	}
	return bufs
}

// pattern returns n bytes that differ from their neighbours' at any small shift.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// TestTryWritevFull fills the socket while the peer does not read: TryWritev returns partial counts, then
// ErrWouldBlock without blocking; once the peer reads, writing resumes, and the peer gets exactly the bytes in
// order.
func TestTryWritevFull(t *testing.T) {
	local, peer := tcpPair(t)
	// Buffers bound what a peer that does not read lets through (they stay above the loopback MSS of 64 KiB:
	// below it, loopback TCP crawls).
	if err := local.SetWriteBuffer(256 << 10); err != nil {
		t.Fatal(err)
	}
	if err := peer.SetReadBuffer(256 << 10); err != nil {
		t.Fatal(err)
	}
	rc := rawConn(t, local)
	src := pattern(16 << 20)
	// Buffers of uneven sizes, so that partial writes end inside a buffer and across buffer boundaries.
	var bufs [][]byte
	for off, i := 0, 0; off < len(src); i++ {
		size := []int{1, 7, 100, 4096, 50000, 3, 65536}[i%7]
		size = min(size, len(src)-off)
		bufs = append(bufs, src[off:off+size])
		off += size
	}
	pending := bufs
	written, partial, wouldBlock := 0, 0, 0
	var iovs []syscall.Iovec
	// Phase 1: the peer does not read.
	for wouldBlock == 0 {
		total := 0
		for _, b := range pending[:min(len(pending), maxIovecs)] {
			total += len(b)
		}
		start := time.Now()
		n, iv, err := TryWritev(rc, pending, iovs)
		iovs = iv
		if d := time.Since(start); d > time.Second {
			t.Fatalf("TryWritev blocked for %v", d)
		}
		switch {
		case errors.Is(err, ErrWouldBlock):
			if n != 0 {
				t.Fatalf("ErrWouldBlock with %d bytes written", n)
			}
			wouldBlock++
		case err != nil:
			t.Fatal(err)
		case n <= 0 || n > total:
			t.Fatalf("TryWritev wrote %d bytes of %d", n, total)
		case n < total:
			partial++
		}
		written += n
		pending = consume(pending, n)
		if written >= len(src)/2 {
			t.Fatalf("wrote %d bytes to a peer that does not read, with no ErrWouldBlock", written)
		}
	}
	if partial == 0 {
		t.Errorf("no partial write before ErrWouldBlock (%d bytes written)", written)
	}
	// Still full: ErrWouldBlock again, at once.
	if n, _, err := TryWritev(rc, pending, iovs); n != 0 || !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryWritev on a full socket = %d, %v; want ErrWouldBlock", n, err)
	}
	t.Logf("phase 1: %d bytes written, %d partial writes", written, partial)

	// Phase 2: the peer reads everything; the writer goes on, polling, until all is written.
	received := make(chan []byte, 1)
	go func() {
		_ = peer.SetReadDeadline(time.Now().Add(30 * time.Second))
		b, _ := io.ReadAll(peer)
		received <- b
	}()
	deadline := time.Now().Add(30 * time.Second)
	for len(pending) > 0 {
		n, iv, err := TryWritev(rc, pending, iovs)
		iovs = iv
		switch {
		case errors.Is(err, ErrWouldBlock):
			if time.Now().After(deadline) {
				t.Fatalf("stuck after %d bytes", written)
			}
			time.Sleep(100 * time.Microsecond)
		case err != nil:
			t.Fatal(err)
		}
		written += n
		pending = consume(pending, n)
	}
	if written != len(src) {
		t.Fatalf("wrote %d bytes, want %d", written, len(src))
	}
	if err := local.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got := <-received
	if len(got) != len(src) {
		t.Fatalf("peer received %d bytes, want %d", len(got), len(src))
	}
	if !bytes.Equal(got, src) {
		i := 0
		for i < len(got) && got[i] == src[i] {
			i++
		}
		t.Fatalf("peer received other bytes than written, from offset %d", i)
	}
}

func TestTryWritevClosed(t *testing.T) {
	local, peer := tcpPair(t)
	rc := rawConn(t, local)
	local.Close()
	if n, _, err := TryWritev(rc, [][]byte{[]byte("x")}, nil); n != 0 || err == nil || errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryWritev on a closed connection = %d, %v; want an error", n, err)
	}

	// A peer that reset the connection: the write fails (EPIPE or ECONNRESET), it does not report ErrWouldBlock.
	local2, peer2 := tcpPair(t)
	_ = peer2.SetLinger(0)
	peer2.Close()
	rc2 := rawConn(t, local2)
	deadline := time.Now().Add(waitFor)
	for {
		_, _, err := TryWritev(rc2, [][]byte{[]byte("data")}, nil)
		if err != nil {
			if errors.Is(err, ErrWouldBlock) {
				t.Fatalf("ErrWouldBlock on a reset connection")
			}
			if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("TryWritev on a reset connection: %v, want EPIPE or ECONNRESET", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writes to a reset connection keep succeeding")
		}
		time.Sleep(time.Millisecond)
	}
	_ = peer
}
