//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// FD is a socket taken out of the net package (Detach): a bare descriptor, without the net package's descriptor,
// addresses or the runtime's poll state, which cost an idle connection over half a kilobyte. Its reads and writes
// are non-blocking system calls; a call that has to wait (Read, Write, WriteBuffers on a full or empty socket)
// waits on a duplicate of the descriptor joined to the runtime's poller for the time of the wait, so that only
// connections that wait pay for that state, and only while they wait.
//
// FD is safe for concurrent use. Close closes the descriptor once no call is using it (its number cannot be
// reused under a call), and wakes the calls that wait.
type FD struct {
	mu     sync.Mutex
	fd     int32
	users  uint16 // calls using fd (a reader, a writer, a poller's control: a handful at most)
	closed bool
	w      *fdWait // made by the first wait or write deadline: most sockets never have one
}

// fdWait is the state of an FD's waits.
type fdWait struct {
	deadline int64       // write deadline, Unix nanoseconds (0: none)
	waiting  [2]*os.File // the duplicates that a waiting reader [0] and writer [1] wait on
}

// waitLocked returns f.w, made on first use (under mu).
func (f *FD) waitLocked() *fdWait {
	if f.w == nil {
		f.w = new(fdWait)
	}
	return f.w
}

// Detach duplicates the descriptor of conn (non-blocking, close-on-exec) into an FD. conn stays open: the caller
// closes it, after which the FD alone holds the socket.
func Detach(conn syscall.Conn) (*FD, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, derr = dupNonblock(int(s)) }); err != nil {
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("netpoll: dup: %w", derr)
	}
	return &FD{fd: int32(fd)}, nil
}

// dupNonblock duplicates fd with close-on-exec; the duplicate shares fd's file status, non-blocking included.
func dupNonblock(fd int) (int, error) {
	for {
		nfd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(nfd), nil
	}
}

// acquire marks a call using the descriptor, which then stays open until release.
func (f *FD) acquire() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return -1, net.ErrClosed
	}
	f.users++
	return int(f.fd), nil
}

func (f *FD) release() {
	f.mu.Lock()
	f.users--
	if f.closed && f.users == 0 {
		_ = syscall.Close(int(f.fd))
	}
	f.mu.Unlock()
}

// SyscallConn returns the descriptor as a syscall.RawConn (for Poller.Add and TryWritev).
func (f *FD) SyscallConn() (syscall.RawConn, error) { return rawFD{f}, nil }

// rawFD is the syscall.RawConn of an FD. Its Read and Write wait (see FD) when fn returns false.
type rawFD struct{ f *FD }

func (r rawFD) Control(fn func(fd uintptr)) error {
	fd, err := r.f.acquire()
	if err != nil {
		return err
	}
	defer r.f.release()
	fn(uintptr(fd))
	return nil
}

func (r rawFD) Read(fn func(fd uintptr) bool) error  { return r.f.do(0, fn) }
func (r rawFD) Write(fn func(fd uintptr) bool) error { return r.f.do(1, fn) }

// do calls fn with the descriptor and, while fn returns false (it would block), waits for the socket to be
// readable (dir 0) or writable (dir 1) and calls it again, with the waiting duplicate's descriptor.
func (f *FD) do(dir int, fn func(fd uintptr) bool) error {
	fd, err := f.acquire()
	if err != nil {
		return err
	}
	done := fn(uintptr(fd))
	f.release()
	if done {
		return nil
	}
	w, err := f.waiter(dir)
	if err != nil {
		return err
	}
	defer f.endWait(dir, w)
	rc, err := w.SyscallConn()
	if err != nil {
		return fmt.Errorf("netpoll: %w", err)
	}
	if dir == 0 {
		err = rc.Read(fn)
	} else {
		err = rc.Write(fn)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return os.ErrDeadlineExceeded
	case f.isClosed():
		return net.ErrClosed // Close woke the wait
	}
	return fmt.Errorf("netpoll: %w", err)
}

func (f *FD) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// waiter returns a duplicate of the descriptor in the runtime's poller, with the write deadline for writes.
func (f *FD) waiter(dir int) (*os.File, error) {
	fd, err := f.acquire()
	if err != nil {
		return nil, err
	}
	nfd, err := dupNonblock(fd)
	f.release()
	if err != nil {
		return nil, fmt.Errorf("netpoll: dup: %w", err)
	}
	w := os.NewFile(uintptr(nfd), "socket") // non-blocking: it joins the runtime's poller
	f.mu.Lock()
	fw := f.waitLocked()
	if f.closed || fw.waiting[dir] != nil {
		closed := f.closed
		f.mu.Unlock()
		_ = w.Close()
		if closed {
			return nil, net.ErrClosed
		}
		return nil, errors.New("netpoll: concurrent waits in the same direction")
	}
	fw.waiting[dir] = w
	deadline := fw.deadline
	f.mu.Unlock()
	if dir == 1 && deadline != 0 {
		_ = w.SetWriteDeadline(time.Unix(0, deadline))
	}
	return w, nil
}

