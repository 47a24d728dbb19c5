//go:build !unix

package faultproxy

import "syscall"

// rcvbuf sets nothing on systems without SO_RCVBUF through syscall: Config.ReadBuffer is ignored there.
func rcvbuf(int) func(network, address string, c syscall.RawConn) error { return nil }
