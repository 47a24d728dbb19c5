package admin_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/admin"
	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// A mixed cluster: a Go server with Instrument and a Node socket.io 4.8.4 server calling instrument, on the classic
// Redis adapter. A UI on either server hears both servers' stats, lists the sockets of both, and disconnects a
// socket of the other server.
func TestMixedCluster(t *testing.T) {
	rds := testenv.StartRedis(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic,
		RedisAddrs: []string{rds.Addr()}, AdminServerID: "node-1"})

	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	adapter := redisadapter.New(rdb, redisadapter.Config{})
	srv, err := socketio.NewServer(socketio.Config{Cluster: adapter})
	if err != nil {
		t.Fatal(err)
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) { s.Join("go-room") })
	a, err := admin.Instrument(srv, admin.Options{NoAuth: true, ServerID: "go-1", StatsInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := adapter.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	goApp, err := client.Dial(ctx, hs.URL+"/", client.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = goApp.Close() })
	goGone := make(chan string, 1)
	goApp.OnDisconnect(func(r string) { goGone <- r })
	nodeApp, err := client.Dial(ctx, node.URL()+"/?rooms=node-room", client.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nodeApp.Close() })
	nodeGone := make(chan string, 1)
	nodeApp.OnDisconnect(func(r string) { nodeGone <- r })
	time.Sleep(200 * time.Millisecond) // the Node server joins the room after the connection

	for _, tc := range []struct {
		name, url string
		other     *client.Socket
		gone      chan string
	}{
		{"UI on the Go server", hs.URL, nodeApp, nodeGone},
		{"UI on the Node server", node.URL(), goApp, goGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := dialUI(t, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Both servers' stats.
			seen := map[string]bool{}
			deadline := time.Now().Add(10 * time.Second)
			for len(seen) < 2 && time.Now().Before(deadline) {
				var stats struct {
					ServerID string `json:"serverId"`
				}
				_ = u.next(t, "server_stats").Decode(0, &stats)
				seen[stats.ServerID] = true
			}
			if !seen["go-1"] || !seen["node-1"] {
				t.Fatalf("server_stats from %v, want go-1 and node-1", seen)
			}
			// Both servers' sockets, with their rooms.
			u, err = dialUI(t, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			var all []struct {
				ID        string   `json:"id"`
				Nsp       string   `json:"nsp"`
				Rooms     []string `json:"rooms"`
				Transport string   `json:"transport"`
			}
			if err := u.next(t, "all_sockets").Decode(0, &all); err != nil {
				t.Fatal(err)
			}
			rooms := map[string]string{}
			for _, s := range all {
				if s.Nsp == "/" {
					rooms[s.ID] = strings.Join(s.Rooms, ",")
				}
			}
			if !strings.Contains(rooms[goApp.ID()], "go-room") || !strings.Contains(rooms[nodeApp.ID()], "node-room") {
				t.Fatalf("all_sockets of / %v, want %s in go-room and %s in node-room", rooms, goApp.ID(), nodeApp.ID())
			}
		})
	}

	for _, tc := range []struct {
		name, url string
		other     *client.Socket
		gone      chan string
	}{
		{"UI on the Go server", hs.URL, nodeApp, nodeGone},
		{"UI on the Node server", node.URL(), goApp, goGone},
	} {
		t.Run(tc.name+" disconnects a socket of the other server", func(t *testing.T) {
			u, err := dialUI(t, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = u.s.Emit("_disconnect", "/", false, tc.other.ID())
			select {
			case r := <-tc.gone:
				if r != "io server disconnect" {
					t.Errorf("reason %q", r)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the socket of the other server was not disconnected")
			}
		})
	}
}
