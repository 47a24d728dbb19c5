// Package durable adds stream entries and waits until replicas have them (Redis WAIT, on the connection that added
// them): the durability of the emitter's Streams mode (emitter.WithDurability) and of the streams transport
// (redisadapter.StreamsConfig.DurableReplicas), written once for both.
package durable

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotDurable reports an entry that the master accepted but fewer replicas than asked acknowledged in time.
// emitter.ErrNotDurable and redisadapter.ErrNotDurable are this value, so either tests the errors of both.
var ErrNotDurable = errors.New("sioredis: entry not acknowledged by enough replicas")

// MasterFor returns the client whose pipelines reach the master of key on one connection: WAIT counts the
// writes of its own connection, which a go-redis pipeline keeps for all its commands on a Client (standalone or
// Sentinel), while a ClusterClient or a Ring would send a keyless WAIT to any node, so their entries go through
// the client of the master (or shard) owning the stream.
func MasterFor(ctx context.Context, client redis.UniversalClient, key string) (redis.Cmdable, error) {
	switch c := client.(type) {
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, key)
	case *redis.Ring:
		return c.GetShardClientForKey(key)
	}
	return client, nil
}

// Add runs the XADDs of adds and then WAIT replicas timeout in one pipeline of client (from MasterFor, for the
// adds' stream), and returns the XADDs' commands, each with its own entry id or error, and what WAIT answered:
// acked replicas (-1 when WAIT failed) and err, nil when at least replicas acknowledged, else an error wrapping
// ErrNotDurable, or WAIT's own error. go-redis bounds a pipeline's replies by the client's ReadTimeout, so timeout
// must stay below it.
func Add(ctx context.Context, client redis.Cmdable, adds []*redis.XAddArgs, replicas int, timeout time.Duration) ([]*redis.StringCmd, int, error) {
	pipe := client.Pipeline()
	cmds := make([]*redis.StringCmd, len(adds))
	for i, a := range adds {
		cmds[i] = pipe.XAdd(ctx, a)
	}
	// Pipeliner has no Wait method: the command is built as cmdable.Wait builds it.
	wait := redis.NewIntCmd(ctx, "wait", replicas, timeout.Milliseconds())
	_ = pipe.Process(ctx, wait)
	_, _ = pipe.Exec(ctx) // each command's own error is read by the caller, WAIT's below
	acked, err := wait.Result()
	switch {
	case err != nil:
		return cmds, -1, fmt.Errorf("WAIT: %w", err)
	case acked < int64(replicas):
		return cmds, int(acked), fmt.Errorf("%w: %d of %d replicas within %s", ErrNotDurable, acked, replicas, timeout)
	}
	return cmds, int(acked), nil
}
