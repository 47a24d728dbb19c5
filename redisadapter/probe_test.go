package redisadapter_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// TestProbeCountsServersAndDisturbsNone checks emitter.Probe against real servers of each pub/sub format: its
// count is the number of servers of the namespace (a Go server and a Node server; the socket.io 2 server alone
// in the legacy format), a namespace nobody serves counts 0, and no client receives anything, no server logs an
// error: the probe is ignored by every adapter, including one whose sockets are in the probe's room.
func TestProbeCountsServersAndDisturbsNone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flavor testenv.Flavor
		mode   emitter.Mode
		goSrv  func(rdb *redis.Client) (socketio.Cluster, func(context.Context) error)
		want   int
	}{
		{"classic", testenv.FlavorV4Classic, emitter.Classic, func(rdb *redis.Client) (socketio.Cluster, func(context.Context) error) {
			a := redisadapter.New(rdb, redisadapter.Config{})
			return a, a.WaitReady
		}, 2},
		{"sharded", testenv.FlavorV4ShardedDynamic, emitter.Sharded, func(rdb *redis.Client) (socketio.Cluster, func(context.Context) error) {
			a := redisadapter.NewSharded(rdb, redisadapter.ShardedConfig{})
			return a, a.WaitReady
		}, 2},
		{"legacy", testenv.FlavorV2Classic, emitter.Legacy, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := testenv.StartRedis(t)
			rdb := rs.Client(t)
			node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: tc.flavor, RedisAddrs: []string{rs.Addr()}})
			// Sockets in the probe's own room too: an adapter that decoded the probe as a broadcast would deliver it.
			specs := []testenv.ClientSpec{node.Client("n1", "/", "r1", "sioredis:probe")}
			if tc.goSrv != nil {
				cl, ready := tc.goSrv(rdb)
				g := startGoServerOn(t, "g", socketio.Config{Cluster: cl}, ready)
				specs = append(specs, testenv.ClientSpec{Name: "g1", URL: g.url, Rooms: []string{"r1", "sioredis:probe"}})
			}
			version := 4
			if tc.flavor == testenv.FlavorV2Classic {
				version = 2
			}
			clients := testenv.StartClients(t, version, specs)
			em, err := emitter.New(rdb, emitter.WithMode(tc.mode))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var rc emitter.Receipt
			testenv.WaitFor(t, func() bool { // the Node server subscribes on its own time
				rc, err = em.Probe(ctx)
				return err == nil && rc.Receivers == tc.want
			})
			if rc, err := em.Of("/nobody").Probe(ctx); err != nil || rc.Receivers != 0 {
				t.Errorf("probe of a namespace nobody serves: %+v, %v", rc, err)
			}
			for range 5 {
				if _, err := em.Probe(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := em.To("r1").Emit(ctx, "after-probes"); err != nil {
				t.Fatal(err)
			}
			for _, c := range clients.Names() {
				ev, err := clients.WaitEvent(ctx, c, func(testenv.Event) bool { return true })
				if err != nil || ev.Name != "after-probes" {
					t.Errorf("%s: first event %q (%v), want after-probes: a probe reached it", c, ev.Name, err)
				}
			}
			if out := node.Stderr(); strings.Contains(strings.ToLower(out), "error") {
				t.Errorf("the Node server logged an error:\n%s", out)
			}
		})
	}
	if _, err := emitterStreams(t).Probe(context.Background()); err == nil {
		t.Error("a probe in the streams mode: no error")
	}
}

func emitterStreams(t *testing.T) *emitter.Emitter {
	t.Helper()
	rs := testenv.StartRedis(t)
	em, err := emitter.New(rs.Client(t), emitter.WithMode(emitter.Streams))
	if err != nil {
		t.Fatal(err)
	}
	return em
}
