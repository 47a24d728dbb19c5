package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// serveLog collects the standard error of an in-process "sioredis serve".
type serveLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *serveLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *serveLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

var servingURL = regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)

// startServe runs "sioredis serve --addr 127.0.0.1:0" in-process until the test ends, and returns its URL.
func startServe(t *testing.T) (string, *serveLog) {
	t.Helper()
	return startServing(t, "serve", "--addr", "127.0.0.1:0")
}

// startServing runs a serving command ("serve", "chat") in-process until the test ends, and returns the URL it
// logs.
func startServing(t *testing.T, args ...string) (string, *serveLog) {
	t.Helper()
	url, logs, _ := startServingStop(t, args...)
	return url, logs
}

// startServingStop is startServing, and returns a function that stops the command (also called at cleanup).
func startServingStop(t *testing.T, args ...string) (string, *serveLog, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &serveLog{}
	done := make(chan int, 1)
	var once sync.Once
	stop := func() { once.Do(func() { stopServing(t, args, cancel, done, logs) }) }
	go func() {
		done <- run(ctx, args, strings.NewReader(""), io.Discard, logs)
	}()
	t.Cleanup(stop)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if m := servingURL.FindStringSubmatch(logs.String()); m != nil {
			return m[1], logs, stop
		}
		select {
		case code := <-done:
			t.Fatalf("%s exited with status %d:\n%s", args[0], code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start:\n%s", args[0], logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stopServing(t *testing.T, args []string, cancel func(), done chan int, logs *serveLog) {
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("%s exited with status %d:\n%s", args[0], code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("%s did not stop:\n%s", args[0], logs.String())
	}
}

func TestServe(t *testing.T) {
	url, logs := startServe(t)
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	t.Run("static files", func(t *testing.T) {
		tests := []struct {
			path   string
			status int
			want   string
		}{
			{"/", http.StatusOK, "<html"},
			{"/socket.io.min.js", http.StatusOK, "socket.io"},
			{"/socket.io-client.LICENSE", http.StatusOK, "MIT"},
			{"/nope", http.StatusNotFound, ""},
			{"/socket.io/?EIO=4&transport=polling", http.StatusOK, `"sid"`},
			{"/socket.io/?EIO=3&transport=polling", http.StatusBadRequest, `"code"`},
		}
		for _, tt := range tests {
			t.Run(tt.path, func(t *testing.T) {
				res, err := cl.Get(url + tt.path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != tt.status || !strings.Contains(strings.ToLower(string(body)), strings.ToLower(tt.want)) {
					t.Errorf("GET %s: %d %.200q, want %d containing %q", tt.path, res.StatusCode, body, tt.status, tt.want)
				}
			})
		}
	})
	t.Run("node client", func(t *testing.T) {
		out := testenv.RunNode(t, "serve-client.js", "--url", url)
		var r struct {
			Type    string `json:"type"`
			Message struct {
				Room, Text, From, At string
			} `json:"message"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil || r.Type != "result" {
			t.Fatalf("serve-client.js output %q: %v", out, err)
		}
		if _, err := time.Parse(time.RFC3339, r.Message.At); err != nil || r.Message.Room != "r1" {
			t.Errorf("message %+v: %v", r.Message, err)
		}
		if !strings.Contains(logs.String(), "connected") {
			t.Errorf("no connection logged:\n%s", logs.String())
		}
	})
}

// TestServeAllowEIO3: with --allow-eio3, a socket.io-client 2 handshake (EIO=3) opens a session, answered in the
// v3 payload framing ("<length>:0{...}").
func TestServeAllowEIO3(t *testing.T) {
	url, _ := startServing(t, "serve", "--addr", "127.0.0.1:0", "--allow-eio3")
	res, err := http.Get(url + "/socket.io/?EIO=3&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !regexp.MustCompile(`^\d+:0\{"sid":`).Match(body) {
		t.Errorf("EIO=3 handshake: %d %q", res.StatusCode, body)
	}
}

func TestServeUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"serve", "extra"}, 2},
		{[]string{"serve", "--bogus"}, 2},
		{[]string{"serve", "--addr", "256.0.0.1:bad"}, 1},
		{[]string{"serve", "-h"}, 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stderr serveLog
			if code := run(ctx, tt.args, strings.NewReader(""), io.Discard, &stderr); code != tt.code {
				t.Errorf("status %d, want %d:\n%s", code, tt.code, stderr.String())
			}
		})
	}
}
