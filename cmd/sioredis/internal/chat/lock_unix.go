//go:build unix

package chat

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileLock is an exclusive flock(2) on the database file itself, held until unlock or the end of the process
// (the kernel drops it when the process dies, even by kill -9). A lock belongs to the file, not to its name: a
// second process opening the file by a symbolic or a hard link is refused too.
type fileLock struct{ f *os.File }

// lockFile creates the database file if it is missing (SQLite takes an empty file for an empty database) and
// locks it.
func lockFile(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if pid := flockHolder(f); pid > 0 {
			holder = fmt.Sprintf(" (pid %d)", pid)
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w%s; run one chat per SQLite file, or share a PostgreSQL database (--db postgres://…) between instances",
				ErrLocked, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// same checks that path still names the locked file.
func (l *fileLock) same(path string) error {
	locked, err := l.f.Stat()
	if err != nil {
		return err
	}
	now, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !os.SameFile(locked, now) {
		return errors.New("the file was replaced while it was being opened")
	}
	return nil
}

func (l *fileLock) unlock() {
	if l != nil && l.f != nil {
		_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		_ = l.f.Close()
		l.f = nil
	}
}
