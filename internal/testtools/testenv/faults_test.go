package testenv

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSentinelGroup kills the master, checks that a write acknowledged and replicated before survives the
// failover, brings the dead node back as a replica, and fails over again with SENTINEL FAILOVER.
func TestSentinelGroup(t *testing.T) {
	g := StartSentinelGroup(t, SentinelGroupConfig{MasterName: "m"})
	ctx := testContext(t)
	rdb := g.Client(t)
	if err := rdb.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Do(ctx, "WAIT", 1, 2000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1: %d %v", n, err)
	}
	start := time.Now()
	old := g.KillMaster()
	m := g.WaitFailover(old)
	t.Logf("SIGKILL: a replica was promoted in %v", time.Since(start).Round(10*time.Millisecond))
	if got, err := rdb.Get(ctx, "k").Result(); err != nil || got != "v1" {
		t.Fatalf("GET k after the failover: %q %v", got, err)
	}
	g.Rejoin(old)
	if g.Master() != m {
		t.Fatal("the rejoining node took the master role back")
	}
	start = time.Now()
	before := g.Failover()
	if before != m {
		t.Fatalf("Failover returned %s, the master was %s", before.Addr(), m.Addr())
	}
	if now := g.WaitFailover(before); now != old {
		t.Fatalf("SENTINEL FAILOVER promoted %s, want the only replica %s", now.Addr(), old.Addr())
	}
	t.Logf("SENTINEL FAILOVER: done in %v", time.Since(start).Round(10*time.Millisecond))
	if err := rdb.Set(ctx, "k", "v2", 0).Err(); err != nil {
		t.Fatalf("SET through the sentinels after the planned failover: %v", err)
	}
}

// TestRedisClusterFailover kills the master of a slot and checks that its replica serves the slot, with the data
// written before; then it switches the slot's master back with CLUSTER FAILOVER.
func TestRedisClusterFailover(t *testing.T) {
	c := StartRedisClusterWith(t, ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: time.Second})
	ctx := testContext(t)
	if n := len(c.Nodes()); n != 6 {
		t.Fatalf("%d nodes, want 6", n)
	}
	cc := c.Client(t)
	slot := c.Slot(t, "{f}key")
	if err := cc.Set(ctx, "{f}key", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	owner := c.SlotOwner(t, slot)
	replica := c.ReplicaOf(t, slot)
	if err := c.Nodes()[owner].Client(t).Do(ctx, "WAIT", 1, 2000).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if killed := c.KillSlotOwner(t, slot); killed != owner {
		t.Fatalf("KillSlotOwner killed node %d, the owner is %d", killed, owner)
	}
	if now := c.WaitSlotMoved(t, slot, owner); now != replica {
		t.Fatalf("slot %d went to node %d, want its replica %d", slot, now, replica)
	}
	t.Logf("SIGKILL: the replica took the slot over in %v", time.Since(start).Round(10*time.Millisecond))
	// A fresh client: go-redis's cluster client keeps the slot map it has for up to 10 s after a node dies.
	fresh := c.Client(t)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got, err := fresh.Get(ctx, "{f}key").Result()
		if err == nil && got == "v" {
			break
		}
		if err == nil || time.Now().After(deadline) {
			t.Fatalf("GET after the failover: %q %v", got, err)
		}
	}
	// The killed node comes back (it keeps nodes.conf) as a replica of its successor; a planned failover moves the
	// slot back to it.
	c.Nodes()[owner].Restart()
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := respDo(c.Nodes()[owner].Addr(), time.Second, "INFO", "replication")
		if err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted node did not become a synced replica: %v\n%s", err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if old := c.Failover(t, slot); old != replica {
		t.Fatalf("Failover reported node %d as the old master, want %d", old, replica)
	}
	if now := c.WaitSlotMoved(t, slot, replica); now != owner {
		t.Fatalf("CLUSTER FAILOVER gave slot %d to node %d, want %d", slot, now, owner)
	}
}

