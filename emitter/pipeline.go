package emitter

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/clusterreload"
	"github.com/sioredis/sioredis/internal/durable"
)

// command is one Redis write of an emitter: PUBLISH, SPUBLISH or XADD.
// Commands are pooled with their argument list, so that building the
// go-redis command costs one allocation (the *redis.IntCmd) instead of the
// four of client.Publish (the command, its argument slice and the boxed
// channel and payload).
type command struct {
	verb    verb
	channel string // channel or stream key
	payload []byte // PUBLISH/SPUBLISH message
	xadd    *redis.XAddArgs

	// args is the PUBLISH/SPUBLISH argument list: the verb, &channel and
	// (*payloadArg)(c), which go-redis writes without boxing a copy.
	args [3]any

	// The outcome, set before the caller is woken: err, and Redis' answers (see Receipt).
	err       error
	receivers int64     // PUBLISH/SPUBLISH; -1 for XADD
	id        string    // XADD
	replicas  int       // WAIT, -1 without durability
	wake      chan bool // true: lead the next batch; false: done, the outcome is set
}

type verb uint8

const (
	verbPublish verb = iota
	verbSPublish
	verbXAdd
)

// payloadArg writes a command's payload as a bulk string: go-redis takes an
// encoding.BinaryMarshaler argument as its bytes, and a pointer stored in an
// interface needs no allocation.
type payloadArg command

func (p *payloadArg) MarshalBinary() ([]byte, error) { return p.payload, nil }

var commandPool = sync.Pool{New: func() any {
	c := &command{wake: make(chan bool, 1)}
	c.args[1], c.args[2] = &c.channel, (*payloadArg)(c)
	return c
}}

// run sends one command on its own and sets its outcome.
func (c *command) run(ctx context.Context, client redis.UniversalClient) {
	if c.verb == verbXAdd {
		c.id, c.err = client.XAdd(ctx, c.xadd).Result()
		return
	}
	cmd := c.publish(ctx)
	_ = client.Process(ctx, cmd)
	c.receivers, c.err = cmd.Result()
	if c.err != nil {
		c.receivers = -1
	}
}

// publish makes the go-redis PUBLISH or SPUBLISH of c. It refers to c.args,
// so it is only valid until c returns to the pool: go-redis keeps no command
// once Process or Exec has returned, but a user's hook that kept one would
// see the arguments of a later emit.
func (c *command) publish(ctx context.Context) *redis.IntCmd {
	c.args[0] = "publish"
	if c.verb == verbSPublish {
		c.args[0] = "spublish"
	}
	return redis.NewIntCmd(ctx, c.args[:]...)
}

// maxBatch bounds the commands sent in one round trip.
const maxBatch = 512

// pipeliner sends the commands of concurrent callers together, in one
// write and one round trip, as node-redis does with the commands of one
// event-loop tick. It has no goroutine of its own: a caller that finds fewer
// than maxLeaders batches in flight becomes a leader, sends its command with
// every command queued meanwhile, wakes their callers, and hands the lead to
// the next queued caller, if any. A lone caller therefore sends its command at once,
// and under concurrency the callers share round trips. Commands keep their
// queue order, so the publishes of one goroutine stay in order.
type pipeliner struct {
	client  redis.UniversalClient
	enabled bool
	metrics Metrics // nil: none

	// WithDurability: a WAIT after the XADDs of each round trip, on their connection (see sendDurable).
	waitReplicas int
	waitTimeout  time.Duration

	mu      sync.Mutex
	leaders int // callers sending a batch now, at most maxLeaders
	queue   []*command
	free    []*batch // at most maxLeaders, for the next leaders
}

// batch is what a leader sends. Its slices and its go-redis pipeline are
// reused by the next leaders (a pipeline is empty again once executed): a
// batch belongs to one leader from the moment it leaves p.free, under p.mu,
// until it is put back there.
type batch struct {
	cmds  []*command
	rcmds []redis.Cmder
	pipe  redis.Pipeliner
}

// maxLeaders bounds the batches in flight at once (each on its own pooled
// connection). More than one keeps Redis busy while a batch's replies are
// on their way back and its callers are being woken.
const maxLeaders = 2