func (f *FD) endWait(dir int, w *os.File) {
	f.mu.Lock()
	if f.w.waiting[dir] == w {
		f.w.waiting[dir] = nil
	}
	f.mu.Unlock()
	_ = w.Close()
}

// TryRead reads into p without waiting: it returns ErrWouldBlock when the socket has nothing to read, and io.EOF
// when the peer has closed its end. (Unlike a read through SyscallConn, it allocates nothing.)
func (f *FD) TryRead(p []byte) (int, error) {
	fd, err := f.acquire()
	if err != nil {
		return 0, err
	}
	var n int
	for {
		n, err = syscall.Read(fd, p)
		if err != syscall.EINTR {
			break
		}
	}
	f.release()
	switch {
	case err == syscall.EAGAIN:
		return 0, ErrWouldBlock
	case err != nil:
		return 0, err
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// tryWritev is TryWritev on an FD, without a closure.
func (f *FD) tryWritev(iovs []syscall.Iovec) (int, error) {
	fd, err := f.acquire()
	if err != nil {
		return 0, err
	}
	var n uintptr
	var errno syscall.Errno
	for {
		n, _, errno = syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
		if errno != syscall.EINTR {
			break
		}
	}
	f.release()
	switch {
	case errno == syscall.EAGAIN:
		return 0, ErrWouldBlock
	case errno != 0:
		return 0, errno
	}
	return int(n), nil
}

// Read reads into p, waiting for data if there is none. It returns io.EOF when the peer has closed its end.
func (f *FD) Read(p []byte) (int, error) {
	var n int
	var rerr error
	err := f.do(0, func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr != syscall.EINTR {
				return rerr != syscall.EAGAIN
			}
		}
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, err
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p, waiting for room in the socket's buffer if needed, until the write deadline.
func (f *FD) Write(p []byte) (int, error) {
	bufs := net.Buffers{p}
	n, err := f.WriteBuffers(&bufs)
	return int(n), err
}

// WriteBuffers writes all of bufs (consuming them) with writev, waiting for room in the socket's buffer if
// needed, until the write deadline.
func (f *FD) WriteBuffers(bufs *net.Buffers) (int64, error) {
	var total int64
	var iovs []syscall.Iovec
	for {
		for len(*bufs) > 0 && len((*bufs)[0]) == 0 {
			*bufs = (*bufs)[1:]
		}
		if len(*bufs) == 0 {
			return total, nil
		}
		iovs = iovs[:0]
		for _, b := range *bufs {
			if len(iovs) == maxIovecs {
				break
			}
			if len(b) > 0 {
				v := syscall.Iovec{Base: &b[0]}
				v.SetLen(len(b))
				iovs = append(iovs, v)
			}
		}
		var n uintptr
		var errno syscall.Errno
		err := f.do(1, func(fd uintptr) bool {
			for {
				n, _, errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
				if errno != syscall.EINTR {
					return errno != syscall.EAGAIN
				}
			}
		})
		if err == nil && errno != 0 {
			err = errno
		}
		if err != nil {
			clear(iovs)
			return total, err
		}
		total += int64(n)
		for m := int(n); m > 0; {
			if m < len((*bufs)[0]) {
				(*bufs)[0] = (*bufs)[0][m:]
				break
			}
			m -= len((*bufs)[0])
			*bufs = (*bufs)[1:]
		}
	}
}

// SetWriteDeadline bounds the waits of later writes (the zero time: no bound).
func (f *FD) SetWriteDeadline(t time.Time) error {
	f.mu.Lock()
	if t.IsZero() {
		f.waitLocked().deadline = 0
	} else {
		f.waitLocked().deadline = t.UnixNano()
	}
	f.mu.Unlock()
	return nil
}

// CloseWrite shuts the sending side of the socket down (the peer reads EOF).
func (f *FD) CloseWrite() error {
	fd, err := f.acquire()
	if err != nil {
		return err
	}
	defer f.release()
	if err := syscall.Shutdown(fd, syscall.SHUT_WR); err != nil {
		return fmt.Errorf("netpoll: shutdown: %w", err)
	}
	return nil
}

// Close closes the descriptor once no call uses it, and wakes the calls that wait. A second Close returns
// net.ErrClosed.
func (f *FD) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return net.ErrClosed
	}
	f.closed = true
	var waiting [2]*os.File
	if f.w != nil {
		waiting, f.w.waiting = f.w.waiting, [2]*os.File{}
	}
	if f.users == 0 {
		_ = syscall.Close(int(f.fd))
	}
	f.mu.Unlock()
	for _, w := range waiting {
		if w != nil {
			_ = w.Close()
		}
	}
	return nil
}
