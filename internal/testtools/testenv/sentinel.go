package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
)

// StartSentinel starts a Redis Sentinel (redis-server in sentinel mode) on a free loopback port that monitors
// master under masterName, and waits until it answers PING and knows the master. Its Addr is what a
// Sentinel-backed client (redis.NewFailoverClient, or UniversalOptions with MasterName) is given.
func StartSentinel(tb testing.TB, masterName string, master *Redis) *Redis {
	tb.Helper()
	bin := lookPath(tb, "redis-server", "install it (apt-get install redis-server)")
	dir := tb.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	text := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 5000\n",
		masterName, master.Port(), masterName)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	port := freePorts(tb, 1)[0]
	s := &Redis{tb: tb, bin: bin, port: port, args: []string{
		conf, "--sentinel", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no",
	}}
	if err := s.start(); err != nil {
		tb.Fatalf("testenv: start redis sentinel: %v", err)
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
