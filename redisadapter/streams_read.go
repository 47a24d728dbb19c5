package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/socketio"
)

// The reading side of the StreamsAdapter: one reader per stream, which hands the entries to the namespaces and
// tells of the entries it will never read.

// StreamLoss says how entries of a stream were lost for a server: the reasons a StreamsAdapter logs, counts
// (Losses) and reports to Metrics.StreamEntriesLost.
type StreamLoss uint8

// The losses a StreamsAdapter detects.
const (
	// LossTrimmed: entries deleted from the stream (MaxLen trimming, XDEL) before this server read them; the
	// reader was that far behind. Counted exactly.
	LossTrimmed StreamLoss = iota + 1
	// LossReset: the stream was removed or replaced by a new one (its key evicted under maxmemory, deleted, or
	// Redis restarted without persistence, or a failover to a replica that never had it): the entries it held
	// after the last one this server read are lost, how many Redis cannot tell. Reading goes on in the new
	// stream.
	LossReset
	// LossRewound: the stream lost its last entries (a failover to a replica that lacked them): this server had
	// read them, the servers that had not lost them. Reading goes on after the stream's new last entry; the count
	// is how many entries this server had read that the stream no longer has, when Redis tells.
	LossRewound
	// LossAhead: this server's last entry id was far above (more than a minute) the stream's last id: an entry
	// with an id in the future (written by hand, or by a Redis whose clock jumped), then the stream replaced.
	// Without this check the reader would wait for the stream to pass that id; it reads the stream again from
	// its start instead.
	LossAhead
	// LossOversized: an entry larger than StreamsConfig.MaxEntrySize, skipped unread.
	LossOversized

	numLosses = int(LossOversized) + 1
)

var streamLossNames = [numLosses]string{"", "trimmed", "reset", "rewound", "ahead", "oversized"}

// String returns the reason's name as the metrics label it: "trimmed", "reset", "rewound", "ahead", "oversized".
func (r StreamLoss) String() string {
	if int(r) < numLosses && r != 0 {
		return streamLossNames[r]
	}
	return "unknown"
}

// streamLossMessages are the log lines of the losses, by reason.
var streamLossMessages = [numLosses]string{
	LossTrimmed:   "redisadapter: stream entries were deleted (MaxLen trimming) before this server read them: broadcasts lost for its clients",
	LossReset:     "redisadapter: the stream was removed or replaced (evicted under maxmemory, deleted, or Redis restarted without persistence): what it held after the last entry read is lost for this server's clients",
	LossRewound:   "redisadapter: the stream lost its last entries (a failover to a replica that lacked them): servers that had not read them lost them; reading goes on after the stream's last entry",
	LossAhead:     "redisadapter: the last entry read is far above the stream's last entry (an id in the future, then the stream replaced): reading the stream again from its start",
	LossOversized: "redisadapter: skipped a stream entry larger than MaxEntrySize",
}

// aheadGap is how far above the stream's last id a reader's last id must be for LossAhead rather than
// LossRewound: a failover loses the entries of the replica's lag (milliseconds to seconds), an id in the future
// is off by much more.
const aheadGap = time.Minute

// Losses returns how many times this server found entries of its streams lost for reason (each time, one error
// logged; Metrics.StreamEntriesLost has the entries counted).
func (a *StreamsAdapter) Losses(reason StreamLoss) uint64 {
	if int(reason) >= numLosses {
		return 0
	}
	return a.losses[reason].Load()
}

// streamReader reads one stream. Its position is owned by the reading goroutine.
type streamReader struct {
	key   string
	ready chan struct{} // closed once the reader knows where the stream ends

	pos         streamPos
	infoFailing bool // the last check could not ask Redis (logged once)
}

