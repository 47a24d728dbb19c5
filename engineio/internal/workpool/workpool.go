// Package workpool runs functions on goroutines that stay warm between calls. A goroutine Go starts keeps its
// stack, grown by the functions it ran, for the next ones: a short task that needs a deep stack (JSON decoding,
// say) then pays for growing it once per goroutine instead of once per task. Goroutines exist only while there
// is work, and a little after: an idle one exits once it has had no task for the pool's idle time.
//
// A few goroutines run the tasks, as many as the pool's limit: past it, tasks wait in a queue, oldest first, for
// the next goroutine to finish. A task that blocks does not hold the others up for long: one that has run for
// the pool's stall time no longer counts against the limit, and another goroutine takes the queue on.
package workpool

import (
	"runtime"
	"sync"
	"time"

	"github.com/sioredis/sioredis/internal/fifo"
)

// DefaultIdle is the idle time New uses when it is given none.
const DefaultIdle = time.Second

// DefaultStall is how long a task runs before the pool no longer counts it against its limit: it is then taken
// to be blocked (waiting for the network, a lock, another client), not using a processor.
const DefaultStall = time.Millisecond

// Pool runs functions on warm goroutines. The zero value is not ready: use New. It is safe for concurrent use.
//
// The idle goroutines form a stack: Go hands a task to the one that finished last (its stack and caches are the
// warmest) through a channel of its own, which costs no select and no timer per task; one timer for the pool
// ends the goroutines at the bottom of the stack, idle the longest, once their idle time has passed.
//
// At most limit tasks run at once, twice GOMAXPROCS: a server whose every connection became readable at once
// used to start a goroutine for each (a thousand of them, whose stacks the garbage collector shrank and the
// next task grew again) where a few, each taking the next task as it finishes one, do the same work with warm
// stacks and caches, in the order it came. A second timer, armed while tasks wait, checks every stall time
// for tasks that have run that long; each no longer counts against the limit, so a waiting task is started on
// another goroutine after at most about twice the stall time. When no task at all has ended since the last
// check, every waiting task is started: a thousand that each block wait one or two stall times in all, not a
// thousand divided by the limit.
type Pool struct {
	idle  time.Duration
	stall time.Duration
	limit int
	wg    *sync.WaitGroup

	mu       sync.Mutex
	waiting  []*worker        // idle goroutines, the longest idle first
	running  []*worker        // goroutines running a task, each at its slot
	stuck    int              // of running, those whose task has run for the stall time (worker.stuck)
	finished uint64           // tasks run to their end, ever
	seen     uint64           // finished at the last unstall
	queue    fifo.Queue[Task] // tasks waiting for a goroutine, the oldest first
	closed   bool
	timer    *time.Timer // runs reap; armed while waiting is not empty
	armed    bool
	watch    *time.Timer // runs unstall; armed while tasks wait
	watching bool
}

// Task is work for a Pool. A pointer that has a Run method is handed over without an allocation, unlike a method
// value.
type Task interface{ Run() }

// worker is one goroutine of the pool.
type worker struct {
	next      chan Task // capacity 1: its next task, or nil to exit
	idleSince time.Time
	started   time.Time // when it was given its current task
	slot      int       // its index in running
	stuck     bool      // counted in Pool.stuck
}

// New returns a pool whose goroutines wg counts (Close, then wg.Wait, waits for them) and that exit after idle
// without work (DefaultIdle when idle <= 0).
func New(wg *sync.WaitGroup, idle time.Duration) *Pool {
	if idle <= 0 {
		idle = DefaultIdle
	}
	p := &Pool{idle: idle, stall: DefaultStall, limit: 2 * runtime.GOMAXPROCS(0), wg: wg}
	p.timer = time.AfterFunc(time.Hour, p.reap)
	p.timer.Stop()
	p.watch = time.AfterFunc(time.Hour, p.unstall)
	p.watch.Stop()
	return p
}

// Go runs t on an idle goroutine of the pool, or on a new one when none is idle; when the pool runs as many
// tasks as its limit, t waits for one of them to end (or to stall). It never blocks. After Close, t still runs,
// on a goroutine that exits after it.
func (p *Pool) Go(t Task) {
	p.mu.Lock()
	if !p.closed && len(p.running)-p.stuck >= p.limit {
		p.queue.Push(t)
		if !p.watching {
			p.watching = true
			p.watch.Reset(p.stall)
		}
		p.mu.Unlock()
		return
	}
	w, fresh := p.startLocked()
	p.mu.Unlock()
	if fresh {
		go p.run(w, t)
	} else {
		w.next <- t
	}
}

