package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartSentinel starts a Redis Sentinel (redis-server in sentinel mode) on a free loopback port that monitors
// master under masterName (quorum 1, down-after 5 s), and waits until it answers PING and knows the master. Its
// Addr is what a Sentinel-backed client (redis.NewFailoverClient, or UniversalOptions with MasterName) is given.
// For failovers, start a [SentinelGroup].
func StartSentinel(tb testing.TB, masterName string, master *Redis) *Redis {
	tb.Helper()
	return startSentinel(tb, masterName, master, 1, 5*time.Second, 0)
}

// startSentinel starts one sentinel monitoring master with the given quorum, down-after and (when positive)
// failover timeout, and waits until it knows the master.
func startSentinel(tb testing.TB, masterName string, master *Redis, quorum int, downAfter, failoverTimeout time.Duration) *Redis {
	tb.Helper()
	bin := lookPath(tb, "redis-server", "install it (apt-get install redis-server)")
	dir := tb.TempDir()
	conf := filepath.Join(dir, "sentinel.conf") // rewritten by the sentinel: it must be writable
	text := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %d\nsentinel down-after-milliseconds %s %d\n",
		masterName, master.Port(), quorum, masterName, downAfter.Milliseconds())
	if failoverTimeout > 0 {
		text += fmt.Sprintf("sentinel failover-timeout %s %d\n", masterName, failoverTimeout.Milliseconds())
	}
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	var s *Redis
	var lastErr error
	for range 3 { // a free port can be taken by someone else before the sentinel binds it: retry with another
		port := freePorts(tb, 1)[0]
		s = &Redis{tb: tb, bin: bin, port: port, args: []string{
			conf, "--sentinel", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no",
		}}
		if lastErr = s.start(); lastErr == nil || !strings.Contains(lastErr.Error(), "Address already in use") {
			break
		}
	}
	if lastErr != nil {
		tb.Fatalf("testenv: start redis sentinel: %v", lastErr)
	}
	tb.Cleanup(s.Stop)
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr()})
	defer sc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), redisStartTimeout)
	defer cancel()
	addr, err := sc.GetMasterAddrByName(ctx, masterName).Result()
	if err != nil || len(addr) != 2 || addr[1] != strconv.Itoa(master.Port()) {
		tb.Fatalf("testenv: sentinel does not know master %s: %v %v", masterName, addr, err)
	}
	return s
}

// SentinelGroup is a Redis master with replicas, all persistent (appendonly yes), watched by three sentinels that
// fail it over when it dies, as a production deployment on Redis Sentinel: started by [StartSentinelGroup].
// Its methods are not safe for concurrent use.
type SentinelGroup struct {
	tb        testing.TB
	name      string
	nodes     []*Redis // the data nodes, master first at start
	sentinels []*Redis
}

// SentinelGroupConfig configures [StartSentinelGroup]; the zero value is a master with one replica, three
// sentinels with quorum 2, down-after 1 s and failover timeout 3 s.
type SentinelGroupConfig struct {
	// MasterName is the name the sentinels monitor; default "mymaster".
	MasterName string
	// Replicas is the number of replicas; default 1.
	Replicas int
	// DownAfter is the sentinels' down-after-milliseconds: how long the master must not answer before a sentinel
	// deems it down; default 1 s.
	DownAfter time.Duration
	// FailoverTimeout is the sentinels' failover-timeout (a failover that does not complete is retried after twice
	// this); default 3 s.
	FailoverTimeout time.Duration
	// RedisArgs are added to the command line of every data node (for example "--maxmemory", "64mb").
	RedisArgs []string
}

// groupReadyTimeout bounds the wait for a group's sentinels to see each other and the replicas, and for a
// failover to complete.
const groupReadyTimeout = 30 * time.Second

