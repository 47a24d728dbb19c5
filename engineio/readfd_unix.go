//go:build !windows

package engineio

import "syscall"

// readFD is read(2) on a socket's descriptor, for wsConn.tryRead.
func readFD(fd uintptr, buf []byte) (int, error) { return syscall.Read(int(fd), buf) }
