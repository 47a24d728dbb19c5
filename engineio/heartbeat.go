package engineio

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// heartbeat schedules the pings of every connection of a server, and the deadlines of their pongs, on one
// timing wheel driven by one goroutine, instead of a timer per connection: an idle connection costs a slot
// entry, not a timer.
//
// The wheel's slots are ticks of an eighth of the shorter of PingInterval and PingTimeout (at most 250 ms, at
// least 1 ms). Events keep their exact due time: when the wheel enters a tick, it sorts the entries due in it,
// and its goroutine sleeps until each, so that an event fires at its time (plus the timer's latency and at most
// hbResolution), never early and not a tick late. Pings are scheduled lead (at most maxPingLead) before their
// time, so that a ping is never late: a client that stops answering is closed PingTimeout after the ping, and
// by PingInterval + PingTimeout after the previous pong (or the handshake), as the protocol's clients and the
// reference test suite expect.
//
// A connection is scheduled again by overwriting its due time; the entry left behind is stale and skipped
// (entries are checked against the connection's current due time).
type heartbeat struct {
	// Set at creation, read without a lock.
	tick time.Duration
	lead time.Duration // pings are scheduled this much early
	base time.Time     // the origin of due times (monotonic)
	kick chan struct{} // capacity 1: an entry was added to pending (a delay shorter than a tick)

	// Guarded by mu (and so are Conn.hbDue and Conn.hbPong).
	mu      sync.Mutex
	slots   [][]hbEntry
	cur     int64     // the tick entered last: its entries are in pending
	pending []hbEntry // the entries of tick cur and any earlier one not fired yet, by due time
	running bool      // the goroutine was started
	closed  bool      // close was called: nothing is scheduled any more
	stop    chan struct{}
	done    chan struct{}
}

type hbEntry struct {
	c    *Conn
	due  int64 // in nanoseconds since base; never 0
	pong bool  // a pong deadline (else a ping to send)
}

// maxPingLead bounds how early a ping is scheduled (a quarter of the shorter of PingInterval and PingTimeout if
// that is less). It is what the timer's latency may be, on a busy machine, without the close coming late.
const maxPingLead = 50 * time.Millisecond

func newHeartbeat(cfg Config) *heartbeat {
	tick := min(cfg.PingInterval, cfg.PingTimeout) / 8
	tick = max(min(tick, 250*time.Millisecond), time.Millisecond)
	horizon := int(max(cfg.PingInterval, cfg.PingTimeout)/tick) + 2
	return &heartbeat{tick: tick, lead: min(min(cfg.PingInterval, cfg.PingTimeout)/4, maxPingLead), base: time.Now(), slots: make([][]hbEntry, horizon),
		kick: make(chan struct{}, 1)}
}

// since returns t in nanoseconds since base.
func (h *heartbeat) since(t time.Time) int64 { return int64(t.Sub(h.base)) }

// schedulePing schedules c's next ping, lead before interval from now.
func (h *heartbeat) schedulePing(c *Conn, interval time.Duration, wg *sync.WaitGroup) {
	h.schedule(c, max(interval-h.lead, 0), false, wg)
}

// schedule sets c's next heartbeat event: a ping in d, or, with pong, the end of its wait for a pong.
// It starts the wheel's goroutine if needed; wg counts it.
func (h *heartbeat) schedule(c *Conn, d time.Duration, pong bool, wg *sync.WaitGroup) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.scheduleLocked(c, d, pong, wg)
}

// extendPongWait moves the end of c's wait for a pong to d from now, if c is still waiting for one (a pong that
// came meanwhile has scheduled the next ping instead, which stays).
func (h *heartbeat) extendPongWait(c *Conn, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.hbPong && c.hbDue != 0 && h.running { // running: the wait was scheduled, so the goroutine was started
		h.scheduleLocked(c, d, true, nil)
	}
}

func (h *heartbeat) scheduleLocked(c *Conn, d time.Duration, pong bool, wg *sync.WaitGroup) {
	if h.closed {
		return
	}
	now := time.Now()
	if !h.running {
		h.running = true
		h.cur = h.since(now) / int64(h.tick)
		h.stop, h.done = make(chan struct{}), make(chan struct{})
		wg.Add(1)
		go h.run(wg, h.stop, h.done)
	}
	due := max(h.since(now)+int64(d), 1)
	c.hbDue, c.hbPong = due, pong
	e := hbEntry{c: c, due: due, pong: pong}
	if t := due / int64(h.tick); t > h.cur {
		i := int(t % int64(len(h.slots)))
		h.slots[i] = append(h.slots[i], e)
		return
	}
	// Due in the tick already entered (a delay shorter than a tick): straight into pending, and the goroutine
	// may have to wake up sooner than it planned.
	at, _ := slices.BinarySearchFunc(h.pending, due, func(x hbEntry, due int64) int { return cmp.Compare(x.due, due) })
	h.pending = slices.Insert(h.pending, at, e)
	select {
	case h.kick <- struct{}{}:
	default:
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
	t := time.NewTimer(h.tick)
	defer t.Stop()
	var fire []hbEntry
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-h.kick:
		}
		var next int64
		fire, next = h.due(h.since(time.Now()), fire[:0])
		for _, e := range fire {
			if e.pong {
				e.c.close(ReasonPingTimeout, false)
			} else {
				e.c.ping()
			}
		}
		clear(fire)
		t.Reset(time.Duration(next - h.since(time.Now())))
	}
}

// due enters the ticks up to now, collects the live entries due at or before now, and returns the time to wake
// up next: the next entry's due time, or the start of the next tick.
func (h *heartbeat) due(now int64, out []hbEntry) ([]hbEntry, int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	tick := int64(h.tick)
	nowTick := now / tick
	// After a long pause (a suspended process), one lap of the wheel holds every pending entry.
	if nowTick-h.cur > int64(len(h.slots)) {
		h.cur = nowTick - int64(len(h.slots))
	}
	added := false
	for h.cur < nowTick {
		h.cur++
		i := int(h.cur % int64(len(h.slots)))
		kept := h.slots[i][:0]
		for _, e := range h.slots[i] {
			switch {
			case !e.live():
				// stale: rescheduled or canceled
			case e.due/tick <= h.cur:
				h.pending = append(h.pending, e)
				added = true
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
	if added {
		slices.SortFunc(h.pending, func(a, b hbEntry) int { return cmp.Compare(a.due, b.due) })
	}
	n := 0
	for n < len(h.pending) && h.pending[n].due <= now {
		if e := h.pending[n]; e.live() {
			e.c.hbDue = 0
			out = append(out, e)
		}
		n++
	}
	clear(h.pending[:n])
	h.pending = h.pending[n:]
	if len(h.pending) == 0 {
		h.pending = nil // the next tick's entries start a fresh slice
	}
	next := (nowTick + 1) * tick
	if len(h.pending) > 0 && h.pending[0].due < next {
		// At most one wake-up per hbResolution: events due closer together fire together, up to that late.
		next = max(h.pending[0].due, now+int64(hbResolution))
	}
	return out, next
}

// hbResolution is the shortest sleep of the wheel's goroutine between two events: with many connections, it
// bounds the wake-ups to 1000 a second, and an event is up to that late (the ping lead absorbs it).
const hbResolution = time.Millisecond

// live reports whether e is still the connection's scheduled event (under the wheel's lock).
func (e hbEntry) live() bool { return e.c.hbDue == e.due && e.c.hbPong == e.pong }

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