// StartSentinelGroup starts the master (appendonly yes, repl-diskless-sync-delay 0), its replicas and three
// sentinels on free loopback ports, and waits (at most 30 s) until every replica's link to the master is up and
// every sentinel lists every replica and the two other sentinels: only then can a dead master be failed over. The
// processes are stopped at test cleanup.
func StartSentinelGroup(tb testing.TB, cfg SentinelGroupConfig) *SentinelGroup {
	tb.Helper()
	if cfg.MasterName == "" {
		cfg.MasterName = "mymaster"
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.DownAfter <= 0 {
		cfg.DownAfter = time.Second
	}
	if cfg.FailoverTimeout <= 0 {
		cfg.FailoverTimeout = 3 * time.Second
	}
	g := &SentinelGroup{tb: tb, name: cfg.MasterName}
	args := append([]string{"--appendonly", "yes", "--repl-diskless-sync-delay", "0"}, cfg.RedisArgs...)
	master := StartRedis(tb, RedisArgs(args...))
	g.nodes = append(g.nodes, master)
	for range cfg.Replicas {
		g.nodes = append(g.nodes, StartRedis(tb, RedisArgs(append(args, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port()))...)))
	}
	for range 3 {
		g.sentinels = append(g.sentinels, startSentinel(tb, cfg.MasterName, master, 2, cfg.DownAfter, cfg.FailoverTimeout))
	}
	ctx, cancel := context.WithTimeout(context.Background(), groupReadyTimeout)
	defer cancel()
	if err := g.waitSeen(ctx, master); err != nil {
		tb.Fatalf("testenv: sentinel group not ready: %v", err)
	}
	return g
}

// MasterName returns the name the sentinels know the master by (redis.FailoverOptions.MasterName).
func (g *SentinelGroup) MasterName() string { return g.name }

// SentinelAddrs returns the sentinels' "127.0.0.1:port" addresses, for clients.
func (g *SentinelGroup) SentinelAddrs() []string {
	addrs := make([]string, len(g.sentinels))
	for i, s := range g.sentinels {
		addrs[i] = s.Addr()
	}
	return addrs
}

// Nodes returns the data nodes, the first master first.
func (g *SentinelGroup) Nodes() []*Redis { return slices.Clone(g.nodes) }

// Client returns a go-redis client of the current master through the sentinels, closed at test cleanup.
func (g *SentinelGroup) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: g.name, SentinelAddrs: g.SentinelAddrs()})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Master returns the node that the first sentinel answering names master.
func (g *SentinelGroup) Master() *Redis {
	g.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := g.master(ctx)
	if err != nil {
		g.tb.Fatalf("testenv: %v", err)
	}
	return m
}

func (g *SentinelGroup) master(ctx context.Context) (*Redis, error) {
	var lastErr error
	for _, s := range g.sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		addr, err := sc.GetMasterAddrByName(ctx, g.name).Result()
		sc.Close()
		if err != nil || len(addr) != 2 {
			lastErr = fmt.Errorf("sentinel %s: master %s: %v %v", s.Addr(), g.name, addr, err)
			continue
		}
		if n := g.node(addr[1]); n != nil {
			return n, nil
		}
		lastErr = fmt.Errorf("sentinel %s names master %s:%s, not a node of the group", s.Addr(), addr[0], addr[1])
	}
	return nil, lastErr
}

func (g *SentinelGroup) node(port string) *Redis {
	for _, n := range g.nodes {
		if strconv.Itoa(n.Port()) == port {
			return n
		}
	}
	return nil
}

// KillMaster SIGKILLs the current master and returns it. The sentinels promote a replica once down-after has
// passed and they agree (WaitFailover).
func (g *SentinelGroup) KillMaster() *Redis {
	g.tb.Helper()
	m := g.Master()
	m.Kill()
	return m
}

// Failover asks a sentinel for a planned failover (SENTINEL FAILOVER, no agreement needed): a replica is
// promoted, and the old master becomes its replica. It returns the master before the failover.
func (g *SentinelGroup) Failover() *Redis {
	g.tb.Helper()
	m := g.Master()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: g.sentinels[0].Addr()})
	defer sc.Close()
	if err := sc.Failover(ctx, g.name).Err(); err != nil {
		g.tb.Fatalf("testenv: SENTINEL FAILOVER %s: %v", g.name, err)
	}
	return m
}

