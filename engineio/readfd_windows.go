package engineio

import "errors"

// readFD is not used on Windows, which has no netpoll: each WebSocket there has a goroutine reading it.
func readFD(fd uintptr, buf []byte) (int, error) {
	return 0, errors.ErrUnsupported
}
