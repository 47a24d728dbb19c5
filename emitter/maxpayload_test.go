package emitter_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// writes counts the PUBLISH, SPUBLISH and XADD commands Redis has run.
func writes(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range regexp.MustCompile(`cmdstat_(?:publish|spublish|xadd):calls=(\d+)`).FindAllStringSubmatch(info, -1) {
		c, _ := strconv.Atoi(m[1])
		n += c
	}
	return n
}

// TestMaxPayloadInEveryMode: a message over the limit (8 MiB by default, a quarter of Redis's 32 MB pub/sub
// output-buffer hard limit, beyond which Redis would disconnect every subscribing server) is refused before
// anything is sent, in every mode and for every operation; in streams mode binary data counts as the base64
// Redis receives. A message at the limit is sent.
func TestMaxPayloadInEveryMode(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	huge := strings.Repeat("x", emitter.DefaultMaxPayload)
	bin := make([]byte, emitter.DefaultMaxPayload*4/5) // fits as bytes, not as base64
	for _, mode := range []emitter.Mode{emitter.Classic, emitter.Sharded, emitter.Streams, emitter.Legacy} {
		t.Run(mode.String(), func(t *testing.T) {
			e, err := emitter.New(rdb, emitter.WithMode(mode))
			if err != nil {
				t.Fatal(err)
			}
			calls := map[string]func() (emitter.Receipt, error){
				"emit":        func() (emitter.Receipt, error) { return e.To("r").Emit(ctx, "e", huge) },
				"server-emit": func() (emitter.Receipt, error) { return e.ServerSideEmit(ctx, "e", huge) },
				"join":        func() (emitter.Receipt, error) { return e.SocketsJoin(ctx, huge) },
			}
			if mode == emitter.Legacy {
				delete(calls, "server-emit")
				delete(calls, "join")
			}
			if mode == emitter.Streams {
				calls["binary as base64"] = func() (emitter.Receipt, error) { return e.Emit(ctx, "e", bin) }
			}
			before := writes(t, rdb)
			for name, call := range calls {
				if _, err := call(); !errors.Is(err, emitter.ErrTooLarge) {
					t.Errorf("%s: %v, want ErrTooLarge", name, err)
				}
			}
			if n := writes(t, rdb) - before; n != 0 {
				t.Errorf("%d messages sent to Redis", n)
			}
			if mode != emitter.Streams {
				if _, err := e.Emit(ctx, "e", bin); err != nil {
					t.Errorf("%d bytes of binary: %v", len(bin), err)
				}
			}
		})
	}
}
