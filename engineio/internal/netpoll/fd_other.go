//go:build !linux

package netpoll

import (
	"net"
	"syscall"
	"time"
)

// FD is not available on this system; Detach returns ErrUnsupported.
type FD struct{}

// Detach returns ErrUnsupported.
func Detach(conn syscall.Conn) (*FD, error) { return nil, ErrUnsupported }

// SyscallConn returns ErrUnsupported.
func (f *FD) SyscallConn() (syscall.RawConn, error) { return nil, ErrUnsupported }

// TryRead returns ErrUnsupported.
func (f *FD) TryRead(p []byte) (int, error) { return 0, ErrUnsupported }

// Read returns ErrUnsupported.
func (f *FD) Read(p []byte) (int, error) { return 0, ErrUnsupported }

// Write returns ErrUnsupported.
func (f *FD) Write(p []byte) (int, error) { return 0, ErrUnsupported }

// WriteBuffers returns ErrUnsupported.
func (f *FD) WriteBuffers(bufs *net.Buffers) (int64, error) { return 0, ErrUnsupported }

// SetWriteDeadline returns ErrUnsupported.
func (f *FD) SetWriteDeadline(t time.Time) error { return ErrUnsupported }

// CloseWrite returns ErrUnsupported.
func (f *FD) CloseWrite() error { return ErrUnsupported }

// Close returns ErrUnsupported.
func (f *FD) Close() error { return ErrUnsupported }