// read reads stream r.key from its end at the start, and then from the last entry read, until Close: after an
// error (Redis away), it tries again from that entry. After each read it compares the stream with what it read
// (check), so that what it will never read is reported.
func (a *StreamsAdapter) read(r *streamReader) {
	var x xreader = poolReader{a.rdb}
	if c, ok := a.rdb.(*redis.Client); ok {
		dr := newDedicatedReader(a.ctx, c)
		defer dr.close()
		x = dr
	}
	delay := 50 * time.Millisecond
	failing, started := false, false
	count := a.cfg.ReadCount
	var ids []string
	for a.ctx.Err() == nil {
		if !started {
			if err := a.start(r); err != nil {
				if !failing && a.ctx.Err() == nil {
					a.log.Warn("redisadapter: reading the stream", "stream", r.key, "err", err)
				}
				failing = true
				sleepCtx(a.ctx, delay)
				delay = min(2*delay, 2*time.Second)
				continue
			}
			started = true
			close(r.ready)
		}
		streams, err := x.read(a.ctx, &redis.XReadArgs{Streams: []string{r.key, r.pos.last}, Count: count, Block: a.cfg.BlockTime})
		if err != nil && !errors.Is(err, redis.Nil) {
			if a.ctx.Err() != nil {
				return
			}
			a.obs.failed()
			if !failing {
				a.log.Warn("redisadapter: reading the stream; retrying from the last entry read", "stream", r.key, "last", r.pos.last, "err", err)
			}
			failing = true
			sleepCtx(a.ctx, delay)
			delay = min(2*delay, 2*time.Second)
			continue
		}
		if failing {
			a.log.Info("redisadapter: reading the stream again", "stream", r.key, "from", r.pos.last)
			failing, delay = false, 50*time.Millisecond
		}
		ids = ids[:0]
		size := 0
		for _, st := range streams {
			for _, e := range st.Messages {
				size += a.dispatch(r.key, e)
				ids = append(ids, e.ID)
			}
		}
		// One read holds every entry it returns at once: after one that carried more than an entry may weigh,
		// read one entry at a time until they are small again.
		count = a.cfg.ReadCount
		if size > a.cfg.MaxEntrySize {
			count = 1
		}
		a.check(r, ids)
	}
}

// start places the reader at the stream's end.
func (a *StreamsAdapter) start(r *streamReader) error {
	info, err := a.streamInfo(a.ctx, r.key)
	if err == nil {
		r.pos = startPos(info)
		return nil
	}
	// Without the script (scripting refused), read all the same, without the checks.
	id, err2 := streamEnd(a.ctx, a.rdb, r.key)
	if err2 != nil {
		return err2
	}
	a.log.Warn("redisadapter: cannot check the stream for lost entries", "stream", r.key, "err", err)
	r.infoFailing = true
	r.pos = streamPos{last: id, added: -1}
	return nil
}

// check compares the stream with what r read from its position (ids, in order), moves the position past them,
// and reports what is lost, if anything.
func (a *StreamsAdapter) check(r *streamReader, ids []string) {
	info, err := a.streamInfo(a.ctx, r.key)
	if err != nil {
		if !r.infoFailing && a.ctx.Err() == nil {
			a.log.Warn("redisadapter: cannot check the stream for lost entries", "stream", r.key, "err", err)
		}
		r.infoFailing = true
		r.pos = r.pos.skip(ids)
		return
	}
	r.infoFailing = false
	before := r.pos
	var loss streamLossEvent
	r.pos, loss = before.next(info, ids)
	if loss.reason == 0 {
		return
	}
	a.countLoss(loss.reason, loss.entries)
	attrs := []any{"stream", r.key, "reason", loss.reason.String(), "last_read", before.last, "stream_last", info.lastID,
		"stream_length", info.length, "entries_added", info.added, "resume_after", r.pos.last}
	if loss.entries > 0 {
		attrs = append(attrs, "entries_lost", loss.entries)
	}
	a.log.Error(streamLossMessages[loss.reason], attrs...)
}

// countLoss counts a loss and reports it to Metrics.
func (a *StreamsAdapter) countLoss(reason StreamLoss, entries int64) {
	a.losses[reason].Add(1)
	a.obs.streamLost(reason, entries)
}

// streamInfo is what the reader asks of its stream after each read.
type streamInfo struct {
	exists bool
	length int64
	added  int64  // entries-added: every entry the stream ever had; -1 when Redis does not say (before 7.0)
	lastID string // last-generated-id
	first  string // the first entry's id, "" when the stream is empty
}

// streamInfoScript returns what XINFO STREAM says, without the first and last entries' fields (XINFO returns
// them whole: an entry of 30 MB would be read at every check), or nil for a missing key.
var streamInfoScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local out = {0, '0-0', -1, ''}
for i = 1, #info, 2 do
  local k, v = info[i], info[i + 1]
  if k == 'length' then out[1] = v
  elseif k == 'last-generated-id' then out[2] = v
  elseif k == 'entries-added' then out[3] = v
  elseif k == 'first-entry' and v then out[4] = v[1] end
