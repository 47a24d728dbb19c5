// Package clusterreload makes a go-redis ClusterClient read its Redis Cluster's slot map again after a command
// failed, for the packages that run commands on a client their user gave them (emitter, pubsub, redisadapter).
package clusterreload

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// After asks client, when it is a *redis.ClusterClient, to read the cluster's slot map again after err, the error
// of a command it ran (in the background; go-redis coalesces the requests and waits 200 ms between reloads).
// go-redis reads the map again after a MOVED answer, but a master that died answers nothing: until the map's
// periodic reload (ClusterStateReloadInterval, 60 s by default), every command for its slots dials the dead node,
// although its replica took them over within seconds. Nothing happens for nil, redis.Nil or a canceled context.
func After(client redis.UniversalClient, err error) {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return
	}
	if cc, ok := client.(*redis.ClusterClient); ok {
		cc.ReloadState(context.Background())
	}
}