// TestPostgresRestart stops the server and starts it again on the same port, with its data.
func TestPostgresRestart(t *testing.T) {
	pg := StartPostgres(t)
	if _, err := pg.Query("postgres", "CREATE TABLE t (v int); INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	if conn, err := net.DialTimeout("tcp", pg.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatal("PostgreSQL still listens after Stop")
	}
	pg.Start()
	if got, err := pg.Query("postgres", "SELECT v FROM t"); err != nil || got != "7" {
		t.Fatalf("after Start: %q %v", got, err)
	}
	pg.Restart()
	if got, err := pg.Query("postgres", "SELECT count(*) FROM t"); err != nil || got != "1" {
		t.Fatalf("after Restart: %q %v", got, err)
	}
}

// TestStartSioredis runs the real command (sioredis serve, alone), reads the URL from its log, and checks that
// SIGTERM stops it and Kill of a stopped process returns.
func TestStartSioredis(t *testing.T) {
	s := StartSioredis(t, SioredisConfig{Args: []string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}})
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %q", s.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.WaitLog(ctx, func(text string) bool { return strings.Contains(text, `"level":"INFO"`) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Terminate(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if !s.Exited() {
		t.Fatal("not exited after Terminate")
	}
	if _, err := s.WaitLog(ctx, func(string) bool { return false }); !errors.Is(err, ErrExited) {
		t.Fatalf("WaitLog on an exited process: %v", err)
	}
	s.Kill()
}

// TestNodeServerSentinel runs the classic and streams flavors on ioredis clients through a SentinelGroup and checks
// that their clients get a broadcast before and after the master is killed and replaced.
func TestNodeServerSentinel(t *testing.T) {
	g := StartSentinelGroup(t, SentinelGroupConfig{MasterName: "m"})
	ctx := testContext(t)
	classic := StartNodeServer(t, NodeServerConfig{Flavor: FlavorV4Classic, SentinelAddrs: g.SentinelAddrs(), SentinelMaster: "m"})
	streams := StartNodeServer(t, NodeServerConfig{Flavor: FlavorV4Streams, SentinelAddrs: g.SentinelAddrs(), SentinelMaster: "m"})
	clients := StartClients(t, 4, []ClientSpec{classic.Client("classic", "/", "room_777"), streams.Client("streams", "/", "room_777")})
	rdb := g.Client(t)
	send := func() {
		// Errors are expected while the failover runs; the loop below sends again.
		_ = rdb.Publish(ctx, "socket.io#/#room_777#", unhex(t, hexRoomEmit)).Err()
		_ = rdb.XAdd(ctx, &redis.XAddArgs{Stream: "socket.io", Values: []any{"uid", "emitter", "nsp", "/", "type", "3",
			"data", `{"packet":{"type":2,"data":["my_event_name",{"foo":"bar"}],"nsp":"/"},"opts":{"rooms":["room_777"],"flags":{},"except":[]}}`}}).Err()
	}
	// waitBoth sends until both clients have n events.
	waitBoth := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(clients.Events("classic")) < n || len(clients.Events("streams")) < n {
			if time.Now().After(deadline) {
				t.Fatalf("after 20 s: classic client got %d events, streams client %d, want %d each; node stderr:\n%s\n%s",
					len(clients.Events("classic")), len(clients.Events("streams")), n, classic.Stderr(), streams.Stderr())
			}
			send()
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitBoth(1)
	g.WaitFailover(g.KillMaster())
	before := max(len(clients.Events("classic")), len(clients.Events("streams")))
	waitBoth(before + 1)
	for _, c := range []string{"classic", "streams"} {
		if ev := clients.Events(c)[0]; ev.Name != "my_event_name" || ev.ArgsJSON() != `[{"foo":"bar"}]` || ev.At.IsZero() {
			t.Errorf("client %s got %s %s at %v", c, ev.Name, ev.ArgsJSON(), ev.At)
		}
	}
}
