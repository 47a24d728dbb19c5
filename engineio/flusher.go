package engineio

import "sync"

// This file holds the server's flushers; what they run per connection, flushReady, is in websocket_write.go.

// flushPool is the server's pool of flushers: goroutines that write the queued packets of WebSocket connections
// without blocking, one connection at a time, so that a broadcast wakes no goroutine per connection and a
// connection's packets queued meanwhile go out in one system call. Flushers exist only while there is work.
type flushPool struct {
	// Set at creation.
	max int             // the most flushers at once
	wg  *sync.WaitGroup // the server's: one per flusher

	// Guarded by mu.
	mu      sync.Mutex
	q       []*Conn // the connections to flush, from head on
	head    int
	workers int // flushers running
}

// push queues c for a flusher, starting one if fewer than max run.
func (p *flushPool) push(c *Conn) {
	p.mu.Lock()
	p.q = append(p.q, c)
	spawn := p.workers < p.max
	if spawn {
		p.workers++
		p.wg.Add(1)
	}
	p.mu.Unlock()
	if spawn {
		go p.work()
	}
}

// work is a flusher: it flushes the queued connections one at a time (flushReady) and ends when none is left.
func (p *flushPool) work() {
	defer p.wg.Done()
	var b frameBatch
	for {
		p.mu.Lock()
		if p.head == len(p.q) {
			p.q, p.head = p.q[:0], 0
			if cap(p.q) > 4096 {
				p.q = nil
			}
			p.workers--
			p.mu.Unlock()
			return
		}
		c := p.q[p.head]
		p.q[p.head] = nil
		p.head++
		p.mu.Unlock()
		c.mu.Lock()
		ws := c.ws
		c.mu.Unlock()
		c.flushReady(ws, &b)
	}
}
