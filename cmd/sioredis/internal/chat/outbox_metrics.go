package chat

import (
	"context"
	"time"
)

// OutboxDepth returns the number of saved messages not yet published, by this instance or any other sharing
// the database.
func (a *App) OutboxDepth(ctx context.Context) (int, error) {
	_, pending, err := a.cfg.Store.Count(ctx)
	return pending, err
}

// PublishLag returns how long the oldest message not yet published has been waiting since the relay first read
// it (0 when every message is published), and whether this instance publishes the outbox: with several
// instances on PostgreSQL, only the publishing one knows the lag (the others return 0, false).
func (a *App) PublishLag() (lag time.Duration, publishing bool) { return a.relay.publishLag() }
