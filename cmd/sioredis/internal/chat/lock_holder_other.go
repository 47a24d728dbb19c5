//go:build unix && !linux

package chat

import "os"

// flockHolder returns 0: only Linux says who holds a flock (/proc/locks).
func flockHolder(f *os.File) int { return 0 }
