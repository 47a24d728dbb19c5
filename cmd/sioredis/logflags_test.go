package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

// runBriefly runs a serving command until it has logged for a moment, and returns its standard error.
func runBriefly(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), io.Discard, &stderr)
	return code, stderr.String()
}

func TestLogFlags(t *testing.T) {
	db := t.TempDir() + "/c.db"
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		check func(t *testing.T, stderr string)
	}{
		{"serve json", []string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, 0, func(t *testing.T, s string) {
			var line struct{ Level, Msg, URL string }
			if err := json.Unmarshal([]byte(strings.SplitN(s, "\n", 2)[0]), &line); err != nil || line.Msg != "serving the live page" || line.URL == "" {
				t.Errorf("first line %q: %+v %v", s, line, err)
			}
		}},
		{"chat json", []string{"chat", "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json"}, 0, func(t *testing.T, s string) {
			if !strings.HasPrefix(s, `{"time":`) || !strings.Contains(s, `"msg":"serving the chat"`) {
				t.Errorf("stderr %q", s)
			}
		}},
		{"serve warn", []string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, 0, func(t *testing.T, s string) {
			if s != "" {
				t.Errorf("info logged at --log-level warn: %q", s)
			}
		}},
		{"bad format", []string{"serve", "--log-format", "xml"}, 2, func(t *testing.T, s string) {
			if strings.Count(s, "\n") != 1 || !strings.Contains(s, "--log-format") {
				t.Errorf("stderr %q", s)
			}
		}},
		{"bad level", []string{"chat", "--log-level", "loud"}, 2, func(t *testing.T, s string) {
			if strings.Count(s, "\n") != 1 || !strings.Contains(s, "--log-level") {
				t.Errorf("stderr %q", s)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := runBriefly(t, tc.args...)
			if code != tc.code {
				t.Fatalf("status %d, want %d; stderr %q", code, tc.code, stderr)
			}
			tc.check(t, stderr)
		})
	}
}
