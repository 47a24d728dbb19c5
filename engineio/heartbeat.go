package engineio

import (
	"sync"
	"time"
)

// heartbeat schedules the pings of every connection of a server, and the deadlines of their pongs, on one
// timing wheel driven by one goroutine, instead of a timer per connection: an idle connection costs a slot
// entry, not a timer. Its resolution, tick, is an eighth of the shorter of PingInterval and PingTimeout, at
// most 250 ms and at least 1 ms; pings and timeouts fire up to one tick late, never early.
//
// A connection is scheduled again by overwriting its due time; the entry left in the older slot is stale and
// skipped (entries are checked against the connection's current due time).
type heartbeat struct {
	tick time.Duration

	mu      sync.Mutex
	slots   [][]hbEntry
	now     int64 // the tick processed last
	running bool  // the goroutine was started
	closed  bool  // close was called: nothing is scheduled any more
	stop    chan struct{}
	done    chan struct{}
}

type hbEntry struct {
	c    *Conn
	due  int64 // in ticks since the Unix epoch
	pong bool  // a pong deadline (else a ping to send)
}

func newHeartbeat(cfg Config) *heartbeat {
	tick := min(cfg.PingInterval, cfg.PingTimeout) / 8
	tick = max(min(tick, 250*time.Millisecond), time.Millisecond)
	horizon := int(max(cfg.PingInterval, cfg.PingTimeout)/tick) + 2
	return &heartbeat{tick: tick, slots: make([][]hbEntry, horizon)}
}

func (h *heartbeat) ticks(t time.Time) int64 { return t.UnixNano() / int64(h.tick) }

// schedule sets c's next heartbeat event: a ping in d, or, with pong, the end of its wait for a pong.
// It starts the wheel's goroutine if needed; wg counts it.
func (h *heartbeat) schedule(c *Conn, d time.Duration, pong bool, wg *sync.WaitGroup) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	// Rounded up: an event fires at or after its time.
	due := h.ticks(time.Now().Add(d)) + 1
	c.hbDue, c.hbPong = due, pong
	i := int(due % int64(len(h.slots)))
	h.slots[i] = append(h.slots[i], hbEntry{c: c, due: due, pong: pong})
	if !h.running {
		h.running = true
		h.now = h.ticks(time.Now())
		h.stop, h.done = make(chan struct{}), make(chan struct{})
		wg.Add(1)
		go h.run(wg, h.stop, h.done)
	}
}

// cancel drops c's scheduled event.
func (h *heartbeat) cancel(c *Conn) {
	h.mu.Lock()
	c.hbDue = 0
	h.mu.Unlock()
}

func (h *heartbeat) run(wg *sync.WaitGroup, stop <-chan struct{}, done chan<- struct{}) {
	defer wg.Done()
	defer close(done)
	t := time.NewTicker(h.tick)
	defer t.Stop()
	var fire []hbEntry
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			fire = h.due(h.ticks(now), fire[:0])
			for _, e := range fire {
				if e.pong {
					e.c.close(ReasonPingTimeout, false)
				} else {
					e.c.ping()
				}
			}
			clear(fire)
		}
	}
}

// due collects the live entries of the slots up to tick now.
func (h *heartbeat) due(now int64, out []hbEntry) []hbEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	// After a long pause (a suspended process), one lap of the wheel holds every pending entry.
	if now-h.now > int64(len(h.slots)) {
		h.now = now - int64(len(h.slots))
	}
	for ; h.now < now; h.now++ {
		i := int((h.now + 1) % int64(len(h.slots)))
		kept := h.slots[i][:0]
		for _, e := range h.slots[i] {
			switch {
			case e.c.hbDue != e.due || e.c.hbPong != e.pong:
				// stale: rescheduled or canceled
			case e.due <= now:
				e.c.hbDue = 0
				out = append(out, e)
			default:
				kept = append(kept, e) // due on a later lap
			}
		}
		clear(h.slots[i][len(kept):])
		h.slots[i] = kept
		if len(kept) == 0 && cap(kept) > 64 {
			h.slots[i] = nil
		}
	}
	return out
}

// close stops the wheel's goroutine for good and waits for it.
func (h *heartbeat) close() {
	h.mu.Lock()
	stop, done := h.stop, h.done
	h.closed, h.stop = true, nil // a second close finds nothing to stop
	h.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}
