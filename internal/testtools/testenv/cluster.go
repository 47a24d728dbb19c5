package testenv

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of master-only nodes on 127.0.0.1, started by [StartRedisCluster].
type Cluster struct {
	nodes []*Redis
}

const clusterStartTimeout = 60 * time.Second

// StartRedisCluster starts masters redis-server nodes (at least 3) in cluster mode, joins them with
// "redis-cli --cluster create ... --cluster-replicas 0", and waits until every node reports cluster_state:ok with
// all 16384 slots assigned and all nodes known. The nodes are stopped at test cleanup.
func StartRedisCluster(tb testing.TB, masters int) *Cluster {
	tb.Helper()
	if masters < 3 {
		tb.Fatalf("testenv: a Redis Cluster needs at least 3 masters, got %d", masters)
	}
	cli := lookPath(tb, "redis-cli", "install it (apt-get install redis-tools)")
	c := &Cluster{}
	for range masters {
		c.nodes = append(c.nodes, StartRedis(tb, clusterNode()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.WaitDelay = 2 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.waitHealthy(ctx); err != nil {
		tb.Fatalf("testenv: Redis Cluster did not become healthy: %v", err)
	}
	return c
}

// waitHealthy polls CLUSTER INFO on every node until all agree that the cluster is complete.
func (c *Cluster) waitHealthy(ctx context.Context) error {
	want := fmt.Sprintf("cluster_known_nodes:%d", len(c.nodes))
	var lastErr error
	for {
		lastErr = nil
		for _, n := range c.nodes {
			info, err := respDo(n.Addr(), time.Second, "CLUSTER", "INFO")
			if err != nil {
				lastErr = fmt.Errorf("%s: %w", n.Addr(), err)
				break
			}
			for _, needle := range []string{"cluster_state:ok", "cluster_slots_assigned:16384", "cluster_slots_ok:16384", want} {
				if !strings.Contains(info, needle) {
					lastErr = fmt.Errorf("%s: CLUSTER INFO lacks %q:\n%s", n.Addr(), needle, info)
					break
				}
			}
			if lastErr != nil {
				break
			}
		}
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Addrs returns the "127.0.0.1:port" address of every node, in start order.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// Nodes returns the nodes, in start order, for tests that stop or restart one of them.
func (c *Cluster) Nodes() []*Redis { return append([]*Redis(nil), c.nodes...) }

// Client returns a go-redis cluster client seeded with every node, closed at test cleanup.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}

// SlotOwner returns the index (in Nodes order) of the master that node 0 says owns slot.
func (c *Cluster) SlotOwner(tb testing.TB, slot int) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: c.nodes[0].Addr()})
	defer rdb.Close()
	ranges, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		tb.Fatalf("testenv: CLUSTER SLOTS: %v", err)
	}
	for _, r := range ranges {
		if int(r.Start) <= slot && slot <= int(r.End) && len(r.Nodes) > 0 {
			for i, n := range c.nodes {
				if n.Addr() == r.Nodes[0].Addr {
					return i
				}
			}
		}
	}
	tb.Fatalf("testenv: no owner for slot %d", slot)
	return -1
}

// MoveSlot moves slot (which holds no keys) from its owner to master to, as "redis-cli --cluster reshard" does:
// SETSLOT IMPORTING on the target, MIGRATING on the source, then SETSLOT NODE on the target, the source and the
// other masters. It returns the index of the former owner. The former owner ends the sharded subscriptions of
// the slot (sunsubscribe) when it gives the slot away.
func (c *Cluster) MoveSlot(tb testing.TB, slot, to int) (from int) {
	tb.Helper()
	from = c.SlotOwner(tb, slot)
	if from == to {
		tb.Fatalf("testenv: slot %d is already on node %d", slot, to)
	}
	id := func(i int) string {
		out, err := respDo(c.nodes[i].Addr(), time.Second, "CLUSTER", "MYID")
		if err != nil {
			tb.Fatalf("testenv: CLUSTER MYID: %v", err)
		}
		return strings.TrimSpace(out)
	}
	src, dst := id(from), id(to)
	s := fmt.Sprint(slot)
	do := func(i int, args ...string) {
		if out, err := respDo(c.nodes[i].Addr(), 2*time.Second, args...); err != nil || strings.HasPrefix(out, "-") {
			tb.Fatalf("testenv: %v on node %d: %q %v", args, i, out, err)
		}
	}
	do(to, "CLUSTER", "SETSLOT", s, "IMPORTING", src)
	do(from, "CLUSTER", "SETSLOT", s, "MIGRATING", dst)
	do(to, "CLUSTER", "SETSLOT", s, "NODE", dst)
	do(from, "CLUSTER", "SETSLOT", s, "NODE", dst)
	for i := range c.nodes {
		if i != from && i != to {
			do(i, "CLUSTER", "SETSLOT", s, "NODE", dst)
		}
	}
	return from
}
