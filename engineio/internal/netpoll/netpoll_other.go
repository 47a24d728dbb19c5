//go:build !linux

package netpoll

import "syscall"

// Poller is not available on this system; New returns ErrUnsupported.
type Poller struct{}

// Registration is not available on this system.
type Registration struct{}

// New returns ErrUnsupported.
func New() (*Poller, error) { return nil, ErrUnsupported }

// Add returns ErrUnsupported.
func (p *Poller) Add(conn syscall.Conn, ready func()) (*Registration, error) {
	return nil, ErrUnsupported
}

// Done returns false.
func (r *Registration) Done() bool { return false }

// Resume returns ErrUnsupported.
func (r *Registration) Resume() error { return ErrUnsupported }

// Remove does nothing.
func (r *Registration) Remove() {}

// Len returns 0.
func (p *Poller) Len() int { return 0 }

// Close does nothing.
func (p *Poller) Close() error { return nil }

// Iovec stands for the vectors of TryWritev, which this system does not have (Windows has no syscall.Iovec).
type Iovec struct{}

// TryWritev returns ErrUnsupported.
func TryWritev(rc syscall.RawConn, bufs [][]byte, iovs []Iovec) (int, []Iovec, error) {
	return 0, iovs, ErrUnsupported
}
