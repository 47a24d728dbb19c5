package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Line is one JSON line printed by a Node peer on its standard output.
type Line struct {
	// Type is the "type" field ("ready", "connection", "serverSideEmit", "event", ...); "text" for a line that is
	// not a JSON object.
	Type string
	// Fields is the whole line decoded with encoding/json (numbers are float64).
	Fields map[string]any
	// Raw is the line as printed.
	Raw json.RawMessage
	// At is when the harness read the line from the peer's standard output (a pipe: within about a millisecond of
	// its printing), for tests that time deliveries.
	At time.Time
}

// Get returns the named field when it is a JSON string, and "" otherwise.
func (l Line) Get(key string) string {
	s, _ := l.Fields[key].(string)
	return s
}

// Decode unmarshals the whole line into v.
func (l Line) Decode(v any) error { return json.Unmarshal(l.Raw, v) }

func parseLine(b []byte, at time.Time) Line {
	raw := json.RawMessage(append([]byte(nil), b...))
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Line{Type: "text", Raw: raw, At: at}
	}
	t, _ := fields["type"].(string)
	return Line{Type: t, Fields: fields, Raw: raw, At: at}
}

// LineType matches lines of the given type.
func LineType(typ string) func(Line) bool {
	return func(l Line) bool { return l.Type == typ }
}

// ErrExited is wrapped by the errors of waits that can no longer succeed because the peer process has exited.
var ErrExited = errors.New("testenv: peer process exited")

// peerProcess runs a Node peer that speaks JSON lines on stdin and stdout, and records every stdout line.
type peerProcess struct {
	tb    testing.TB
	label string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	stderr *tailBuffer
	done   chan struct{} // closed once the process has exited and its output is drained

	mu      sync.Mutex
	lines   []Line
	notify  chan struct{} // closed (and replaced) whenever lines grow or the process exits
	exited  bool
	waitErr error
	partial []byte

	writeMu  sync.Mutex
	seq      atomic.Int64
	stopOnce sync.Once
}

func startPeer(tb testing.TB, label string, args ...string) *peerProcess {
	tb.Helper()
	dir := NodePeersDir(tb)
	p := &peerProcess{
		tb:     tb,
		label:  label,
		stderr: newTailBuffer(64 << 10),
		done:   make(chan struct{}),
		notify: make(chan struct{}),
	}
	p.cmd = exec.Command(nodeBinary(tb), args...)
	p.cmd.Dir = dir
	p.cmd.Stdout = (*lineWriter)(p)
	p.cmd.Stderr = p.stderr
	p.cmd.WaitDelay = 2 * time.Second
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("testenv: %s: %v", label, err)
	}
	p.stdin = stdin
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("testenv: start %s: %v", label, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.mu.Lock()
		p.exited, p.waitErr = true, err
		p.wakeLocked()
		p.mu.Unlock()
		close(p.done)
	}()
	tb.Cleanup(p.stop)
	return p
}

// lineWriter receives the peer's stdout (os/exec copies it from one goroutine, finished before Wait returns).
type lineWriter peerProcess

func (w *lineWriter) Write(b []byte) (int, error) {
	p := (*peerProcess)(w)
	p.mu.Lock()
	defer p.mu.Unlock()
	data := append(p.partial, b...)
	grew := false
	now := time.Now()
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if line := bytes.TrimSpace(data[:i]); len(line) > 0 {
			p.lines = append(p.lines, parseLine(line, now))
			grew = true
		}
		data = data[i+1:]
	}
	p.partial = append([]byte(nil), data...)
	if grew {
		p.wakeLocked()
	}
	return len(b), nil
}

func (p *peerProcess) wakeLocked() {
	close(p.notify)
	p.notify = make(chan struct{})
}

// snapshot returns a copy of the lines printed so far.
func (p *peerProcess) snapshot() []Line {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Line(nil), p.lines...)
}

// waitLines waits until n lines satisfy match (counting from the first line ever printed) and returns the first n.
// If abort is not nil and returns an error for a line printed before the n-th match, the wait ends with that error.
func (p *peerProcess) waitLines(ctx context.Context, n int, match func(Line) bool, abort func(Line) error) ([]Line, error) {
	var found []Line
	scanned := 0
	for {
		p.mu.Lock()
		for ; scanned < len(p.lines); scanned++ {
			l := p.lines[scanned]
			if match(l) {
				found = append(found, l)
				if len(found) == n {
					p.mu.Unlock()
					return found, nil
				}
			} else if abort != nil {
				if err := abort(l); err != nil {
					p.mu.Unlock()
					return found, fmt.Errorf("testenv: %s: %d of %d matching lines: %w", p.label, len(found), n, err)
				}
			}
		}
		exited, waitErr, ch := p.exited, p.waitErr, p.notify
		p.mu.Unlock()
		if exited {
			return found, fmt.Errorf("%w: %s (%v) after %d of %d matching lines; stderr:\n%s",
				ErrExited, p.label, waitErr, len(found), n, p.stderr.String())
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return found, fmt.Errorf("testenv: %s: %d of %d matching lines: %w", p.label, len(found), n, ctx.Err())
		}
	}
}

// send writes one JSON line on the peer's stdin.
func (p *peerProcess) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	_, err = p.stdin.Write(append(b, '\n'))
	return err
}

// request sends a command with a fresh "seq" and waits for the reply line echoing it.
func (p *peerProcess) request(ctx context.Context, cmd map[string]any) (Line, error) {
	seq := p.seq.Add(1)
	cmd["seq"] = seq
	if err := p.send(cmd); err != nil {
		return Line{}, fmt.Errorf("testenv: %s: send %v: %w", p.label, cmd["cmd"], err)
	}
	lines, err := p.waitLines(ctx, 1, func(l Line) bool {
		s, ok := l.Fields["seq"].(float64)
		return ok && int64(s) == seq // only replies carry "seq"
	}, nil)
	if err != nil {
		return Line{}, err
	}
	if msg := lines[0].Get("error"); msg != "" {
		return lines[0], fmt.Errorf("testenv: %s: %v: %s", p.label, cmd["cmd"], msg)
	}
	return lines[0], nil
}

// stop closes stdin (the peer then shuts down cleanly), sends SIGTERM after 5 s and SIGKILL 3 s later, and waits
// until the process and the goroutines reading it are gone. On a failed test it logs the peer's stderr.
func (p *peerProcess) stop() {
	p.stopOnce.Do(func() {
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(3 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if p.tb.Failed() {
			if s := strings.TrimSpace(p.stderr.String()); s != "" {
				p.tb.Logf("testenv: %s stderr:\n%s", p.label, s)
			}
		}
	})
}

// exitedErr reports whether the process has exited, with its wait error.
func (p *peerProcess) exitedErr() (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited, p.waitErr
}
