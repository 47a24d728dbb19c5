//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Poller watches connections for readability. It is safe for concurrent use.
type Poller struct {
	file *os.File // the epoll instance, registered in the runtime's poller
	rc   syscall.RawConn
	done chan struct{} // closed when the waiting goroutine exits

	mu     sync.Mutex
	regs   map[uint64]*Registration
	nextID uint64
	closed bool
}

// Registration is one watched connection. Its methods are safe for concurrent use.
//
// The kernel reports the connection edge-triggered (each arrival of data, the peer's close or an error), so that
// a turn costs no epoll_ctl; the one-shot behaviour is kept here, in state.
type Registration struct {
	p     *Poller
	id    uint64
	rc    syscall.RawConn
	ready func()
	state atomic.Uint32 // idle, turn or turnAgain
}

// The states of a Registration.
const (
	idle      = iota // watched: the next event calls ready
	turn             // ready was called, Done not yet
	turnAgain        // ... and an event came since
)

// New starts a poller: one goroutine, which Close stops.
func New() (*Poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	// A non-blocking descriptor given to os.NewFile joins the runtime's poller: the waiting goroutine parks there
	// until the epoll instance has events, instead of holding a thread in epoll_wait.
	f := os.NewFile(uintptr(fd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	p := &Poller{file: f, rc: rc, done: make(chan struct{}), regs: make(map[uint64]*Registration)}
	go p.loop()
	return p, nil
}

// Add watches conn, which must not be used for reading by anyone else, and calls ready once conn has data to
// read, has been closed by the peer or has failed. That starts a turn: ready is not called again until the turn
// ends (Done or Resume). ready runs on the poller's goroutine, holding its lock (or on the goroutine of a Resume
// that goes on with the turn): it must not block, and must not call the methods of the Poller or of a
// Registration (they would deadlock); it typically starts a goroutine.
func (p *Poller) Add(conn syscall.Conn, ready func()) (*Registration, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.nextID++
	r := &Registration{p: p, id: p.nextID, rc: rc, ready: ready}
	// A connection that is readable already is reported by the ADD below: its first event starts a turn.
	p.regs[r.id] = r
	p.mu.Unlock()
	if err := r.ctl(syscall.EPOLL_CTL_ADD); err != nil {
		p.forget(r.id)
		return nil, err
	}
	return r, nil
}

// events: readable, the peer's close, edge-triggered (EPOLLET, which package syscall gives as a negative int).
const events = syscall.EPOLLIN | syscall.EPOLLRDHUP | 1<<31

// ctl runs epoll_ctl on the connection's descriptor, which cannot be closed (and its number reused) meanwhile.
func (r *Registration) ctl(op int) error {
	var cerr error
	err := r.rc.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: events, Fd: int32(r.id), Pad: int32(r.id >> 32)}
		cerr = r.p.ctl(op, int(fd), &ev)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("netpoll: epoll_ctl: %w", err)
	}
	return nil
}

// Done ends the turn that ready started, once the caller has read all the connection had (until EAGAIN, or a
// read shorter than its buffer). It reports whether the connection was reported again meanwhile (new data, the
// peer's close): the turn then goes on, and the caller reads again and calls Done again. Otherwise the connection
// is watched again and ready is called at its next event.
func (r *Registration) Done() bool {
	for {
		switch s := r.state.Load(); s {
		case turnAgain:
			if r.state.CompareAndSwap(s, turn) {
				return true
			}
		case turn:
			if r.state.CompareAndSwap(s, idle) {
				return false
			}
		default:
			return false // no turn
		}
	}
}

// Resume ends the turn, if there is one, for a caller that will not read: if the connection was reported during
// the turn, ready is called again (on the caller's goroutine). It returns ErrClosed once the poller is closed or
// the connection removed.
func (r *Registration) Resume() error {
	r.p.mu.Lock()
	live := !r.p.closed && r.p.regs[r.id] == r
	r.p.mu.Unlock()
	if !live {
		return ErrClosed
	}
	if r.Done() {
		r.ready()
	}
	return nil
}

