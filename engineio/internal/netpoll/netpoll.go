// Package netpoll tells when many connections become readable, with one goroutine for all of them, so that an
// idle connection needs no goroutine of its own (and no stack, no read buffer). On Linux it is an epoll instance
// of its own, itself waited on through the Go runtime's poller; elsewhere New returns ErrUnsupported and callers
// keep a reading goroutine per connection.
//
// A registration works in turns: its callback starts one, and is not called again until the owner ends it
// (Registration.Done once it has read all there was, which tells it to read again if more came meanwhile). That
// gives its owner one reader at a time without a lock, and no system call to re-arm the connection.
package netpoll

import "errors"

// ErrUnsupported is returned by New where there is no poller (not Linux).
var ErrUnsupported = errors.New("netpoll: not supported on this system")

// ErrClosed is returned by the methods of a closed Poller.
var ErrClosed = errors.New("netpoll: poller closed")

// ErrWouldBlock is returned by TryWritev when the socket's buffer is full.
var ErrWouldBlock = errors.New("netpoll: write would block")
