// Package workpool runs functions on goroutines that stay warm between calls. A goroutine Go starts keeps its
// stack, grown by the functions it ran, for the next ones: a short task that needs a deep stack (JSON decoding,
// say) then pays for growing it once per goroutine instead of once per task. Goroutines exist only while there
// is work, and a little after: an idle one exits after between Idle and twice Idle without a task.
package workpool

import (
	"sync"
	"time"
)

// DefaultIdle is the default of Pool.Idle.
const DefaultIdle = time.Second

// Pool runs functions on warm goroutines. The zero value is not ready: use New. It is safe for concurrent use.
type Pool struct {
	work chan func() // unbuffered: a send succeeds only when an idle goroutine receives it
	done chan struct{}
	idle time.Duration
	wg   *sync.WaitGroup
	once sync.Once
}

// New returns a pool whose goroutines wg counts (Close, then wg.Wait, waits for them) and that exit after idle
// without work (DefaultIdle when idle <= 0).
func New(wg *sync.WaitGroup, idle time.Duration) *Pool {
	if idle <= 0 {
		idle = DefaultIdle
	}
	return &Pool{work: make(chan func()), done: make(chan struct{}), idle: idle, wg: wg}
}

// Go runs f on an idle goroutine of the pool, or on a new one when none is idle. It never waits for a running
// task: a pool never limits how many functions run at once (a task may block, e.g. for a client's reply).
func (p *Pool) Go(f func()) {
	select {
	case p.work <- f:
	default:
		p.wg.Add(1)
		go p.worker(f)
	}
}

func (p *Pool) worker(f func()) {
	defer p.wg.Done()
	f()
	t := time.NewTimer(p.idle)
	defer t.Stop()
	busy := false
	for {
		select {
		case f := <-p.work:
			f()
			busy = true // the timer is not reset per task: a busy goroutine checks once per period
		case <-t.C:
			if !busy {
				return
			}
			busy = false
			t.Reset(p.idle)
		case <-p.done:
			return
		}
	}
}

// Close makes the idle goroutines exit at once, and those running a task once it returns. Go still works after
// Close; its goroutine then exits after its task.
func (p *Pool) Close() { p.once.Do(func() { close(p.done) }) }
