package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/protocol"
)

// TestChat runs "sioredis chat --redis": a POSTed message is published in the classic adapter format, and the
// database keeps it across a restart of the command.
func TestChat(t *testing.T) {
	rs := testenv.StartRedis(t)
	s := subscribeAll(t, rs.Client(t))
	db := filepath.Join(t.TempDir(), "chat.db")
	cl := &http.Client{Timeout: 10 * time.Second}

	url, _, stop := startServingStop(t, "chat", "--addr", "127.0.0.1:0", "--db", db, "--redis", rs.URL(), "--event", "my_event_name")
	res, err := cl.Post(url+"/api/messages", "application/json",
		strings.NewReader(`{"room":"room_777","author":"cli","body":"message_body"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", res.StatusCode, b)
	}
	var posted struct {
		Message struct {
			ID        string `json:"id"`
			CreatedAt string `json:"created_at"`
		} `json:"message"`
	}
	if err := json.Unmarshal(b, &posted); err != nil {
		t.Fatal(err)
	}

	var m *protocol.Message
	var payload []byte
	for m == nil {
		select {
		case msg := <-s.msgs:
			if msg.Channel != "socket.io#/#room_777#" {
				continue // the server's own adapter traffic
			}
			payload = []byte(msg.Payload)
			if m, err = protocol.DecodeClassicBroadcast(payload); err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("nothing published to socket.io#/#room_777#")
		}
	}
	args, _ := json.Marshal(m.Args) // objects keep their keys in wire order, as a JavaScript client sees them
	want := `[{"id":"` + posted.Message.ID + `","seq":1,"room":"room_777","author":"cli","body":"message_body","created_at":"` +
		posted.Message.CreatedAt + `","created_at_rfc3339":"` + strings.Replace(posted.Message.CreatedAt, " ", "T", 1) + `Z"}]`
	if m.Event != "my_event_name" || m.Nsp != "/" || strings.Join(m.Rooms, ",") != "room_777" || string(args) != want {
		t.Fatalf("published %s %s to %v in %s, want my_event_name %s", m.Event, args, m.Rooms, m.Nsp, want)
	}

	// Another run on the same database, alone this time, serves the history once the first has stopped.
	stop()
	url2, _ := startServing(t, "chat", "--addr", "127.0.0.1:0", "--db", db)
	res, err = cl.Get(url2 + "/api/messages?room=room_777")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), posted.Message.ID) {
		t.Fatalf("history after a restart: %s", b)
	}
}

func TestChatUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"chat", "extra"}, 2},
		{[]string{"chat", "--bogus"}, 2},
		{[]string{"chat", "--max-body", "0"}, 2},
		{[]string{"chat", "--max-body", "8388608"}, 2},                       // more than a published message may hold
		{[]string{"chat", "--max-body", "3000", "--max-payload", "2000"}, 2}, // the same, with a smaller payload limit
		{[]string{"chat", "--max-rooms", "0"}, 2},
		{[]string{"chat", "--allowed-origin", "not an origin", "--db", filepath.Join(dir, "e.db")}, 2},
		{[]string{"chat", "--cluster"}, 2},
		{[]string{"chat", "--db", filepath.Join(dir, "a.db"), "--event", "connect"}, 2},
		{[]string{"chat", "--db", filepath.Join(dir, "b.db"), "--nsp", "/a*"}, 2},
		{[]string{"chat", "--db", filepath.Join(dir, "missing", "c.db")}, 1},
		{[]string{"chat", "--db", filepath.Join(dir, "d.db"), "--addr", "256.0.0.1:bad"}, 1},
		{[]string{"chat", "--claim-poll", "0"}, 2},
		{[]string{"chat", "--db-timeout", "0"}, 2},
		{[]string{"chat", "--retry-after", "-1s"}, 2},
		{[]string{"chat", "--db", "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"}, 1}, // nothing listens there
		{[]string{"chat", "--db", "postgres://%zz"}, 1},
		{[]string{"chat", "-h"}, 0},
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
