package chat

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestOutboxGetters: while Redis refuses PUBLISH, the outbox holds the message and its lag grows; once Redis
// accepts, both come back to zero.
func TestOutboxGetters(t *testing.T) {
	rs := startACLRedis(t, aclNoPublish)
	rdb := rs.Client(t)
	app := startApp(t, Config{Store: openTestStore(t), Redis: rdb, PublishWait: -1})
	ctx := context.Background()
	post(t, app.url, Post{Room: "r", Body: "held"}, http.StatusAccepted)
	testenv.WaitFor(t, func() bool {
		depth, err := app.OutboxDepth(ctx)
		lag, publishing := app.PublishLag()
		return err == nil && depth == 1 && publishing && lag > 50*time.Millisecond
	})
	allowPublish(t, rdb)
	testenv.WaitFor(t, func() bool {
		depth, err := app.OutboxDepth(ctx)
		lag, publishing := app.PublishLag()
		return err == nil && depth == 0 && publishing && lag == 0
	})
}
