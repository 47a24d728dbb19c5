package apiauth

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// DefaultMaxClients is the default of LimitConfig.MaxClients.
const DefaultMaxClients = 10000

// LimitConfig configures a Limiter.
type LimitConfig struct {
	// Rate is the tokens added per second to each client's bucket; zero or less turns the limit off.
	Rate float64
	// Burst is the size of each bucket: what a client that was idle may spend at once. Default: Rate rounded up,
	// at least 1.
	Burst int
	// MaxClients bounds the buckets kept; when full, the least recently seen client's bucket is dropped (that
	// client starts again with a full bucket). Default DefaultMaxClients.
	MaxClients int
}

// Limiter is a token-bucket rate limit per client (an API key's name, an IP address), with a bounded table of
// buckets. A nil Limiter, or one with a Rate of zero, allows everything. Safe for concurrent use.
type Limiter struct {
	cfg LimitConfig
	now func() time.Time

	mu    sync.Mutex
	table map[string]*list.Element
	lru   list.List // of *bucket, most recently used first
}

type bucket struct {
	id     string
	tokens float64
	last   time.Time
}

// NewLimiter returns a Limiter; see LimitConfig for the defaults.
func NewLimiter(cfg LimitConfig) *Limiter {
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.Rate)))
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	return &Limiter{cfg: cfg, now: time.Now, table: map[string]*list.Element{}}
}

// Allow takes n tokens from id's bucket. When they are not there it takes nothing and returns false with the
// time after which they will be (a request for more than Burst tokens can never pass: it waits for a full
// bucket and must be split).
func (l *Limiter) Allow(id string, n int) (ok bool, retryAfter time.Duration) {
	if l == nil || l.cfg.Rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if el, found := l.table[id]; found {
		b = el.Value.(*bucket)
		l.lru.MoveToFront(el)
		b.tokens = min(float64(l.cfg.Burst), b.tokens+now.Sub(b.last).Seconds()*l.cfg.Rate)
		b.last = now
	} else {
		if l.lru.Len() >= l.cfg.MaxClients {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.table, old.Value.(*bucket).id)
		}
		b = &bucket{id: id, tokens: float64(l.cfg.Burst), last: now}
		l.table[id] = l.lru.PushFront(b)
	}
	if float64(n) <= b.tokens {
		b.tokens -= float64(n)
		return true, 0
	}
	missing := float64(min(n, l.cfg.Burst)) - b.tokens
	return false, time.Duration(math.Ceil(missing / l.cfg.Rate * float64(time.Second)))
}

// Len returns the number of buckets kept.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// Burst returns the size of each bucket (0 when the limiter is off).
func (l *Limiter) Burst() int {
	if l == nil || l.cfg.Rate <= 0 {
		return 0
	}
	return l.cfg.Burst
}
