// Package netpoll tells when many connections become readable, with one goroutine for all of them, so that an
// idle connection needs no goroutine of its own (and no stack, no read buffer). On Linux it is an epoll instance
// of its own, itself waited on through the Go runtime's poller; elsewhere New returns ErrUnsupported and callers
// keep a reading goroutine per connection.
//
// A registration is one-shot: after its callback has run, the connection is not watched again until Resume.
// That gives its owner one reader at a time without a lock.
package netpoll

import "errors"

// ErrUnsupported is returned by New where there is no poller (not Linux).
var ErrUnsupported = errors.New("netpoll: not supported on this system")

// ErrClosed is returned by the methods of a closed Poller.
var ErrClosed = errors.New("netpoll: poller closed")

// ErrWouldBlock is returned by TryWritev when the socket's buffer is full.
var ErrWouldBlock = errors.New("netpoll: write would block")
