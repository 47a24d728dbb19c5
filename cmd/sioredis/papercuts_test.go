package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestHelpOnce: -h prints the usage once, with status 0.
func TestHelpOnce(t *testing.T) {
	for _, cmd := range []string{"emit", "join", "leave", "disconnect", "server-emit", "serve", "chat", "monitor"} {
		t.Run(cmd, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), []string{cmd, "-h"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
				t.Fatalf("status %d", code)
			}
			out := stdout.String() + stderr.String()
			if n := strings.Count(out, "-timeout") + strings.Count(out, "-addr") + strings.Count(out, "-redis "); n == 0 || strings.Count(out, "\n  -h") > 0 {
				t.Fatalf("help %q", out)
			}
			first := strings.SplitN(out, "\n", 2)[0]
			if strings.Count(out, first+"\n") != 1 {
				t.Errorf("help printed more than once:\n%s", out)
			}
		})
	}
}

// TestUnknownFlag: an unknown flag is one line on stderr, nothing on stdout, status 2.
func TestUnknownFlag(t *testing.T) {
	for _, cmd := range []string{"emit", "join", "disconnect", "server-emit", "serve", "chat", "monitor"} {
		t.Run(cmd, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{cmd, "--no-such-flag"}, strings.NewReader(""), &stdout, &stderr)
			if code != 2 || stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "no-such-flag") {
				t.Errorf("status %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
}

// TestRedisWithoutScheme: --redis HOST:PORT, as redis-cli users type it, is accepted.
func TestRedisWithoutScheme(t *testing.T) {
	r := testenv.StartRedis(t)
	for _, args := range [][]string{
		{"emit", "--redis", r.Addr(), "ev", `"x"`},
		{"join", "--redis", r.Addr(), "room"},
	} {
		if code, stderr := cli(t, "", args...); code != 0 {
			t.Errorf("%v: status %d, %s", args, code, stderr)
		}
	}
}

// TestChatRedisURLFromEnv: chat takes $REDIS_URL when --redis is absent.
func TestChatRedisURLFromEnv(t *testing.T) {
	t.Setenv("REDIS_URL", "redis://127.0.0.1:1")
	_, stderr := runBriefly(t, "chat", "--addr", "127.0.0.1:0", "--db", t.TempDir()+"/c.db")
	if !strings.Contains(stderr, "redis://127.0.0.1:1") {
		t.Errorf("chat ignored $REDIS_URL: %q", stderr)
	}
}

// TestTimeoutSaysWhatFailed: a Redis that refuses connections, given --timeout, is reported as such (the dial's
// error), not as a bare "context deadline exceeded".
func TestTimeoutSaysWhatFailed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	code, stderr := cli(t, "", "emit", "--redis", addr, "--timeout", "300ms", "ev", `"x"`)
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "could not connect to Redis at "+addr) ||
		!strings.Contains(stderr, "connection refused") {
		t.Errorf("status %d, stderr %q", code, stderr)
	}
}

// TestHelpTableAligned: the synopses of the top-level help start in one column, counted in characters.
func TestHelpTableAligned(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, strings.NewReader(""), &stdout, io.Discard); code != 0 {
		t.Fatalf("status %d", code)
	}
	col := -1
	rows := 0
	table, _, _ := strings.Cut(stdout.String(), "\n\nTarget flags:")
	for _, line := range strings.Split(table, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "  -") {
			continue
		}
		i := strings.LastIndex(line+" ", "  "+fields[0]+" ") // the synopsis repeats the command's name
		if i <= 2 {
			continue
		}
		rows++
		c := utf8.RuneCountInString(line[:i])
		if col == -1 {
			col = c
		} else if c != col {
			t.Errorf("synopsis of %s at column %d, want %d:\n%s", fields[0], c, col, stdout.String())
		}
	}
	if rows < len(commands) {
		t.Errorf("%d rows found, want %d:\n%s", rows, len(commands), stdout.String())
	}
}

