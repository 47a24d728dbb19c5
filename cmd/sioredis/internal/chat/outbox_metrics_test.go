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

// TestSavedTimes: a message this instance saved is measured from the instant noted, one it did not from its
// created_at; the entries stay at most maxSavedTimes, the ones older than a minute making room.
func TestSavedTimes(t *testing.T) {
	var s savedTimes
	t0 := time.Date(2026, 12, 8, 10, 0, 0, 900_000_000, time.UTC)
	s.note(1, t0)
	if lag, ok := s.lag(Message{Seq: 1, CreatedAt: t0.Format(TimeLayout)}, t0.Add(14*time.Millisecond)); !ok || lag != 14*time.Millisecond {
		t.Errorf("noted message: lag %v %v, want 14ms", lag, ok)
	}
	// Taken once: the same message again (another instance's copy, a retry) is measured from created_at.
	if lag, ok := s.lag(Message{Seq: 1, CreatedAt: t0.Format(TimeLayout)}, t0.Add(14*time.Millisecond)); !ok || lag != 914*time.Millisecond {
		t.Errorf("unnoted message: lag %v %v, want 914ms (from the whole second)", lag, ok)
	}
	for i := range int64(maxSavedTimes) {
		s.note(100+i, t0)
	}
	s.note(1, t0.Add(time.Second)) // full, nothing older than a minute: not kept
	if len(s.at) != maxSavedTimes || !s.at[1].IsZero() {
		t.Fatalf("%d entries, seq 1 kept: %v", len(s.at), !s.at[1].IsZero())
	}
	s.note(2, t0.Add(2*time.Minute)) // full: the entries older than a minute go
	if len(s.at) != 1 || s.at[2].IsZero() {
		t.Errorf("%d entries after pruning, want only seq 2", len(s.at))
	}
}
