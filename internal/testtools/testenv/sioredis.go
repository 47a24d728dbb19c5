package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildMu    sync.Mutex
	buildPaths = map[string]string{} // dir:pkg → binary
)

// BuildBinary builds the main package pkg (a path relative to dir, such as "./cmd/sioredis") of the module in
// dir, relative to the repository root, once per test process, and returns the binary's path. The root module's
// packages ("." as dir) are built within go.work, so the nested modules it joins (cmd/sioredis) build too; a
// module outside go.work is built on its own (GOWORK=off). The binary is built without the race detector, as it
// is deployed, whatever the test's flags; it stays in a temporary directory until RemoveBinaries.
func BuildBinary(tb testing.TB, dir, pkg string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := dir + ":" + pkg
	if path, ok := buildPaths[key]; ok {
		return path
	}
	tmp, err := os.MkdirTemp("", "sioredis-bin-")
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tmp, filepath.Base(filepath.Join(dir, pkg)))
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", path, pkg)
	cmd.Dir = filepath.Join(RepoRoot(tb), dir)
	if dir != "." {
		cmd.Env = append(os.Environ(), "GOWORK=off")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(tmp)
		tb.Fatalf("testenv: go build %s in %s: %v\n%s", pkg, dir, err, out)
	}
	buildPaths[key] = path
	return path
}

// RemoveBinaries deletes the binaries BuildBinary built in this process; for TestMain, after m.Run.
func RemoveBinaries() {
	buildMu.Lock()
	defer buildMu.Unlock()
	for key, path := range buildPaths {
		_ = os.RemoveAll(filepath.Dir(path))
		delete(buildPaths, key)
	}
}

// SioredisBinary builds the sioredis command (cmd/sioredis) once per test process and returns its path.
func SioredisBinary(tb testing.TB) string {
	tb.Helper()
	return BuildBinary(tb, ".", "./cmd/sioredis")
}

// LogLine is one line the sioredis command wrote on its standard error (its log).
type LogLine struct {
	// At is when the harness read it.
	At time.Time
	// Text is the line, without its newline.
	Text string
}

// Sioredis is a running sioredis command (chat, serve, api...), started by [StartSioredis]. Its methods are safe
// for concurrent use.
type Sioredis struct {
	// URL is the "http://host:port" the command logged that it serves.
	URL string

	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and its log is read

	mu      sync.Mutex
	lines   []LogLine // the last maxLogLines lines
	dropped int       // lines dropped from the front of lines
	notify  chan struct{}
	waitErr error
}

// SioredisConfig configures [StartSioredis].
type SioredisConfig struct {
	// Args are the command line after the binary, for example {"chat", "--addr", "127.0.0.1:0", "--redis", url}.
	// The command must log the URL it serves (url=http://… in text, "url":"http://…" in JSON): chat, serve and
	// api do.
	Args []string
	// Env is added to the test's environment.
	Env []string
}

// maxLogLines bounds the log lines a Sioredis keeps.
const maxLogLines = 20000

var (
	logURLText = regexp.MustCompile(`url=(http://\S+)`)
	logURLJSON = regexp.MustCompile(`"url":"(http://[^"]+)"`)
)

// sioredisStartTimeout bounds the wait for the command to log its URL.
const sioredisStartTimeout = 30 * time.Second

