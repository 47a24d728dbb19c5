package testenv

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster on 127.0.0.1, started by [StartRedisCluster] (masters only) or
// [StartRedisClusterWith] (masters with replicas). Its methods are not safe for concurrent use.
type Cluster struct {
	tb    testing.TB
	nodes []*Redis
}

const clusterStartTimeout = 60 * time.Second

// StartRedisCluster starts masters redis-server nodes (at least 3) in cluster mode, joins them with
// "redis-cli --cluster create ... --cluster-replicas 0", and waits until every node reports cluster_state:ok with
// all 16384 slots assigned and all nodes known. The nodes are stopped at test cleanup.
func StartRedisCluster(tb testing.TB, masters int) *Cluster {
	tb.Helper()
	return StartRedisClusterWith(tb, ClusterConfig{Masters: masters})
}

// ClusterConfig configures [StartRedisClusterWith].
type ClusterConfig struct {
	// Masters is the number of masters, at least 3.
	Masters int
	// ReplicasPerMaster is the number of replicas of each master (redis-cli's --cluster-replicas).
	ReplicasPerMaster int
	// NodeTimeout is cluster-node-timeout: how long a master must not answer before the others deem it failed and
	// its replica takes over; default 5 s.
	NodeTimeout time.Duration
	// RedisArgs are added to every node's command line.
	RedisArgs []string
}

// StartRedisClusterWith starts Masters × (1 + ReplicasPerMaster) redis-server nodes in cluster mode (with
// replicas: appendonly yes and repl-diskless-sync-delay 0, as a failover test needs), joins them with "redis-cli
// --cluster create ... --cluster-replicas N", and waits until every node reports cluster_state:ok with all 16384
// slots assigned and all nodes known, and every replica's link to its master is up. The nodes are stopped at test
// cleanup. The masters are the first Masters nodes of Nodes.
func StartRedisClusterWith(tb testing.TB, cfg ClusterConfig) *Cluster {
	tb.Helper()
	if cfg.Masters < 3 {
		tb.Fatalf("testenv: a Redis Cluster needs at least 3 masters, got %d", cfg.Masters)
	}
	cli := lookPath(tb, "redis-cli", "install it (apt-get install redis-tools)")
	c := &Cluster{tb: tb}
	opts := []RedisOption{clusterNode()}
	if cfg.NodeTimeout > 0 {
		opts = append(opts, RedisArgs("--cluster-node-timeout", strconv.FormatInt(cfg.NodeTimeout.Milliseconds(), 10)))
	}
	if cfg.ReplicasPerMaster > 0 {
		opts = append(opts, RedisArgs("--appendonly", "yes", "--repl-diskless-sync-delay", "0"))
	}
	opts = append(opts, RedisArgs(cfg.RedisArgs...))
	for range cfg.Masters * (1 + cfg.ReplicasPerMaster) {
		c.nodes = append(c.nodes, StartRedis(tb, opts...))
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(cfg.ReplicasPerMaster), "--cluster-yes")
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.WaitDelay = 2 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.waitHealthy(ctx, cfg.ReplicasPerMaster); err != nil {
		tb.Fatalf("testenv: Redis Cluster did not become healthy: %v", err)
	}
	return c
}