// event starts a turn, or marks the one under way to go on (on the poller's goroutine, under its lock).
func (r *Registration) event() {
	for {
		switch s := r.state.Load(); s {
		case idle:
			if r.state.CompareAndSwap(s, turn) {
				r.ready()
				return
			}
		case turn:
			if r.state.CompareAndSwap(s, turnAgain) {
				return
			}
		default:
			return
		}
	}
}

// Remove stops watching the connection; ready is not called after Remove returns, except by a call already
// started. Removing a closed connection is fine (the kernel forgot it when it was closed).
func (r *Registration) Remove() {
	r.p.forget(r.id)
	_ = r.rc.Control(func(fd uintptr) {
		_ = r.p.ctl(syscall.EPOLL_CTL_DEL, int(fd), &syscall.EpollEvent{})
	})
}

func (p *Poller) forget(id uint64) {
	p.mu.Lock()
	delete(p.regs, id)
	p.mu.Unlock()
}

// ctl runs epoll_ctl on the poller's instance, which cannot be closed meanwhile. (os.File.Fd would make the
// instance blocking, so its descriptor is only used through the raw connection.)
func (p *Poller) ctl(op, fd int, ev *syscall.EpollEvent) error {
	var cerr error
	if err := p.rc.Control(func(epfd uintptr) { cerr = syscall.EpollCtl(int(epfd), op, fd, ev) }); err != nil {
		return ErrClosed
	}
	return cerr
}

// Len returns the number of registrations.
func (p *Poller) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.regs)
}

func (p *Poller) loop() {
	defer close(p.done)
	evs := make([]syscall.EpollEvent, 256)
	for {
		var n int
		var werr error
		err := p.rc.Read(func(fd uintptr) bool {
			n, werr = syscall.EpollWait(int(fd), evs, 0)
			if werr == syscall.EINTR {
				n, werr = 0, nil
			}
			return n > 0 || werr != nil // nothing yet: park until the instance is readable
		})
		if err != nil || werr != nil {
			return // closed
		}
		p.mu.Lock()
		for _, ev := range evs[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if r := p.regs[id]; r != nil {
				r.event()
			}
		}
		p.mu.Unlock()
	}
}

// Close stops the poller and waits for its goroutine. Registrations are dropped without calling them.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.closed = true
	clear(p.regs)
	p.mu.Unlock()
	err := p.file.Close()
	<-p.done
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("netpoll: %w", err)
	}
	return nil
}

// maxIovecs is IOV_MAX on Linux.
const maxIovecs = 1024

// Iovec is one vector of TryWritev's scratch space.
type Iovec = syscall.Iovec

// TryWritev writes bufs to the connection with writev, without blocking: it returns the number of bytes the
// kernel took, which is less than their total when the socket's send buffer filled up or when there are more than
// 1024 (IOV_MAX) buffers, and ErrWouldBlock when it took nothing: callers loop until ErrWouldBlock or done. iovs is scratch space (it may be nil); the grown slice is returned for reuse.
func TryWritev(rc syscall.RawConn, bufs [][]byte, iovs []Iovec) (int, []Iovec, error) {
	iovs = iovs[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(iovs) == maxIovecs {
			break
		}
		v := syscall.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		iovs = append(iovs, v)
	}
	if len(iovs) == 0 {
		return 0, iovs, nil
	}
	if r, ok := rc.(rawFD); ok {
		n, err := r.f.tryWritev(iovs)
		clear(iovs) // drop the pointers into bufs
		return n, iovs, err
	}
	var n uintptr
	var errno syscall.Errno
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, _, errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
			if errno != syscall.EINTR {
				return true
			}
		}
	})
	clear(iovs) // drop the pointers into bufs
	switch {
	case err != nil:
		return 0, iovs, err
	case errno == syscall.EAGAIN:
		return 0, iovs, ErrWouldBlock
	case errno != 0:
		return 0, iovs, errno
	}
	return int(n), iovs, nil
}
