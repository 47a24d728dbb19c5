package chat

import (
	"context"
	"sync"
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

// savedTimes remembers when this instance saved each message, to the nanosecond of its monotonic clock, until
// its relay publishes it: the publish lag is then measured from that instant, where the message's created_at
// (what another instance, or this one before a restart, left in the database) has only whole seconds. It holds
// at most maxSavedTimes messages; when full, the entries older than a minute go (messages that another instance
// published), and a message that still finds no room is measured from its created_at. Safe for concurrent use.
type savedTimes struct {
	mu sync.Mutex
	at map[int64]time.Time // by sequence number
}

// maxSavedTimes bounds savedTimes.
const maxSavedTimes = 10000

func (s *savedTimes) note(seq int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at == nil {
		s.at = make(map[int64]time.Time)
	}
	if len(s.at) >= maxSavedTimes {
		for k, t := range s.at {
			if at.Sub(t) > time.Minute {
				delete(s.at, k)
			}
		}
		if len(s.at) >= maxSavedTimes {
			return
		}
	}
	s.at[seq] = at
}

// lag returns how long ago m was saved, at now: from the instant noted for it, else from its created_at.
func (s *savedTimes) lag(m Message, now time.Time) (time.Duration, bool) {
	s.mu.Lock()
	at, ok := s.at[m.Seq]
	delete(s.at, m.Seq)
	s.mu.Unlock()
	if !ok {
		t, err := time.Parse(TimeLayout, m.CreatedAt)
		if err != nil {
			return 0, false
		}
		at = t
	}
	return max(now.Sub(at), 0), true
}
