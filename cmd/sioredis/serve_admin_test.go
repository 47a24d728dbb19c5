package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// serve --admin: the admin namespace answers (here without authentication) and the UI's files are served at
// /admin/ from --admin-ui.
func TestServeAdmin(t *testing.T) {
	uiDir := filepath.Join(testenv.NodePeersDir(t), "node_modules", "@socket.io", "admin-ui", "ui", "dist")
	url, _ := startServing(t, "serve", "--addr", "127.0.0.1:0", "--admin", "--admin-no-auth", "--admin-ui", uiDir,
		"--admin-readonly")
	resp, err := http.Get(url + "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Socket.IO Admin UI") {
		t.Fatalf("GET /admin/: %d %.200s", resp.StatusCode, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := client.NewManager(url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Socket("/admin", nil)
	cfg := make(chan string, 1)
	s.On("config", func(_ context.Context, _ *client.Socket, a client.Args, _ client.AckFunc) { cfg <- string(a.Raw(0)) })
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-cfg:
		if c != `{"supportedFeatures":["AGGREGATED_EVENTS","ALL_EVENTS"]}` {
			t.Errorf("config %s", c)
		}
	case <-ctx.Done():
		t.Fatal("no config")
	}
}

func TestServeAdminUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--admin"}, // no password hash, no --admin-no-auth
		{"serve", "--admin", "--admin-password-hash", "not-bcrypt"},
		{"serve", "--admin", "--admin-no-auth", "--admin-password-hash", "$2a$10$abcdefghijklmnopqrstuu5Ssb0A2ydE9S4g2Q1nCU8SSkqD6CRbK"},
		{"serve", "--admin", "--admin-no-auth", "--admin-ui", "/nonexistent"},
		{"serve", "--admin", "--admin-no-auth", "--admin-mode", "fast"},
		{"serve", "--admin-ui", "/tmp"}, // without --admin
	} {
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			t.Setenv("SIOREDIS_ADMIN_PASSWORD_HASH", "")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stderr serveLog
			if code := run(ctx, append(args, "--addr", "127.0.0.1:0"), strings.NewReader(""), io.Discard, &stderr); code != 2 {
				t.Errorf("status %d, want 2:\n%s", code, stderr.String())
			}
			if n := strings.Count(strings.TrimSpace(stderr.String()), "\n"); n > 0 {
				t.Errorf("%d lines on stderr, want one:\n%s", n+1, stderr.String())
			}
		})
	}
}
