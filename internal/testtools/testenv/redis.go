package testenv

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is one redis-server process listening on 127.0.0.1, started by [StartRedis]. It runs without persistence
// in a temporary directory and is stopped at test cleanup.
type Redis struct {
	tb   testing.TB
	bin  string
	port int
	args []string // full command line after the binary

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	output *tailBuffer
}

// RedisOption configures [StartRedis].
type RedisOption func(*redisConfig)

type redisConfig struct {
	args    []string
	cluster bool
}

// RedisArgs appends command-line arguments to redis-server, for example RedisArgs("--maxmemory", "64mb").
func RedisArgs(args ...string) RedisOption {
	return func(c *redisConfig) { c.args = append(c.args, args...) }
}

// clusterNode makes the server a Redis Cluster node with its own cluster bus port (cluster-port).
func clusterNode() RedisOption {
	return func(c *redisConfig) { c.cluster = true }
}

const (
	redisStartTimeout = 10 * time.Second
	redisStopTimeout  = 5 * time.Second
)

// StartRedis starts redis-server on a free loopback port, waits until it answers PING and registers its shutdown
// with tb.Cleanup.
func StartRedis(tb testing.TB, opts ...RedisOption) *Redis {
	tb.Helper()
	var cfg redisConfig
	for _, o := range opts {
		o(&cfg)
	}
	bin := lookPath(tb, "redis-server", "install it (apt-get install redis-server)")
	dir := tb.TempDir()
	var lastErr error
	for range 3 { // a free port can be taken by someone else before redis-server binds it: retry with new ones
		nPorts := 1
		if cfg.cluster {
			nPorts = 2
		}
		ports := freePorts(tb, nPorts)
		args := []string{
			"--port", strconv.Itoa(ports[0]),
			"--bind", "127.0.0.1",
			"--save", "",
			"--appendonly", "no",
			"--dir", dir,
			"--daemonize", "no",
		}
		if cfg.cluster {
			args = append(args,
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-port", strconv.Itoa(ports[1]),
				"--cluster-node-timeout", "5000",
			)
		}
		args = append(args, cfg.args...)
		r := &Redis{tb: tb, bin: bin, port: ports[0], args: args}
		err := r.start()
		if err == nil {
			tb.Cleanup(r.Stop)
			return r
		}
		lastErr = err
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	tb.Fatalf("testenv: start redis-server: %v", lastErr)
	return nil
}

func (r *Redis) start(extra ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return errors.New("already running")
	}
	output := newTailBuffer(32 << 10)
	cmd := exec.Command(r.bin, append(append([]string(nil), r.args...), extra...)...)
	cmd.Stdout = output
	cmd.Stderr = output
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(redisStartTimeout)
	for {
		reply, err := respDo(r.Addr(), time.Second, "PING")
		if err == nil && reply == "PONG" {
			break
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server exited during start-up:\n%s", output.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server did not answer PING within %v (last error: %v):\n%s",
				redisStartTimeout, err, output.String())
		}
	}
	r.cmd, r.done, r.output = cmd, done, output
	return nil
}

// Addr returns "127.0.0.1:port".
func (r *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// URL returns "redis://127.0.0.1:port".
func (r *Redis) URL() string { return "redis://" + r.Addr() }

// Port returns the TCP port the server listens on; it stays the same across [Redis.Restart].
func (r *Redis) Port() int { return r.port }

// Output returns the end of the server's log.
func (r *Redis) Output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.output == nil {
		return ""
	}
	return r.output.String()
}

// Stop stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. Its data is lost. Stopping a
// stopped server does nothing.
func (r *Redis) Stop() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(redisStopTimeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Kill ends the server with SIGKILL, as a crash or an out-of-memory kill would (nothing flushed, no goodbye to
// clients or replicas), and waits for it to exit. Killing a stopped server does nothing.
func (r *Redis) Kill() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Running reports whether the server process is running (started and neither stopped nor killed).
func (r *Redis) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd != nil
}

// RestartAsReplicaOf stops the server if it is running and starts it again on the same port and directory as a
// replica of master (--replicaof), for a former master that comes back after a failover. The next Restart starts
// it with its original arguments.
func (r *Redis) RestartAsReplicaOf(master *Redis) {
	r.tb.Helper()
	r.Stop()
	if err := r.start("--replicaof", "127.0.0.1", strconv.Itoa(master.port)); err != nil {
		r.tb.Fatalf("testenv: restart redis-server on port %d as a replica: %v", r.port, err)
	}
}

// Restart stops the server if it is running and starts it again on the same port and directory, for reconnection
// tests. Clients see their connections closed; data is lost (a cluster node keeps its nodes.conf and rejoins).
func (r *Redis) Restart() {
	r.tb.Helper()
	r.Stop()
	if err := r.start(); err != nil {
		r.tb.Fatalf("testenv: restart redis-server on port %d: %v", r.port, err)
	}
}

// Client returns a go-redis client for this server, closed at test cleanup.
func (r *Redis) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr()})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}