// startLocked takes an idle goroutine, or makes one (fresh: the caller starts it), and counts it as running.
func (p *Pool) startLocked() (w *worker, fresh bool) {
	if n := len(p.waiting); n > 0 {
		w = p.waiting[n-1]
		p.waiting[n-1] = nil
		p.waiting = p.waiting[:n-1]
	} else {
		w, fresh = &worker{next: make(chan Task, 1)}, true
		p.wg.Add(1)
	}
	w.started = time.Now()
	w.slot = len(p.running)
	p.running = append(p.running, w)
	return w, fresh
}

// takeLocked removes the oldest waiting task from the queue.
func (p *Pool) takeLocked() Task {
	t := p.queue.Pop()
	p.queue.Trim(maxKeptQueue)
	return t
}

// handLocked runs t on an idle goroutine, or on a new one.
func (p *Pool) handLocked(t Task) {
	if w, fresh := p.startLocked(); fresh {
		go p.run(w, t)
	} else {
		w.next <- t // idle: its channel is empty
	}
}

// maxKeptQueue is the largest queue array the pool keeps once its queue is empty.
const maxKeptQueue = 256

func (p *Pool) run(w *worker, t Task) {
	defer p.wg.Done()
	for t != nil {
		t.Run()
		p.mu.Lock()
		p.finished++
		if w.stuck {
			w.stuck = false
			p.stuck--
		}
		if p.queue.Len() > 0 && len(p.running)-p.stuck <= p.limit {
			t = p.takeLocked()
			w.started = time.Now()
			p.mu.Unlock()
			continue
		}
		last := p.running[len(p.running)-1]
		p.running[w.slot], last.slot = last, w.slot
		p.running[len(p.running)-1] = nil
		p.running = p.running[:len(p.running)-1]
		if p.closed {
			p.mu.Unlock()
			return
		}
		w.idleSince = time.Now()
		p.waiting = append(p.waiting, w)
		if !p.armed {
			p.armed = true
			p.timer.Reset(p.idle)
		}
		p.mu.Unlock()
		t = <-w.next
	}
}

// unstall stops counting against the limit the tasks that have run for the stall time, starts waiting tasks
// in their place, and re-arms its timer while tasks still wait.
func (p *Pool) unstall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watching = false
	if p.closed {
		return
	}
	now := time.Now()
	for _, w := range p.running {
		if !w.stuck && now.Sub(w.started) >= p.stall {
			w.stuck = true
			p.stuck++
		}
	}
	// No task ended for a whole stall time: every running one blocks (handlers waiting for a database, say),
	// and so may the waiting ones. Start them all, as if there were no limit, rather than a few per stall time.
	all := p.finished == p.seen
	p.seen = p.finished
	for p.queue.Len() > 0 && (all || len(p.running)-p.stuck < p.limit) {
		p.handLocked(p.takeLocked())
	}
	if p.queue.Len() > 0 {
		p.watching = true
		p.watch.Reset(p.stall)
	}
}

// reap ends the goroutines idle for the pool's idle time, and re-arms the timer for the next one.
func (p *Pool) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = false
	if p.closed {
		return
	}
	now := time.Now()
	k := 0
	for k < len(p.waiting) && now.Sub(p.waiting[k].idleSince) >= p.idle {
		p.waiting[k].next <- nil // idle: its channel is empty
		k++
	}
	n := copy(p.waiting, p.waiting[k:])
	clear(p.waiting[n:])
	p.waiting = p.waiting[:n]
	if n > 0 {
		p.armed = true
		p.timer.Reset(p.idle - now.Sub(p.waiting[0].idleSince))
	}
}

// Close ends the idle goroutines and starts every waiting task on a goroutine of its own; the busy goroutines
// end after their task. A second call does nothing.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.timer.Stop()
	p.watch.Stop()
	for _, w := range p.waiting {
		w.next <- nil
	}
	clear(p.waiting)
	p.waiting = nil
	for p.queue.Len() > 0 {
		p.handLocked(p.takeLocked()) // on a new goroutine: none is idle now
	}
}