// waitHealthy polls CLUSTER INFO on every node until all agree that the cluster is complete, INFO replication on
// every replica until its link to its master is up, and CLUSTER SLOTS on every node until it lists replicas
// replicas for every slot range (a node lists a replica only once gossip has told it the replica's offset).
func (c *Cluster) waitHealthy(ctx context.Context, replicas int) error {
	want := fmt.Sprintf("cluster_known_nodes:%d", len(c.nodes))
	var lastErr error
	for {
		lastErr = nil
		for _, n := range c.nodes {
			if repl, err := respDo(n.Addr(), time.Second, "INFO", "replication"); err != nil {
				lastErr = fmt.Errorf("%s: %w", n.Addr(), err)
				break
			} else if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
				lastErr = fmt.Errorf("%s: replica's link to its master not up:\n%s", n.Addr(), repl)
				break
			}
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
		if lastErr == nil && replicas > 0 {
			lastErr = c.replicasListed(ctx, replicas)
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

// replicasListed checks that every node's CLUSTER SLOTS names want replicas for every slot range.
func (c *Cluster) replicasListed(ctx context.Context, want int) error {
	for _, n := range c.nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		ranges, err := rdb.ClusterSlots(ctx).Result()
		rdb.Close()
		if err != nil {
			return fmt.Errorf("CLUSTER SLOTS on %s: %w", n.Addr(), err)
		}
		for _, r := range ranges {
			if len(r.Nodes)-1 < want {
				return fmt.Errorf("%s lists %d replicas for slots %d-%d, want %d", n.Addr(), len(r.Nodes)-1, r.Start, r.End, want)
			}
		}
	}
	return nil
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

// SlotOwner returns the index (in Nodes order) of the master that the first running node says owns slot.
func (c *Cluster) SlotOwner(tb testing.TB, slot int) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, n := range c.nodes {
		if !n.Running() {
			continue
		}
		owner, _, err := c.slotOwnerAt(ctx, n, slot)
		if err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		return owner
	}
	tb.Fatalf("testenv: no node of the cluster is running")
	return -1
}

// slotOwnerAt returns the index of the master that node n says owns slot, and the indexes of its replicas.
func (c *Cluster) slotOwnerAt(ctx context.Context, n *Redis, slot int) (owner int, replicas []int, err error) {
	rdb := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
	defer rdb.Close()
	ranges, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return -1, nil, fmt.Errorf("CLUSTER SLOTS on %s: %w", n.Addr(), err)
	}
	for _, r := range ranges {
		if int(r.Start) <= slot && slot <= int(r.End) && len(r.Nodes) > 0 {
			owner = c.index(r.Nodes[0].Addr)
			for _, rn := range r.Nodes[1:] {
				if i := c.index(rn.Addr); i >= 0 {
					replicas = append(replicas, i)
				}
			}
			if owner < 0 {
				return -1, nil, fmt.Errorf("%s names %s, not a node of the cluster, as owner of slot %d", n.Addr(), r.Nodes[0].Addr, slot)
			}
			return owner, replicas, nil
		}
	}
	return -1, nil, fmt.Errorf("%s knows no owner of slot %d", n.Addr(), slot)
}

func (c *Cluster) index(addr string) int {
	for i, n := range c.nodes {
		if n.Addr() == addr {
			return i
		}
	}
	return -1
}

// Slot returns the hash slot of key (CLUSTER KEYSLOT, as Redis computes it: hash tags included).
func (c *Cluster) Slot(tb testing.TB, key string) int {
	tb.Helper()
	for _, n := range c.nodes {
		if !n.Running() {
			continue
		}
		out, err := respDo(n.Addr(), 2*time.Second, "CLUSTER", "KEYSLOT", key)
		if err != nil {
			tb.Fatalf("testenv: CLUSTER KEYSLOT: %v", err)
		}
		slot, err := strconv.Atoi(out)
		if err != nil {
			tb.Fatalf("testenv: CLUSTER KEYSLOT answered %q", out)
		}
		return slot
	}
	tb.Fatalf("testenv: no node of the cluster is running")
	return -1
}

// ReplicaOf returns the index of a replica of the master that owns slot, as the first running node sees it.
func (c *Cluster) ReplicaOf(tb testing.TB, slot int) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, n := range c.nodes {
		if !n.Running() {
			continue
		}
		_, replicas, err := c.slotOwnerAt(ctx, n, slot)
		if err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		if len(replicas) == 0 {
			tb.Fatalf("testenv: the master of slot %d has no replica", slot)
		}
		return replicas[0]
	}
	tb.Fatalf("testenv: no node of the cluster is running")
	return -1
}

// KillSlotOwner SIGKILLs the master that owns slot and returns its index; its replica takes the slots over after
// cluster-node-timeout and an election (WaitSlotMoved).
func (c *Cluster) KillSlotOwner(tb testing.TB, slot int) int {
	tb.Helper()
	i := c.SlotOwner(tb, slot)
	c.nodes[i].Kill()
	return i
}

