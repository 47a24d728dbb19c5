package chat

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/socketio"
)

// Publisher hands a stored message to the Socket.IO clients of its room. Implementations must be safe for
// concurrent use; an error wrapping one of protocol's input errors (ErrTooLarge, ErrInvalidRoom...) means the
// message can never be published, any other error is retried. receivers is the number of Redis subscribers the
// message reached (PUBLISH's answer), or -1 where there is no such count (a stream; the App's own server).
type Publisher interface {
	Publish(ctx context.Context, m Message) (receivers int, err error)
}

// emitterPublisher publishes through Redis in the format of the Socket.IO Redis adapter: every server of the
// cluster, Node.js or Go, delivers the event to its clients in the room.
type emitterPublisher struct {
	em    *emitter.Emitter
	event string
	log   *slog.Logger
	// With Config.WaitReplicas: the same emitter with emitter.WithDurability, used while the stream's master
	// has the replicas to wait for.
	durable  *emitter.Emitter
	replicas *replicaWatch
}

// Publish publishes m. A stream entry that fewer replicas acknowledged than Config.WaitReplicas asks is in the
// stream all the same: it counts as published (adding it again would deliver it twice), and is logged.
func (p emitterPublisher) Publish(ctx context.Context, m Message) (int, error) {
	em := p.em
	if p.durable != nil && p.replicas.enough(ctx) {
		em = p.durable
	}
	rc, err := em.To(m.Room).Emit(ctx, p.event, m)
	if errors.Is(err, emitter.ErrNotDurable) {
		p.log.Warn("chat: message added to the stream without the replicas asked; a failover now would lose it",
			"id", m.ID, "seq", m.Seq, "entry", rc.EntryID, "err", err)
		return rc.Receivers, nil
	}
	return rc.Receivers, err
}

// replicaWatch tells whether the master taking the stream's entries has the online replicas Config.WaitReplicas
// asks for: WAIT is asked only then, since a master without them would make every publish wait WaitTimeout for
// nothing (after a failover, until a replica has rejoined the new master). It asks Redis (INFO replication) once
// a second at most, and logs each change. Safe for concurrent use.
type replicaWatch struct {
	rdb  redis.UniversalClient
	key  string // the stream key, whose master counts on a Redis Cluster
	want int
	log  *slog.Logger

	mu      sync.Mutex
	checked time.Time
	ok      bool
}

func (w *replicaWatch) enough(ctx context.Context) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.checked) < time.Second {
		return w.ok
	}
	w.checked = time.Now()
	n, err := onlineReplicas(ctx, w.rdb, w.key)
	ok := err == nil && n >= w.want
	switch {
	case ok && !w.ok:
		w.log.Info("chat: the stream's master has its replicas: each message waits for them (WAIT)", "replicas", n, "want", w.want)
	case !ok && w.ok:
		w.log.Warn("chat: the stream's master lacks the replicas to wait for: messages are published without WAIT until they are back (a failover meanwhile would lose what they do not have)",
			"replicas", n, "want", w.want, "err", err)
	}
	w.ok = ok
	return ok
}

// onlineReplicas returns the number of replicas in sync with the master of key (INFO replication, state=online).
func onlineReplicas(ctx context.Context, rdb redis.UniversalClient, key string) (int, error) {
	var c redis.Cmdable = rdb
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return 0, err
		}
		c = m
	}
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(info, "\n") {
		if strings.HasPrefix(line, "slave") && strings.Contains(line, "state=online") {
			n++
		}
	}
	return n, nil
}

// probe returns the number of subscribers of the namespace's broadcasts (emitter.Probe).
func (p emitterPublisher) probe(ctx context.Context) (int, error) {
	rc, err := p.em.Probe(ctx)
	return rc.Receivers, err
}

// serverPublisher emits from the process's own Socket.IO server: with the in-memory adapter, to its clients only.
type serverPublisher struct {
	ns    *socketio.Namespace
	event string
}

func (p serverPublisher) Publish(ctx context.Context, m Message) (int, error) {
	return -1, p.ns.To(m.Room).Emit(ctx, p.event, m)
}

