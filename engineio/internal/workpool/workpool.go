// Package workpool runs functions on goroutines that stay warm between calls. A goroutine Go starts keeps its
// stack, grown by the functions it ran, for the next ones: a short task that needs a deep stack (JSON decoding,
// say) then pays for growing it once per goroutine instead of once per task. Goroutines exist only while there
// is work, and a little after: an idle one exits once it has had no task for the pool's idle time.
package workpool

import (
	"sync"
	"time"
)

// DefaultIdle is the idle time New uses when it is given none.
const DefaultIdle = time.Second

// Pool runs functions on warm goroutines. The zero value is not ready: use New. It is safe for concurrent use.
//
// The idle goroutines form a stack: Go hands a task to the one that finished last (its stack and caches are the
// warmest) through a channel of its own, which costs no select and no timer per task; one timer for the pool
// ends the goroutines at the bottom of the stack, idle the longest, once their idle time has passed.
type Pool struct {
	idle time.Duration
	wg   *sync.WaitGroup

	mu      sync.Mutex
	waiting []*worker // idle goroutines, the longest idle first
	closed  bool
	timer   *time.Timer // runs reap; armed while waiting is not empty
	armed   bool
}

// Task is work for a Pool. A pointer that has a Run method is handed over without an allocation, unlike a method
// value.
type Task interface{ Run() }

// worker is one goroutine of the pool.
type worker struct {
	next      chan Task // capacity 1: its next task, or nil to exit
	idleSince time.Time
}

// New returns a pool whose goroutines wg counts (Close, then wg.Wait, waits for them) and that exit after idle
// without work (DefaultIdle when idle <= 0).
func New(wg *sync.WaitGroup, idle time.Duration) *Pool {
	if idle <= 0 {
		idle = DefaultIdle
	}
	p := &Pool{idle: idle, wg: wg}
	p.timer = time.AfterFunc(time.Hour, p.reap)
	p.timer.Stop()
	return p
}

// Go runs t on an idle goroutine of the pool, or on a new one when none is idle. It never blocks. After Close,
// t still runs, on a goroutine that exits after it.
func (p *Pool) Go(t Task) {
	p.mu.Lock()
	if n := len(p.waiting); n > 0 {
		w := p.waiting[n-1]
		p.waiting[n-1] = nil
		p.waiting = p.waiting[:n-1]
		p.mu.Unlock()
		w.next <- t
		return
	}
	p.mu.Unlock()
	p.wg.Add(1)
	go p.run(&worker{next: make(chan Task, 1)}, t)
}

func (p *Pool) run(w *worker, t Task) {
	defer p.wg.Done()
	for t != nil {
		t.Run()
		p.mu.Lock()
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

// Close ends the idle goroutines; the busy ones end after their task. A second call does nothing.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.timer.Stop()
	for _, w := range p.waiting {
		w.next <- nil
	}
	clear(p.waiting)
	p.waiting = nil
}
