package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

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