// permanent reports whether a publish error is about the message itself, so that retrying cannot help.
func permanent(err error) bool {
	for _, e := range []error{protocol.ErrReservedEvent, protocol.ErrInvalidEvent, protocol.ErrInvalidNamespace,
		protocol.ErrInvalidRoom, protocol.ErrUnsupportedValue, protocol.ErrTooLarge, protocol.ErrTooManyAttachments} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// relay publishes the pending messages of the store, one at a time in the order they were saved, and marks
// them published: the outbox pattern. A message is saved before anything is published, so a Redis that is down
// delays messages but loses none; they go out in order once it is back. A crash between a publish and its mark
// publishes the message again at the next start (at least once): clients drop repeats by id.
type relay struct {
	store *Store
	pub   Publisher
	log   *slog.Logger
	guard *deliveryGuard // the pub/sub formats' rule; nil alone and with streams

	batch      int
	minBackoff time.Duration
	maxBackoff time.Duration
	poll       time.Duration // re-reads the store this often when idle, for messages saved by other processes
	timeout    time.Duration // of one publish

	wake      chan struct{} // capacity 1: a message was saved
	published func(Message) // if not nil, called for each message published (metrics)

	mu       sync.Mutex
	done     int64         // every message with a sequence number ≤ done is published or rejected
	rejected []int64       // the latest rejected sequence numbers, at most maxRejected
	progress chan struct{} // closed, and replaced, when done advances
	failure  error         // the last error while the relay is retrying; nil when healthy

	leading atomic.Bool // this relay holds the outbox

	left     int           // other instances that announced a planned stop (guarded by mu)
	leftNext chan struct{} // closed, and replaced, at the next announcement (guarded by mu)

	headSeq   int64     // the oldest pending message last read, 0 when none (guarded by mu)
	headSince time.Time // when the relay first read headSeq as pending
}

// seeHead records the oldest pending message, for publishLag.
func (r *relay) seeHead(msgs []Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case len(msgs) == 0:
		r.headSeq = 0
	case msgs[0].Seq != r.headSeq:
		r.headSeq, r.headSince = msgs[0].Seq, time.Now()
	}
}

// publishLag returns how long the oldest pending message has waited since this relay first read it (0 when
// the outbox is empty), and whether this relay publishes the outbox.
func (r *relay) publishLag() (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.leading.Load() {
		return 0, false
	}
	if r.headSeq == 0 {
		return 0, true
	}
	return time.Since(r.headSince), true
}

func newRelay(store *Store, pub Publisher, log *slog.Logger) *relay {
	return &relay{
		store: store, pub: pub, log: log,
		batch: 256, minBackoff: 50 * time.Millisecond, maxBackoff: 5 * time.Second,
		poll: 5 * time.Second, timeout: 10 * time.Second,
		wake: make(chan struct{}, 1), progress: make(chan struct{}), leftNext: make(chan struct{}),
	}
}

// notify tells the relay a message was saved.
func (r *relay) notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run publishes until ctx ends, then lets the outbox go. With a store shared by several processes, the relay
// first waits to hold the outbox (one publisher at a time: the others only learn, from the database, how far it
// got; see follow), and claims it again after losing it. While it waits, each answer of the database clears the
// relay's failure and each error sets it: an instance that lost the outbox, or the database, for a while is
// healthy again as soon as the database answers, whoever publishes.
func (r *relay) run(ctx context.Context) {
	backoff := r.minBackoff
	for {
		ob, err := r.store.b.claim(ctx, r.setFailure)
		if err != nil { // ctx ended
			return
		}
		if r.store.b.shared() {
			r.log.Info("chat: this instance publishes the outbox")
		}
		progressed := r.publish(ctx, ob)
		ob.release()
		r.leading.Store(false)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			backoff = r.minBackoff
		}
		if !sleep(ctx, backoff) { // the store failed: claim again after a pause
			return
		}
		backoff = min(2*backoff, r.maxBackoff)
	}
}