// WaitFailover waits until every sentinel names a master other than old, and that node answers as a master, and
// returns it. It fails the test after 30 s.
func (g *SentinelGroup) WaitFailover(old *Redis) *Redis {
	g.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), groupReadyTimeout)
	defer cancel()
	var lastErr error
	for {
		m, err := g.agreedMaster(ctx)
		if err == nil && m == old {
			err = errors.New("the sentinels still name the old master")
		}
		if err == nil {
			if role, rerr := respDo(m.Addr(), time.Second, "INFO", "replication"); rerr != nil || !strings.Contains(role, "role:master") {
				err = fmt.Errorf("%s does not answer as a master yet: %v", m.Addr(), rerr)
			}
		}
		if err == nil {
			return m
		}
		lastErr = err
		select {
		case <-ctx.Done():
			g.tb.Fatalf("testenv: no failover of %s within %v: %v", g.name, groupReadyTimeout, lastErr)
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// agreedMaster returns the master every sentinel names.
func (g *SentinelGroup) agreedMaster(ctx context.Context) (*Redis, error) {
	var agreed *Redis
	for _, s := range g.sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		addr, err := sc.GetMasterAddrByName(ctx, g.name).Result()
		sc.Close()
		if err != nil || len(addr) != 2 {
			return nil, fmt.Errorf("sentinel %s: %v %v", s.Addr(), addr, err)
		}
		n := g.node(addr[1])
		if n == nil || (agreed != nil && n != agreed) {
			return nil, fmt.Errorf("the sentinels do not agree on the master (%s says %s)", s.Addr(), addr[1])
		}
		agreed = n
	}
	return agreed, nil
}

// Rejoin starts a killed node again as a replica of the current master and waits until its link to the master is
// up and every sentinel lists it among the replicas, so that a later failover may promote it.
func (g *SentinelGroup) Rejoin(n *Redis) {
	g.tb.Helper()
	m := g.Master()
	n.RestartAsReplicaOf(m)
	ctx, cancel := context.WithTimeout(context.Background(), groupReadyTimeout)
	defer cancel()
	if err := g.waitSeen(ctx, m); err != nil {
		g.tb.Fatalf("testenv: %s did not rejoin as a replica: %v", n.Addr(), err)
	}
}

// waitSeen waits until every running node but master has its replication link up, and every sentinel lists each
// of them as a replica that is not down, and knows the two other sentinels.
func (g *SentinelGroup) waitSeen(ctx context.Context, master *Redis) error {
	var lastErr error
	for {
		lastErr = g.seen(ctx, master)
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

func (g *SentinelGroup) seen(ctx context.Context, master *Redis) error {
	var replicas []*Redis
	for _, n := range g.nodes {
		if n == master || !n.Running() {
			continue
		}
		info, err := respDo(n.Addr(), time.Second, "INFO", "replication")
		if err != nil {
			return fmt.Errorf("replica %s: %w", n.Addr(), err)
		}
		if !strings.Contains(info, "master_link_status:up") || !strings.Contains(info, fmt.Sprintf("master_port:%d", master.Port())) {
			return fmt.Errorf("replica %s: link to master %s not up:\n%s", n.Addr(), master.Addr(), info)
		}
		replicas = append(replicas, n)
	}
	for _, s := range g.sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		listed, err := sc.Replicas(ctx, g.name).Result()
		var others []map[string]string
		if err == nil {
			others, err = sc.Sentinels(ctx, g.name).Result()
		}
		sc.Close()
		if err != nil {
			return fmt.Errorf("sentinel %s: %w", s.Addr(), err)
		}
		if len(others) < len(g.sentinels)-1 {
			return fmt.Errorf("sentinel %s knows %d other sentinels of %d", s.Addr(), len(others), len(g.sentinels)-1)
		}
		for _, r := range replicas {
			ok := false
			for _, l := range listed {
				if l["port"] == strconv.Itoa(r.Port()) && !strings.Contains(l["flags"], "down") &&
					!strings.Contains(l["flags"], "disconnected") && l["master-link-status"] == "ok" {
					ok = true
				}
			}
			if !ok {
				return fmt.Errorf("sentinel %s does not list replica %s as up: %v", s.Addr(), r.Addr(), listed)
			}
		}
	}
	return nil
}
