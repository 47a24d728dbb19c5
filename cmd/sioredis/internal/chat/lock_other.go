//go:build !unix

package chat

// fileLock does nothing on systems without flock(2): a second process on the same file is not detected there.
type fileLock struct{}

func lockFile(path string) (*fileLock, error) { return &fileLock{}, nil }

func (l *fileLock) same(path string) error { return nil }

func (l *fileLock) unlock() {}