// StartSioredis runs the sioredis command (built by SioredisBinary) and returns once it has logged the URL it
// serves; it fails the test, with the command's log, if that takes more than 30 s or the command exits first. At
// cleanup the command is interrupted (SIGINT, its graceful stop) and killed if it has not exited 10 s later.
func StartSioredis(tb testing.TB, cfg SioredisConfig) *Sioredis {
	tb.Helper()
	cmd := exec.Command(SioredisBinary(tb), cfg.Args...)
	cmd.Env = append(os.Environ(), cfg.Env...)
	s := &Sioredis{cmd: cmd, done: make(chan struct{}), notify: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testenv: start sioredis: %v", err)
	}
	read := make(chan struct{})
	go func() { // the log
		defer close(read)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.addLine(LogLine{At: time.Now(), Text: sc.Text()})
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		<-read
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(s.done)
		s.wake()
	}()
	tb.Cleanup(func() {
		_ = s.Terminate(os.Interrupt, 10*time.Second)
		if tb.Failed() {
			tb.Logf("testenv: sioredis %s log (end):\n%s", strings.Join(cfg.Args, " "), s.tail(60))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), sioredisStartTimeout)
	defer cancel()
	l, err := s.WaitLog(ctx, func(text string) bool { return logURLText.MatchString(text) || logURLJSON.MatchString(text) })
	if err != nil {
		tb.Fatalf("testenv: sioredis %s did not start: %v\n%s", strings.Join(cfg.Args, " "), err, s.tail(60))
	}
	if m := logURLText.FindStringSubmatch(l.Text); m != nil {
		s.URL = m[1]
	} else {
		s.URL = logURLJSON.FindStringSubmatch(l.Text)[1]
	}
	return s
}

func (s *Sioredis) addLine(l LogLine) {
	s.mu.Lock()
	s.lines = append(s.lines, l)
	if len(s.lines) > maxLogLines {
		n := len(s.lines) - maxLogLines
		s.lines = append(s.lines[:0], s.lines[n:]...)
		s.dropped += n
	}
	s.mu.Unlock()
	s.wake()
}

func (s *Sioredis) wake() {
	s.mu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

// Pid returns the process id.
func (s *Sioredis) Pid() int { return s.cmd.Process.Pid }

// Log returns a copy of the log lines kept so far (the last 20 000).
func (s *Sioredis) Log() []LogLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogLine(nil), s.lines...)
}

func (s *Sioredis) tail(n int) string {
	lines := s.Log()
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// WaitLog returns the first log line (since start, of those kept) that satisfies match, waiting for it until ctx
// ends or the process exits.
func (s *Sioredis) WaitLog(ctx context.Context, match func(text string) bool) (LogLine, error) {
	seen := 0 // lines of s.lines already looked at, counted from the start of the log
	for {
		s.mu.Lock()
		for i := max(seen-s.dropped, 0); i < len(s.lines); i++ {
			if match(s.lines[i].Text) {
				l := s.lines[i]
				s.mu.Unlock()
				return l, nil
			}
		}
		seen = s.dropped + len(s.lines)
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-s.done:
			s.mu.Lock()
			err := s.waitErr
			s.mu.Unlock()
			// the last lines were added before done was closed: look once more
			if l, ok := s.find(match); ok {
				return l, nil
			}
			return LogLine{}, fmt.Errorf("%w: sioredis (%v)", ErrExited, err)
		case <-ch:
		case <-ctx.Done():
			return LogLine{}, ctx.Err()
		}
	}
}

func (s *Sioredis) find(match func(string) bool) (LogLine, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		if match(l.Text) {
			return l, true
		}
	}
	return LogLine{}, false
}

// Signal sends sig to the process (syscall.SIGSTOP and SIGCONT pause and resume it).
func (s *Sioredis) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Kill ends the process with SIGKILL, as a crash or the out-of-memory killer would, and waits for it to exit.
func (s *Sioredis) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Terminate sends sig (SIGTERM or os.Interrupt: a graceful stop) and waits for the process to exit, killing it
// after timeout. It returns the process's exit error (nil for status 0), or an error saying it had to be killed.
// Terminating an exited process returns at once.
func (s *Sioredis) Terminate(sig os.Signal, timeout time.Duration) error {
	select {
	case <-s.done:
		return s.exitErr()
	default:
	}
	_ = s.cmd.Process.Signal(sig)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.done:
		return s.exitErr()
	case <-t.C:
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
		return fmt.Errorf("sioredis did not exit within %v of %v: killed", timeout, sig)
	}
}

func (s *Sioredis) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var exit *exec.ExitError
	if errors.As(s.waitErr, &exit) && !exit.Exited() {
		return fmt.Errorf("sioredis: %v", exit) // ended by a signal
	}
	return s.waitErr
}

// Exited reports whether the process has exited.
func (s *Sioredis) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