// follow listens to the database, until ctx ends, for what the publishing instance (maybe this one) did, for
// messages other instances saved and for instances that stop; it returns at once when the store is not shared.
func (r *relay) follow(ctx context.Context) {
	if !r.store.b.shared() {
		return
	}
	on := notifications{published: func(seq int64) { r.advance(seq, nil) }, saved: r.notify, left: r.serverLeft}
	for {
		err := r.store.b.listen(ctx, on)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("chat: not listening to the database; POSTs answer 202 until it is back", "err", err)
		if !sleep(ctx, r.minBackoff*20) {
			return
		}
	}
}

// serverLeft records that the instance id announced a planned stop.
func (r *relay) serverLeft(id string) {
	r.log.Info("chat: an instance leaves the cluster", "instance", id)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.left++
	close(r.leftNext)
	r.leftNext = make(chan struct{})
}

// serversLeft is the publish rule's view of planned stops: it returns how many other instances sharing the
// database have announced, since this relay started, that they stop on purpose (SIGTERM), and a channel closed
// at the next announcement. An instance announces it once, as the first step of its shutdown: before it lets the
// outbox go (so the next publisher has heard it first) and before its Socket.IO server leaves the cluster
// (PostgreSQL delivers the announcement within milliseconds; a rule that compares server counts should allow a
// short grace for it). A server count that drops by the number of new announcements dropped on purpose; a drop
// that none explains is a server that lost Redis, or died (a process killed never announces). The count only
// grows; it stays 0 with SQLite (one instance). Safe for concurrent use.
func (r *relay) serversLeft() (n int, next <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.left, r.leftNext
}

// leave tells the other instances that this one stops, before its Socket.IO server leaves the cluster; App.Run
// calls it first when its context ends, then ends run (which lets the outbox go and says so).
func (r *relay) leave(ctx context.Context) {
	if err := r.store.b.leave(ctx); err != nil {
		r.log.Warn("chat: could not tell the other instances that this one stops", "err", err)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// publish publishes the outbox's messages until ctx ends or the store fails (the hold may be lost), and
// reports whether the store answered at least once.
func (r *relay) publish(ctx context.Context, ob outbox) (progressed bool) {
	r.leading.Store(true)
	backoff := r.minBackoff
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		ok, storeErr := r.drain(ctx, ob)
		if ctx.Err() != nil || storeErr {
			return progressed
		}
		progressed = true
		wake := r.wake
		wait := r.poll
		if ok {
			backoff = r.minBackoff
		} else { // retry after a pause; new messages do not cut it short
			wait, wake = backoff, nil
			backoff = min(2*backoff, r.maxBackoff)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return progressed
		case <-wake:
			if !timer.Stop() {
				<-timer.C
			}
		case <-timer.C:
		}
	}
}

// drain publishes pending messages until none is left (true) or an error stops it (false); storeErr reports an
// error of the store, after which the outbox is claimed again.
func (r *relay) drain(ctx context.Context, ob outbox) (ok, storeErr bool) {
	for {
		msgs, err := ob.pending(ctx, r.batch)
		if err != nil {
			r.setFailure(err)
			return false, true
		}
		r.seeHead(msgs)
		if len(msgs) == 0 {
			r.setFailure(nil)
			return true, false
		}
		var published, rejected []int64
		var failed error
		for _, m := range msgs {
			err := r.publishOne(ctx, m)
			if err == nil {
				published = append(published, m.Seq)
				if r.published != nil {
					r.published(m)
				}
				continue
			}
			if permanent(err) {
				r.log.Error("chat: message can never be published; dropped from the queue", "id", m.ID, "seq", m.Seq, "err", err)
				rejected = append(rejected, m.Seq)
				continue
			}
			failed = err
			break
		}
		// Marks are bookkeeping: if they fail, the messages are published again later, not lost.
		markErr := errors.Join(ob.setState(context.WithoutCancel(ctx), statePublished, published),
			ob.setState(context.WithoutCancel(ctx), stateRejected, rejected))
		if markErr != nil {
			r.log.Error("chat: published messages not marked; they will be published again", "err", markErr)
		}
		if n := len(published) + len(rejected); n > 0 && markErr == nil {
			r.advance(msgs[n-1].Seq, rejected)
		}
		if markErr != nil {
			r.setFailure(markErr)
			return false, true
		}
		if failed != nil {
			r.setFailure(failed)
			return false, false
		}
		if len(msgs) < r.batch { // the queue was empty after these; a message saved since has woken the relay
			r.setFailure(nil)
			return true, false
		}
	}
}

// maxRejected bounds the rejections the relay remembers for the POSTs waiting on them.
const maxRejected = 1024

func (r *relay) advance(seq int64, rejected []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected = append(r.rejected, rejected...)
	if n := len(r.rejected); n > maxRejected {
		r.rejected = append(r.rejected[:0], r.rejected[n-maxRejected:]...)
	}
	if seq > r.done {
		r.done = seq
		close(r.progress)
		r.progress = make(chan struct{})
	}
}

// setFailure records the error that keeps the relay retrying (nil: healthy again), and logs each change.
func (r *relay) setFailure(err error) {
	if errors.Is(err, context.Canceled) { // the relay stops: a publish or a mark was cut short, not failed
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil && (r.failure == nil || isStoreError(err) != isStoreError(r.failure)):
		if isStoreError(err) {
			r.log.Warn("chat: the database fails; publishing paused until it answers", "err", err)
		} else {
			r.log.Warn("chat: publishing paused; messages are kept and retried", "err", err)
		}
	case err == nil && r.failure != nil:
		r.log.Info("chat: publishing resumed")
	}
	r.failure = err
}

// failing returns the error that keeps the relay retrying, nil when it is healthy.
func (r *relay) failing() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failure
}