// Failover runs CLUSTER FAILOVER on a replica of the master that owns slot, a planned switchover without data
// loss (the replica waits until it has the master's whole replication stream), and returns the old master's
// index.
func (c *Cluster) Failover(tb testing.TB, slot int) int {
	tb.Helper()
	old := c.SlotOwner(tb, slot)
	r := c.ReplicaOf(tb, slot)
	// A manual failover that the master does not take part in in time is given up by the replica silently (a node
	// that has just rejoined as a replica, whose master does not know it yet): ask again until the replica is a
	// master.
	for attempt := 1; ; attempt++ {
		if out, err := respDo(c.nodes[r].Addr(), 5*time.Second, "CLUSTER", "FAILOVER"); err != nil || out != "OK" {
			tb.Fatalf("testenv: CLUSTER FAILOVER on %s: %q %v", c.nodes[r].Addr(), out, err)
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if info, err := respDo(c.nodes[r].Addr(), time.Second, "INFO", "replication"); err == nil && strings.Contains(info, "role:master") {
				return old
			}
		}
		if attempt == 4 {
			tb.Fatalf("testenv: CLUSTER FAILOVER on %s: still a replica after %d attempts", c.nodes[r].Addr(), attempt)
		}
	}
}

// WaitSlotMoved waits until every running node names the same running master, other than node old, as owner of
// slot, that master answers as one, and every running node reports cluster_state:ok; it returns the new owner's
// index, and fails the test after 30 s.
func (c *Cluster) WaitSlotMoved(tb testing.TB, slot, old int) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), groupReadyTimeout)
	defer cancel()
	var lastErr error
	for {
		owner, err := c.agreedOwner(ctx, slot)
		if err == nil && owner == old {
			err = fmt.Errorf("node %d still owns slot %d", old, slot)
		}
		if err == nil {
			return owner
		}
		lastErr = err
		select {
		case <-ctx.Done():
			tb.Fatalf("testenv: slot %d did not move within %v: %v", slot, groupReadyTimeout, lastErr)
			return -1
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) agreedOwner(ctx context.Context, slot int) (int, error) {
	owner := -1
	for _, n := range c.nodes {
		if !n.Running() {
			continue
		}
		info, err := respDo(n.Addr(), time.Second, "CLUSTER", "INFO")
		if err != nil {
			return -1, fmt.Errorf("%s: %w", n.Addr(), err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return -1, fmt.Errorf("%s: cluster_state not ok", n.Addr())
		}
		o, _, err := c.slotOwnerAt(ctx, n, slot)
		if err != nil {
			return -1, err
		}
		if owner >= 0 && o != owner {
			return -1, fmt.Errorf("the nodes do not agree on the owner of slot %d", slot)
		}
		owner = o
	}
	if owner < 0 {
		return -1, errors.New("no node of the cluster is running")
	}
	if !c.nodes[owner].Running() {
		return -1, fmt.Errorf("slot %d is still assigned to node %d, which is down", slot, owner)
	}
	if info, err := respDo(c.nodes[owner].Addr(), time.Second, "INFO", "replication"); err != nil || !strings.Contains(info, "role:master") {
		return -1, fmt.Errorf("the new owner %s does not answer as a master yet: %v", c.nodes[owner].Addr(), err)
	}
	return owner, nil
}

// MoveSlot moves slot (which holds no keys) from its owner to master to (an index of Nodes), as "redis-cli --cluster reshard" does:
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
	for i, n := range c.nodes {
		if i == from || i == to || !n.Running() {
			continue
		}
		if info, err := respDo(n.Addr(), time.Second, "INFO", "replication"); err == nil && strings.Contains(info, "role:slave") {
			continue // replicas refuse SETSLOT; they learn the move from their masters
		}
		do(i, "CLUSTER", "SETSLOT", s, "NODE", dst)
	}
	return from
}