// TestHelpListsOnlyApplicableFlags: join, leave and disconnect send no event, so their help has no --volatile
// nor --compress (and they refuse them); emit keeps them; only disconnect has --close.
func TestHelpListsOnlyApplicableFlags(t *testing.T) {
	for _, tc := range []struct {
		cmd       string
		want, not []string
	}{
		{"join", []string{"-to", "-except"}, []string{"-volatile", "-compress", "-close", "-args-file"}},
		{"leave", []string{"-to"}, []string{"-volatile", "-compress", "-close"}},
		{"disconnect", []string{"-close", "-to"}, []string{"-volatile", "-compress", "-args-file"}},
		{"emit", []string{"-volatile", "-compress", "-args-file"}, []string{"-close"}},
	} {
		var stdout bytes.Buffer
		run(context.Background(), []string{tc.cmd, "-h"}, strings.NewReader(""), &stdout, io.Discard)
		for _, f := range tc.want {
			if !strings.Contains(stdout.String(), "  "+f+" ") && !strings.Contains(stdout.String(), "  "+f+"\n") {
				t.Errorf("%s -h lacks %s:\n%s", tc.cmd, f, stdout.String())
			}
		}
		for _, f := range tc.not {
			if strings.Contains(stdout.String(), "  "+f) {
				t.Errorf("%s -h lists %s, which does not apply:\n%s", tc.cmd, f, stdout.String())
			}
		}
	}
	if code, _ := cli(t, "", "join", "--volatile", "room"); code != 2 {
		t.Errorf("join --volatile: status %d, want 2", code)
	}
}

// TestChatErrorPrefixOnce: the chat's configuration errors are reported after one "sioredis chat:" prefix,
// without "chat: chat:" or "sioredis:" repeated.
func TestChatErrorPrefixOnce(t *testing.T) {
	for _, args := range [][]string{
		{"chat", "--addr", "127.0.0.1:0", "--db", t.TempDir() + "/c.db", "--event", "connect"},
		{"chat", "--addr", "127.0.0.1:0", "--db", t.TempDir() + "/missing/c.db"},
	} {
		code, stderr := cli(t, "", args...)
		if code == 0 || !strings.HasPrefix(stderr, "sioredis chat: ") || strings.Count(stderr, "chat:") != 1 || strings.Contains(stderr, "sioredis: ") {
			t.Errorf("%v: status %d, stderr %q", args, code, stderr)
		}
	}
}

// TestHelpOfEveryCommand: every command of the table has one help, in one style (usage line, what it does,
// examples, flags), printed on stdout with status 0 by "sioredis help COMMAND" and "sioredis COMMAND -h" alike.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			var help, stderr bytes.Buffer
			if code := run(context.Background(), []string{"help", c.name}, strings.NewReader(""), &help, &stderr); code != 0 || stderr.Len() != 0 {
				t.Fatalf("help %s: status %d, stderr %q", c.name, code, stderr.String())
			}
			out := help.String()
			if !strings.HasPrefix(out, "usage: sioredis "+c.name) || !strings.Contains(out, "\nExamples:\n  ") {
				t.Errorf("help %s:\n%s", c.name, out)
			}
			for _, e := range c.examples {
				if !strings.HasPrefix(e, "sioredis "+c.name) && !strings.Contains(e, "| sioredis "+c.name) && c.name != "api" {
					t.Errorf("example of %s runs another command: %s", c.name, e)
				}
			}
			if c.name == "help" {
				return
			}
			var dashH bytes.Buffer
			if code := run(context.Background(), []string{c.name, "-h"}, strings.NewReader(""), &dashH, &stderr); code != 0 || dashH.String() != out || stderr.Len() != 0 {
				t.Errorf("%s -h: status %d, differs from help %s: %t, stderr %q", c.name, code, c.name, dashH.String() != out, stderr.String())
			}
		})
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"help", "nope"}, strings.NewReader(""), &stdout, &stderr); code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), `unknown command "nope"`) {
		t.Errorf("help nope: status %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