// wait waits until this relay has handled the message with sequence number seq and returns its state
// (statePublished or stateRejected), or statePending when ctx ends first.
func (r *relay) wait(ctx context.Context, seq int64) int {
	for {
		r.mu.Lock()
		done, progress := r.done >= seq, r.progress
		st := statePublished
		if done && slices.Contains(r.rejected, seq) {
			st = stateRejected
		}
		r.mu.Unlock()
		if done && st == statePublished && r.store.b.shared() && !r.leading.Load() {
			// Another instance published it, or rejected it: only the database knows which.
			if s, err := r.store.state(ctx, seq); err == nil {
				return s
			}
			return statePending // saved all the same
		}
		if done {
			return st
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return statePending
		}
	}
}

// publishOne publishes m, applying the delivery guard's rule (see deliveryGuard) in the pub/sub formats: a
// message held until the servers are back is published again, within Config.ClusterWait.
func (r *relay) publishOne(ctx context.Context, m Message) error {
	var deadline time.Time // set when the message is first held
	for {
		pctx, cancel := context.WithTimeout(ctx, r.timeout)
		receivers, err := r.pub.Publish(pctx, m)
		cancel()
		g := r.guard
		if err != nil {
			if g != nil {
				g.trouble.mark()
			}
			return err
		}
		if g != nil && g.count != nil {
			if receivers, err = g.count(ctx); err != nil {
				g.trouble.mark()
				receivers = 0 // unknown: judged as none, held while the trouble lasts
			}
		}
		if g == nil || receivers < 0 {
			return nil
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) { // the last publish for whoever is back
			if receivers < g.expected {
				g.reportShort(receivers, "the servers did not come back within the cluster wait")
				g.expected = receivers
			}
			return nil
		}
		if g.judge(ctx, receivers) != hold {
			return nil
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(g.maxWait)
			r.log.Info("chat: holding a message that reached fewer servers than the cluster has, until they are back",
				"id", m.ID, "seq", m.Seq, "receivers", receivers, "expected", g.expected)
			if g.metrics != nil {
				g.metrics.PublishHeld()
			}
		}
		if _, err := g.waitForServers(ctx, deadline); err != nil {
			return err // stopping: the message stays pending and is published again at the next start
		}
	}
}
