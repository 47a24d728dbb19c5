//go:build unix

package faultproxy

import "syscall"

// rcvbuf returns a net.Dialer/net.ListenConfig Control function that sets SO_RCVBUF to n before the connection is
// made: the window the kernel advertises is then small from the start. (Shrinking the buffer of an established
// connection makes the kernel drop segments already in flight, which TCP then retransmits with growing delays.)
func rcvbuf(n int) func(network, address string, c syscall.RawConn) error {
	if n <= 0 {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n) })
		if err != nil {
			return err
		}
		return serr
	}
}