end
return out`)

func (a *StreamsAdapter) streamInfo(ctx context.Context, key string) (streamInfo, error) {
	res, err := streamInfoScript.Run(ctx, a.rdb, []string{key}).Slice()
	if errors.Is(err, redis.Nil) {
		return streamInfo{added: -1}, nil
	}
	if err != nil {
		return streamInfo{}, fmt.Errorf("%w: XINFO STREAM %s: %w", ErrAdapter, key, err)
	}
	info := streamInfo{exists: true}
	var ok [4]bool
	if len(res) == 4 {
		info.length, ok[0] = res[0].(int64)
		info.lastID, ok[1] = res[1].(string)
		info.added, ok[2] = res[2].(int64)
		info.first, ok[3] = res[3].(string)
	}
	if ok != [4]bool{true, true, true, true} {
		return streamInfo{}, fmt.Errorf("%w: XINFO STREAM %s: unexpected answer %v", ErrAdapter, key, res)
	}
	return info, nil
}

// streamPos is where a reader stands in its stream, and what it knows of it.
type streamPos struct {
	last  string     // the last entry read, or where reading started ("0-0": the stream's start)
	added int64      // the stream's entries-added up to last (deleted entries counted); -1 unknown
	seen  streamInfo // what the last check saw
}

// streamLossEvent is one loss found by streamPos.next.
type streamLossEvent struct {
	reason  StreamLoss // 0: none
	entries int64      // how many entries; 0 when Redis cannot tell
}

// startPos is the position at the end of the stream info describes.
func startPos(info streamInfo) streamPos {
	if !info.exists {
		return streamPos{last: "0-0", added: 0}
	}
	return streamPos{last: info.lastID, added: info.added, seen: info}
}

// skip returns the position after ids, read without a check.
func (p streamPos) skip(ids []string) streamPos {
	if len(ids) > 0 {
		p.last = ids[len(ids)-1]
		if p.added >= 0 {
			p.added += int64(len(ids))
		}
	}
	p.seen = streamInfo{}
	return p
}

// next returns the position after ids (the entries one read returned from p, in order), given what the stream
// is now (info, asked after that read), and what is lost, if anything.
//
// Redis tells what a stream ever held by entries-added, and its first entry: on one stream, the entries before
// the first are the deleted ones (MaxLen trims the oldest), entries-added - length of them. A reader that counts
// the entries up to its position (p.added) therefore knows how many after it were deleted unread, and finds a
// stream that is not the one it was reading when the counts go back.
func (p streamPos) next(info streamInfo, ids []string) (streamPos, streamLossEvent) {
	b := int64(len(ids))
	n := p.skip(ids)
	n.seen = info
	if !info.exists {
		if n.last != "0-0" {
			// The key is gone: the next stream starts from nothing, and is read from its start.
			return streamPos{last: "0-0", added: 0}, streamLossEvent{LossReset, 0}
		}
		return streamPos{last: "0-0", added: 0}, streamLossEvent{}
	}
	v7 := info.added >= 0
	if compareStreamIDs(info.lastID, n.last) < 0 {
		// XREAD after n.last would return nothing until the stream passes it.
		added := int64(0)
		if !v7 {
			added = -1
		}
		if idMillis(n.last)-idMillis(info.lastID) > uint64(aheadGap.Milliseconds()) {
			return streamPos{last: "0-0", added: added, seen: info}, streamLossEvent{LossAhead, 0}
		}
		if freshSince(info, n.last) {
			// A new stream, all of whose entries were written in the millisecond of n.last or after it (ids
			// restart at seq 0): none of them was read.
			return streamPos{last: "0-0", added: added, seen: info}, streamLossEvent{LossReset, 0}
		}
		lost := int64(0)
		if v7 && n.added > info.added {
			lost = n.added - info.added
		}
		return streamPos{last: info.lastID, added: info.added, seen: info}, streamLossEvent{LossRewound, lost}
	}
	if !v7 {
		return n, streamLossEvent{} // Redis before 7.0: no counts to compare
	}
	// Nothing of the stream at or before p.last is left: whatever it held after p.last and before its first
	// entry was deleted, and so were the entries of ids before its first (read, then trimmed).
	firstAfter := info.length == 0 || compareStreamIDs(info.first, p.last) > 0
	var readGone int64
	for _, id := range ids {
		if info.length == 0 || compareStreamIDs(id, info.first) < 0 {
			readGone++
		}
	}
	deleted := info.added - info.length
	backwards := (p.seen.exists && p.seen.added >= 0 && info.added < p.seen.added) || (p.added >= 0 && info.added < p.added+b)
	replaced := p.added >= 0 && firstAfter && deleted < p.added+readGone
	if backwards || replaced {
		n.added = -1 // counted again once the reader is at the end
		if !replaced && !freshSince(info, p.last) {
			// The stream still holds entries older than p.last: the same stream, with fewer entries than it had.
			return n, streamLossEvent{LossRewound, 0}
		}
		return n, streamLossEvent{LossReset, 0}
	}
	if p.added >= 0 && firstAfter {
		if lost := deleted - p.added - readGone; lost > 0 {
			n.added += lost
			return n, streamLossEvent{LossTrimmed, lost}
		}
	}
	if compareStreamIDs(info.lastID, n.last) == 0 {
		// At the stream's end: every entry it ever had is at or before n.last.
		if n.added >= 0 && info.added > n.added {
			lost := info.added - n.added // deleted from the middle (XDEL) before this server read them
			n.added = info.added
			return n, streamLossEvent{LossTrimmed, lost}
		}
		n.added = info.added
	}
	return n, streamLossEvent{}
}

// freshSince reports whether the stream holds nothing older than the millisecond of id: a stream replaced after
// id was read (a new stream's ids start again at sequence 0 in the current millisecond, so its first entries may
// sort before id), rather than one that lost its last entries, whose first entry is older.
func freshSince(info streamInfo, id string) bool {
	return info.length == 0 || idMillis(info.first) >= idMillis(id)
}

// streamEnd returns the id of the last entry of the stream ("0-0" when it is empty or missing).
func streamEnd(ctx context.Context, rdb redis.UniversalClient, key string) (string, error) {
	res, err := rdb.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("%w: XREVRANGE: %w", ErrAdapter, err)
	}
	if len(res) == 0 {
		return "0-0", nil
	}
	return res[0].ID, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// xreader runs XREAD.
type xreader interface {
	read(ctx context.Context, args *redis.XReadArgs) ([]redis.XStream, error)
}

// poolReader reads on the client's pool.
type poolReader struct{ rdb redis.UniversalClient }

func (p poolReader) read(ctx context.Context, args *redis.XReadArgs) ([]redis.XStream, error) {
	return p.rdb.XRead(ctx, args).Result()
}

// dedicatedReader reads on a connection of its own, whose blocked XREAD Close ends with CLIENT UNBLOCK.
type dedicatedReader struct {
	c    *redis.Client
	conn *redis.Conn
	id   int64
	stop func() bool
}

func newDedicatedReader(ctx context.Context, c *redis.Client) *dedicatedReader {
	d := &dedicatedReader{c: c}
	d.stop = context.AfterFunc(ctx, func() {
		if id := atomic.LoadInt64(&d.id); id != 0 {
			_ = c.ClientUnblock(context.Background(), id).Err()
		}
	})
	return d
}

func (d *dedicatedReader) read(ctx context.Context, args *redis.XReadArgs) ([]redis.XStream, error) {
	if d.conn == nil {
		conn := d.c.Conn()
		id, err := conn.ClientID(ctx).Result()
		if err != nil {
			_ = conn.Close()
			return nil, err
		}
		d.conn = conn
		atomic.StoreInt64(&d.id, id)
	}
	res, err := d.conn.XRead(ctx, args).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		_ = d.conn.Close() // a new connection next time
		d.conn = nil
		atomic.StoreInt64(&d.id, 0)
	}
	return res, err
}

func (d *dedicatedReader) close() {
	d.stop()
	if d.conn != nil {
		_ = d.conn.Close()
	}
}

// compareStreamIDs compares two stream entry ids "ms-seq".
func compareStreamIDs(a, b string) int {
	am, as := splitStreamID(a)
	bm, bs := splitStreamID(b)
	switch {
	case am < bm:
		return -1
	case am > bm:
		return 1
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return 0
}

func splitStreamID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}

// idMillis returns the time part of a stream entry id.
func idMillis(id string) uint64 {
	ms, _ := splitStreamID(id)
	return ms
}

// entrySize returns the bytes of an entry's field names and values, as Redis holds them.
func entrySize(values map[string]any) int {
	n := 0
	for k, v := range values {
		n += len(k)
		switch v := v.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
		}
	}
	return n
}

// dispatch hands one stream entry to its namespace's handler, unless it is larger than MaxEntrySize, and returns
// its size.
func (a *StreamsAdapter) dispatch(key string, e redis.XMessage) int {
	size := entrySize(e.Values)
	if size > a.cfg.MaxEntrySize {
		a.countLoss(LossOversized, 1)
		a.log.Error(streamLossMessages[LossOversized], "stream", key, "id", e.ID, "bytes", size, "limit", a.cfg.MaxEntrySize)
		return size
	}
	if !protocol.StreamEntryHasNamespace(e.Values) {
		return size // as the official adapter, entries without a namespace are skipped
	}
	msg, err := protocol.DecodeStreamEntry(e.Values)
	if err != nil {
		a.log.Warn("redisadapter: ignored a stream entry", "id", e.ID, "err", err)
		return size
	}
	if msg.UID == a.uid {
		return size
	}
	l, _ := a.links.get(msg.Nsp)
	if l == nil {
		return size
	}
	if a.cfg.Version == StreamsV02 {
		l.seen(msg.UID, msg.Type)
		if msg.Kind == protocol.KindInitialHeartbeat {
			l.heartbeat(a.ctx, protocol.ClusterHeartbeat) // the new server learns of this one
		}
	}
	m := clusterMessageOf(msg)
	if m == nil {
		return size
	}
	if m.Type == socketio.ClusterBroadcast {
		m.Offset = e.ID
	}
	a.obs.received()
	l.gate.run(func() { l.h.HandleClusterMessage(m) })
	return size
}
