//go:build linux

package netpoll

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// detachPair returns a detached loopback socket (its net.Conn closed) and the peer's end.
func detachPair(t *testing.T) (*FD, *net.TCPConn) {
	t.Helper()
	local, peer := tcpPair(t)
	fd, err := Detach(local)
	if err != nil {
		t.Fatal(err)
	}
	if err := local.Close(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fd.Close() })
	return fd, peer
}

// openFDs counts the process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestFDReadWriteAfterDetach(t *testing.T) {
	fd, peer := detachPair(t)
	if _, err := fd.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	_ = peer.SetReadDeadline(time.Now().Add(waitFor))
	n, err := io.ReadAtLeast(peer, buf, 5)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("peer read %q, %v", buf[:n], err)
	}
	// Read waits for data that is not there yet.
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = peer.Write([]byte("world"))
	}()
	n, err = fd.Read(buf)
	if err != nil || string(buf[:n]) != "world" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	// The peer's close is io.EOF.
	_ = peer.Close()
	if n, err = fd.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer's close: %d, %v; want 0, io.EOF", n, err)
	}
}

func TestFDPollerReportsDetached(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fd, peer := detachPair(t)
	ready := make(chan struct{}, 1)
	r, err := p.Add(fd, func() { ready <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Remove()
	_, _ = peer.Write([]byte("x"))
	select {
	case <-ready:
	case <-time.After(waitFor):
		t.Fatal("the poller did not report the detached socket")
	}
}

// A write to a full socket waits until the peer reads, then completes; bytes arrive whole and in order.
func TestFDWriteBuffersWaitsForRoom(t *testing.T) {
	fd, peer := detachPair(t)
	const size = 8 << 20 // well over the loopback socket buffers
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(100 * time.Millisecond) // let the writer fill the socket and wait
		_ = peer.SetReadDeadline(time.Now().Add(waitFor))
		_, _ = io.CopyN(&got, peer, size)
	})
	bufs := net.Buffers{data[:size/2], nil, data[size/2:]}
	n, err := fd.WriteBuffers(&bufs)
	wg.Wait()
	if err != nil || n != size || len(bufs) != 0 {
		t.Fatalf("WriteBuffers: %d, %v, %d buffers left; want %d, nil, 0", n, err, len(bufs), size)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("the peer got %d bytes, not the ones written", got.Len())
	}
}

func TestFDWriteDeadline(t *testing.T) {
	fd, _ := detachPair(t)
	_ = fd.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	start := time.Now()
	_, err := fd.Write(make([]byte, 16<<20)) // nobody reads
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d > waitFor {
		t.Fatalf("the deadline ended the write after %v", d)
	}
}

// Close wakes a waiting writer and a waiting reader, and closes the descriptor: nothing is left open.
func TestFDCloseWakesWaitersAndLeavesNothingOpen(t *testing.T) {
	before := openFDs(t)
	local, peer := tcpPair(t)
	fd, err := Detach(local)
	if err != nil {
		t.Fatal(err)
	}
	_ = local.Close()
	errs := make(chan error, 2)
	go func() {
		_, err := fd.Write(make([]byte, 16<<20))
		errs <- err
	}()
	go func() {
		_, err := fd.Read(make([]byte, 16))
		errs <- err
	}()
	time.Sleep(100 * time.Millisecond) // both wait
	if err := fd.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("waiting call woken by Close: %v, want net.ErrClosed", err)
			}
		case <-time.After(waitFor):
			t.Fatal("Close did not wake a waiting call")
		}
	}
	if err := fd.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
	if _, err := fd.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want net.ErrClosed", err)
	}
	// The peer sees the connection end: the last descriptor of the socket is closed.
	_ = peer.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.Copy(io.Discard, peer); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("peer: %v", err)
	}
	_ = peer.Close()
	if n := openFDs(t); n > before {
		t.Fatalf("%d descriptors open, %d before", n, before)
	}
}

// A descriptor in use by a call is closed when the call returns, not under it.
func TestFDCloseDuringControl(t *testing.T) {
	fd, _ := detachPair(t)
	rc, _ := fd.SyscallConn()
	var inside syscall.Stat_t
	err := rc.Control(func(s uintptr) {
		_ = fd.Close()
		if err := syscall.Fstat(int(s), &inside); err != nil {
			t.Errorf("descriptor closed under a call: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(uintptr) {}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Control after Close: %v, want net.ErrClosed", err)
	}
}
