package reliability

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/testtools/faultproxy"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// format is a cluster format of the chat (sioredis chat --mode).
type format string

const (
	classic format = "classic"
	sharded format = "sharded"
	streams format = "streams"
)

// nodeFlavor is the Node server that joins a cluster of the format: the official adapters. The sharded one runs
// in the static subscription mode, the chat's (one channel per namespace).
func nodeFlavor(f format) testenv.Flavor {
	switch f {
	case sharded:
		return testenv.FlavorV4ShardedStatic
	case streams:
		return testenv.FlavorV4Streams
	}
	return testenv.FlavorV4Classic
}

// topology is what the chat and the Node servers run on.
type topology int

const (
	// standalone: one Redis (appendonly yes); one chat instance per lane on SQLite.
	standalone topology = iota
	// sentinel: a master, a replica and three sentinels (testenv.SentinelGroup); one chat instance per lane on
	// SQLite. Node servers use ioredis (classic and streams; the sharded adapter takes node-redis, which has no
	// Sentinel client).
	sentinel
	// cluster: a Redis Cluster of 3 masters and 3 replicas, cluster-node-timeout 1 s; one chat instance per lane on
	// SQLite.
	cluster
	// twoInstances: one Redis (appendonly yes) and one PostgreSQL; two chat instances per lane on one database, "a"
	// (started first: it publishes the outbox) connected to Redis directly, "b" through a fault proxy.
	twoInstances
)

func (t topology) String() string {
	return [...]string{"standalone Redis", "Redis Sentinel", "Redis Cluster", "two instances on PostgreSQL"}[t]
}

// hashTag puts every key and channel of every lane in one hash slot of a Redis Cluster, so that the master a
// cluster fault kills serves all of them: the worst case, where every format is hit.
const hashTag = "{f}"

// room is where every listener is and every message goes.
const room = "room_777"

// deployment is one fault's processes: the Redis topology, PostgreSQL, and a lane per format.
type deployment struct {
	t       *testing.T
	f       *fault
	redis   *testenv.Redis // standalone, twoInstances
	group   *testenv.SentinelGroup
	cluster *testenv.Cluster
	slot    int // cluster: the hash slot of hashTag
	pg      *testenv.Postgres
	lanes   []*laneRun
	clients *testenv.Clients

	evictedBefore int64 // the eviction fault: Redis's evicted_keys when it began
}

// instance is one "sioredis chat" process.
type instance struct {
	name  string // "a", "b"
	proc  *testenv.Sioredis
	proxy *faultproxy.Proxy // between it and Redis, or nil
	dead  atomic.Bool       // killed or stopped by the fault: no more POSTs, its listener no longer counts

	before, after map[string]float64 // its /metrics counters after the warm-up and at the end
}

// listener is one socket.io-client 4.8.4 connection in room_777.
type listener struct {
	name string    // client name in testenv.Clients: "<lane>/go-a", "<lane>/node"
	inst *instance // the chat instance serving it; nil for the Node server's
}

// laneRun is one lane of a deployment: a format's chat instances, its Node server, its listeners and POSTs.
type laneRun struct {
	spec      lane
	id        string // "classic", "classic-solo"
	prefix    string
	instances []*instance
	node      *testenv.NodeServer
	listeners []listener
	posts     []post          // indexed by message number
	warm      map[string]bool // ids of the warm-up messages
}

// deploy starts the fault's topology, every lane's processes (the Node servers at once) and the listeners, and checks with warm-up
// messages that every listener receives.
func deploy(t *testing.T, f *fault) *deployment {
	t.Helper()
	d := &deployment{t: t, f: f}
	redisArgs := append([]string{"--appendonly", "yes"}, f.redisArgs...)
	switch f.topo {
	case standalone, twoInstances:
		d.redis = testenv.StartRedis(t, testenv.RedisArgs(redisArgs...))
	case sentinel:
		d.group = testenv.StartSentinelGroup(t, testenv.SentinelGroupConfig{MasterName: "mymaster", RedisArgs: f.redisArgs})
	case cluster:
		d.cluster = testenv.StartRedisClusterWith(t, testenv.ClusterConfig{Masters: 3, ReplicasPerMaster: 1,
			NodeTimeout: time.Second, RedisArgs: f.redisArgs})
		d.slot = d.cluster.Slot(t, hashTag)
	}
	if f.topo == twoInstances {
		d.pg = testenv.StartPostgres(t)
	}
	var nodes []testenv.NodeServerConfig
	var nodeLanes []*laneRun
	for _, spec := range f.lanes {
		l := d.startLane(spec)
		d.lanes = append(d.lanes, l)
		if spec.node && d.nodeSupported(spec.format) {
			cfg := testenv.NodeServerConfig{Flavor: nodeFlavor(spec.format), Prefix: l.prefix}
			switch f.topo {
			case sentinel:
				cfg.SentinelAddrs, cfg.SentinelMaster = d.group.SentinelAddrs(), d.group.MasterName()
				// The Node servers are configured to follow planned failovers too (docs/reliability.md shows the
				// default: a Node server left on the demoted master, which never receives again).
				cfg.FailoverDetector = true
			case cluster:
				cfg.RedisAddrs = d.cluster.Addrs()
			default:
				cfg.RedisAddrs = []string{d.redis.Addr()}
			}
			nodes = append(nodes, cfg)
			nodeLanes = append(nodeLanes, l)
		}
	}
	for i, srv := range testenv.StartNodeServers(t, nodes...) {
		l := nodeLanes[i]
		l.node = srv
		l.listeners = append(l.listeners, listener{name: l.id + "/node"})
	}
	var specs []testenv.ClientSpec
	for _, l := range d.lanes {
		for _, ls := range l.listeners {
			url := ""
			if ls.inst != nil {
				url = ls.inst.proc.URL
			} else {
				url = l.node.URL()
			}
			specs = append(specs, testenv.ClientSpec{Name: ls.name, URL: url, Rooms: []string{room}, ConnectOnly: ls.inst != nil})
		}
	}
	d.clients = testenv.StartClients(t, 4, specs)
	for _, l := range d.lanes {
		d.warmUp(l)
	}
	return d
}