// do sends c and returns its error, its other outcome being set in c. A
// caller whose context ends while its command is still queued gets the
// context's error and nothing is sent; once its command is taken into a
// batch, the caller waits for its outcome.
func (p *pipeliner) do(ctx context.Context, c *command) error {
	if !p.enabled {
		if p.metrics != nil {
			p.metrics.Batch(1)
		}
		p.send(ctx, &batch{cmds: []*command{c}})
		return c.err
	}
	p.mu.Lock()
	if p.leaders >= maxLeaders {
		p.queue = append(p.queue, c)
		p.mu.Unlock()
		var lead bool
		select {
		case lead = <-c.wake:
		case <-ctx.Done():
			p.mu.Lock()
			for i, q := range p.queue {
				if q == c {
					p.queue = append(p.queue[:i], p.queue[i+1:]...)
					p.mu.Unlock()
					return ctx.Err()
				}
			}
			p.mu.Unlock()
			lead = <-c.wake // taken into a batch, or handed the lead
		}
		if !lead {
			return c.err
		}
		p.mu.Lock() // handed the lead: the leader count is unchanged
	} else {
		p.leaders++
		if p.leaders > 1 {
			// Another batch is in flight: callers are arriving together.
			// Let the ones already runnable queue up first, so that this
			// batch carries them instead of leaving alone.
			p.mu.Unlock()
			runtime.Gosched()
			p.mu.Lock()
		}
	}
	// Leading: c is not in the queue; take it and everything queued.
	var b *batch
	if k := len(p.free); k > 0 {
		b, p.free = p.free[k-1], p.free[:k-1]
	} else {
		b = new(batch)
	}
	n := min(len(p.queue), maxBatch-1)
	b.cmds = append(append(b.cmds[:0], c), p.queue[:n]...)
	p.queue = append(p.queue[:0], p.queue[n:]...)
	p.mu.Unlock()

	p.send(ctx, b)
	for _, q := range b.cmds[1:] {
		q.wake <- false
	}
	clear(b.cmds)

	p.mu.Lock()
	if cap(b.cmds) <= 4*maxBatch && len(p.free) < maxLeaders {
		p.free = append(p.free, b)
	}
	if len(p.queue) > 0 {
		next := p.queue[0]
		p.queue = append(p.queue[:0], p.queue[1:]...)
		p.mu.Unlock()
		next.wake <- true
	} else {
		p.leaders--
		p.mu.Unlock()
	}
	return c.err
}

// send runs a batch and sets each command's outcome. A batch of one is a
// plain command, bound to its caller's context; a larger batch must not be
// cut short by the leader's context alone, so it runs without its
// cancellation (the client's own timeouts still bound it).
func (p *pipeliner) send(ctx context.Context, b *batch) {
	p.sendBatch(ctx, b)
	for _, c := range b.cmds {
		if c.err != nil && !errors.Is(c.err, ErrNotDurable) {
			clusterreload.After(p.client, c.err) // a dead master: its replica may have its slots by now
			return
		}
	}
}

func (p *pipeliner) sendBatch(ctx context.Context, b *batch) {
	if p.metrics != nil && p.enabled {
		p.metrics.Batch(len(b.cmds))
	}
	if p.waitReplicas > 0 {
		if len(b.cmds) > 1 {
			ctx = context.WithoutCancel(ctx)
		}
		p.sendDurable(ctx, b.cmds)
		return
	}
	if len(b.cmds) == 1 {
		b.cmds[0].run(ctx, p.client)
		return
	}
	ctx = context.WithoutCancel(ctx)
	if b.pipe == nil {
		b.pipe = p.client.Pipeline()
	}
	b.rcmds = b.rcmds[:0]
	for _, c := range b.cmds {
		if c.verb == verbXAdd {
			b.rcmds = append(b.rcmds, b.pipe.XAdd(ctx, c.xadd)) // queued in b.pipe too
		} else {
			b.rcmds = append(b.rcmds, c.publish(ctx))
		}
	}
	b.pipe.Discard() // the XADDs queued above: all go in order below
	_ = b.pipe.BatchProcess(ctx, b.rcmds...)
	_, _ = b.pipe.Exec(ctx) // each command's own error is read below
	for i, c := range b.cmds {
		switch r := b.rcmds[i].(type) {
		case *redis.IntCmd:
			c.receivers, c.err = r.Result()
			if c.err != nil {
				c.receivers = -1
			}
		case *redis.StringCmd:
			c.id, c.err = r.Result()
		}
	}
	clear(b.rcmds)
}

// sendDurable adds the entries of cmds (all XADDs: durability is for the
// Streams mode) and waits until p.waitReplicas replicas have them, with one
// WAIT per master after its entries, in the same pipeline (durable.Add, on the
// client durable.MasterFor gives for the stream).
func (p *pipeliner) sendDurable(ctx context.Context, cmds []*command) {
	type group struct {
		client redis.Cmdable
		cmds   []*command
	}
	var groups []group
	for _, c := range cmds {
		target, err := durable.MasterFor(ctx, p.client, c.channel)
		if err != nil {
			c.err = err
			continue
		}
		i := 0
		for i < len(groups) && groups[i].client != target {
			i++
		}
		if i == len(groups) {
			groups = append(groups, group{client: target})
		}
		groups[i].cmds = append(groups[i].cmds, c)
	}
	for _, g := range groups {
		args := make([]*redis.XAddArgs, len(g.cmds))
		for i, c := range g.cmds {
			args[i] = c.xadd
		}
		adds, acked, waitErr := durable.Add(ctx, g.client, args, p.waitReplicas, p.waitTimeout)
		for i, c := range g.cmds {
			if c.id, c.err = adds[i].Result(); c.err == nil {
				c.replicas, c.err = acked, waitErr
			}
		}
	}
}
