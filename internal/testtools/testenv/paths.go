package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// RepoRoot returns the repository's root, the directory holding the root module's go.mod and testpeers/, found
// by walking up from the working directory (which "go test" sets to the package directory); the nested modules
// (cmd/sioredis, ...) have a go.mod of their own below it.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("testenv: getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "testpeers")); err == nil {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("testenv: no go.mod with testpeers/ beside it above the working directory")
		}
		dir = parent
	}
}

// NodePeersDir returns RepoRoot/testpeers and fails if its Node dependencies are not installed.
func NodePeersDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(RepoRoot(tb), "testpeers")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io", "package.json")); err != nil {
		tb.Fatalf("testenv: %s/node_modules is missing or incomplete: run npm ci --prefix testpeers", dir)
	}
	return dir
}

// lookPath returns the absolute path of a required executable, failing with an install hint when it is missing.
func lookPath(tb testing.TB, name, hint string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("testenv: %s not found in PATH: %s", name, hint)
	}
	return p
}

func nodeBinary(tb testing.TB) string {
	tb.Helper()
	return lookPath(tb, "node", "install Node.js 20 or newer")
}

// runNodeTimeout bounds one RunNode call.
const runNodeTimeout = 5 * time.Minute

// RunNode runs "node script args..." in the testpeers directory and returns its standard output. The test fails,
// showing the script's standard error, if it exits with a non-zero status or runs longer than 5 minutes.
func RunNode(tb testing.TB, script string, args ...string) []byte {
	tb.Helper()
	dir := NodePeersDir(tb)
	ctx, cancel := context.WithTimeout(context.Background(), runNodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBinary(tb), append([]string{script}, args...)...)
	cmd.Dir = dir
	stderr := newTailBuffer(64 << 10)
	cmd.Stderr = stderr
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			err = fmt.Errorf("timed out after %v", runNodeTimeout)
		case errors.As(err, &exitErr):
			err = fmt.Errorf("exit status %d", exitErr.ExitCode())
		}
		tb.Fatalf("testenv: node %s %q: %v\nstderr:\n%s", script, args, err, stderr.String())
	}
	return out
}