func (d *deployment) startLane(spec lane) *laneRun {
	t := d.t
	t.Helper()
	l := &laneRun{spec: spec, id: spec.id(), warm: map[string]bool{}}
	l.prefix = hashTag + l.id
	n := 1
	if d.f.topo == twoInstances {
		n = 2
	}
	var dbURL string
	if d.pg != nil {
		dbURL = d.pg.CreateDatabase(strings.ReplaceAll(l.id, "-", "_"))
	}
	for i := range n {
		inst := &instance{name: string(rune('a' + i))}
		args := []string{"chat", "--addr", "127.0.0.1:0", "--log-format", "json", "--mode", string(spec.format), "--prefix", l.prefix}
		switch d.f.topo {
		case standalone:
			args = append(args, "--redis", d.redis.URL())
		case twoInstances:
			addr := d.redis.Addr()
			if inst.name == "b" {
				p, err := faultproxy.Listen(faultproxy.Config{Target: addr, ReadBuffer: d.f.proxyReadBuffer})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = p.Close() })
				inst.proxy, addr = p, p.Addr()
			}
			args = append(args, "--redis", "redis://"+addr)
		case sentinel:
			args = append(args, "--redis", strings.Join(d.group.SentinelAddrs(), ","), "--sentinel-master", d.group.MasterName())
		case cluster:
			args = append(args, "--redis", strings.Join(d.cluster.Addrs(), ","), "--cluster")
		}
		if dbURL != "" {
			args = append(args, "--db", dbURL)
		} else {
			args = append(args, "--db", filepath.Join(t.TempDir(), "chat.db"))
		}
		inst.proc = testenv.StartSioredis(t, testenv.SioredisConfig{Args: args})
		if d.f.topo == twoInstances && inst.name == "a" {
			// a holds the outbox before b starts: the faults know which instance publishes.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := inst.proc.WaitLog(ctx, func(s string) bool { return strings.Contains(s, "publishes the outbox") })
			cancel()
			if err != nil {
				t.Fatalf("lane %s: instance a did not take the outbox: %v", l.id, err)
			}
		}
		l.instances = append(l.instances, inst)
		l.listeners = append(l.listeners, listener{name: l.id + "/go-" + inst.name, inst: inst})
	}
	return l
}

// nodeSupported reports whether the official adapter of the format runs on the topology: the sharded adapter
// needs node-redis, which has no Sentinel client.
func (d *deployment) nodeSupported(f format) bool { return !(d.f.topo == sentinel && f == sharded) }

// warmUp posts a message to each instance in turn until every listener of the lane has received one: the
// listeners have joined the room and every server has subscribed. The relay's server count is then the whole
// cluster's.
func (d *deployment) warmUp(l *laneRun) {
	t := d.t
	t.Helper()
	client := newHTTPClient()
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(45 * time.Second)
	for i := 0; ; i++ {
		inst := l.instances[i%len(l.instances)]
		if p := doPost(client, inst.proc.URL, "warm-up", 0); p.accepted() {
			l.warm[p.id] = true
		} else {
			t.Logf("lane %s: warm-up POST to %s: %d %s", l.id, inst.name, p.code, p.err)
		}
		all := true
		for _, ls := range l.listeners {
			if len(messageEvents(d.clients, ls.name)) == 0 {
				all = false
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			var got []string
			for _, ls := range l.listeners {
				got = append(got, fmt.Sprintf("%s: %d", ls.name, len(messageEvents(d.clients, ls.name))))
			}
			t.Fatalf("lane %s: warm-up messages did not reach every listener in 45 s (%s)", l.id, strings.Join(got, ", "))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// redisClient returns a go-redis client of the current master (standalone and twoInstances: the one Redis).
func (d *deployment) redisClient() redis.UniversalClient {
	switch {
	case d.group != nil:
		return d.group.Client(d.t)
	case d.cluster != nil:
		return d.cluster.Client(d.t)
	}
	return d.redis.Client(d.t)
}

// publisher returns the lane's instance that holds the outbox: with two instances, the last one that logged
// taking it.
func (l *laneRun) publisher() *instance {
	var last *instance
	var at time.Time
	for _, inst := range l.instances {
		for _, line := range inst.proc.Log() {
			if strings.Contains(line.Text, "publishes the outbox") && line.At.After(at) {
				last, at = inst, line.At
			}
		}
	}
	if last == nil {
		return l.instances[0]
	}
	return last
}

// other returns the lane's instance other than inst.
func (l *laneRun) other(inst *instance) *instance {
	for _, i := range l.instances {
		if i != inst {
			return i
		}
	}
	return nil
}
