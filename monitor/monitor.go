// Package monitor watches the Socket.IO adapter traffic of a cluster in Redis and hands it over decoded, one
// Event per message: the broadcasts, requests and responses of every adapter format (classic, socket.io 2,
// sharded, streams), gaps where messages may have been lost, and what could not be decoded.
//
// It is what "sioredis monitor" prints; tools that want the traffic as values import it rather than the wire
// decoders of package protocol. Watching is passive except in sharded mode (see ModeSharded).
package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/pubsub"
)

// Mode says which adapter formats to watch.
type Mode string

const (
	// ModeAll watches the classic and streams formats, and the sharded one when Config.AllowSharded is set.
	// It is the mode of the zero Config.
	ModeAll Mode = "all"
	// ModeClassic subscribes to the patterns P#*, P-request#* and P-response#* (P#N#*... with a namespace):
	// classic and socket.io 2 broadcasts, requests and responses, and the pub/sub messages of the streams
	// adapter 0.3. Pattern subscriptions are invisible to PUBSUB NUMSUB, so the servers do not count the monitor.
	ModeClassic Mode = "classic"
	// ModeStreams reads the stream(s) with XREAD (no consumer group) from their last entry at start, and
	// subscribes to P#* for the streams adapter's pub/sub messages.
	ModeStreams Mode = "streams"
	// ModeSharded subscribes with SSUBSCRIBE to P#N# (and P#N#R# with a room). Sharded pub/sub has no pattern
	// form: the servers count the monitor in PUBSUB SHARDNUMSUB and wait for its answer to fetchSockets and
	// acknowledged serverSideEmit, which then time out. It needs Config.AllowSharded.
	ModeSharded Mode = "sharded"
)

// ErrShardedDisturbs is returned (wrapped) for ModeSharded without Config.AllowSharded.
var ErrShardedDisturbs = errors.New("sharded mode subscribes with SSUBSCRIBE, which the sharded servers count as one " +
	"more server: fetchSockets and acknowledged serverSideEmit then time out while the monitor runs")

// Config says what to watch and what to keep. The zero Config watches the classic and streams formats of
// every namespace under the default prefix.
type Config struct {
	// Mode is the formats watched; empty means ModeAll.
	Mode Mode
	// Prefix is the key prefix (classic), channel prefix (sharded, streams) and stream name (streams);
	// empty means protocol.DefaultPrefix ("socket.io").
	Prefix string
	// Namespace keeps only messages of this namespace, and narrows the subscriptions to it (sharded: the
	// namespace subscribed to, "/" when empty).
	Namespace string
	// Room keeps only messages naming this room (in rooms, except, or the rooms joined or left); in sharded
	// mode it also subscribes to the room's own channel (dynamic-private servers).
	Room string
	// Event keeps only events of this name.
	Event string
	// StreamCount is the streams adapter's streamCount; 0 means 1.
	StreamCount int
	// AllowSharded allows SSUBSCRIBE (see ModeSharded).
	AllowSharded bool
	// BufferSize bounds the pub/sub messages received and not yet handed over; beyond it they are dropped and
	// reported as a gap (pubsub.OverflowDrop). 0 means 4096.
	BufferSize int
	// StreamError, if set, is told when reading a stream fails (err non-nil; the read is retried, entries stay
	// in the stream) and when it works again (err nil). It is called from the stream's reading goroutine.
	StreamError func(stream string, err error)
	// Ready, if set, is called once by Watch when the subscriptions are confirmed and the streams' start
	// positions read: what is published after it returns is seen.
	Ready func()
}

// Plan is what a Config subscribes to and reads.
type Plan struct {
	Patterns []string // PSUBSCRIBE
	Sharded  []string // SSUBSCRIBE
	Streams  []string // XREAD
}

// String describes the plan as Redis commands, e.g. "PSUBSCRIBE socket.io#*; XREAD socket.io".
func (p Plan) String() string {
	var parts []string
	if len(p.Patterns) > 0 {
		parts = append(parts, "PSUBSCRIBE "+strings.Join(p.Patterns, " "))
	}
	if len(p.Sharded) > 0 {
		parts = append(parts, "SSUBSCRIBE "+strings.Join(p.Sharded, " "))
	}
	if len(p.Streams) > 0 {
		parts = append(parts, "XREAD "+strings.Join(p.Streams, " "))
	}
	return strings.Join(parts, "; ")
}

// normalized returns c with its defaults filled in, or an error for a value that cannot be watched.
func (c Config) normalized() (Config, error) {
	if c.Mode == "" {
		c.Mode = ModeAll
	}
	if c.Prefix == "" {
		c.Prefix = protocol.DefaultPrefix
	}
	if err := protocol.ValidatePrefix(c.Prefix); err != nil {
		return c, fmt.Errorf("monitor: %w", err)
	}
	if c.Namespace != "" {
		nsp, err := protocol.NormalizeNamespace(c.Namespace)
		if err != nil {
			return c, fmt.Errorf("monitor: %w", err)
		}
		c.Namespace = nsp
	}
	if c.StreamCount == 0 {
		c.StreamCount = 1
	}
	if c.StreamCount < 1 {
		return c, fmt.Errorf("monitor: stream count %d: must be at least 1", c.StreamCount)
	}
	if c.BufferSize <= 0 {
		c.BufferSize = 4096
	}
	switch c.Mode {
	case ModeAll, ModeClassic, ModeStreams:
	case ModeSharded:
		if !c.AllowSharded {
			return c, fmt.Errorf("monitor: %w", ErrShardedDisturbs)
		}
	default:
		return c, fmt.Errorf("monitor: unknown mode %q (classic, sharded, streams or all)", c.Mode)
	}
	return c, nil
}

// Plan validates c and lists what watching it subscribes to and reads.
func (c Config) Plan() (Plan, error) {
	c, err := c.normalized()
	if err != nil {
		return Plan{}, err
	}
	return c.plan(), nil
}

func (c Config) plan() Plan {
	var p Plan
	classic := c.Mode == ModeClassic || c.Mode == ModeAll
	streams := c.Mode == ModeStreams || c.Mode == ModeAll
	sharded := c.Mode == ModeSharded || (c.Mode == ModeAll && c.AllowSharded)
	broadcast, request, response := protocol.ClassicPatterns(c.Prefix, c.Namespace)
	if classic {
		p.Patterns = append(p.Patterns, broadcast, request, response)
	} else if streams {
		p.Patterns = append(p.Patterns, broadcast) // the streams adapter 0.3 pub/sub messages
	}
	if sharded {
		nsp := c.Namespace
		if nsp == "" {
			nsp = "/"
		}
		p.Sharded = append(p.Sharded, protocol.ShardedChannel(c.Prefix, nsp))
		if c.Room != "" {
			p.Sharded = append(p.Sharded, protocol.ShardedBroadcastChannel(c.Prefix, nsp, protocol.ShardedDynamicPrivate, []string{c.Room}))
		}
	}
	if streams {
		if c.Namespace != "" {
			p.Streams = []string{protocol.StreamKey(c.Prefix, c.Namespace, c.StreamCount)}
		} else {
			p.Streams = protocol.StreamKeys(c.Prefix, c.StreamCount)
		}
	}
	return p
}

// Source is where an Event came from.
type Source string

const (
	SourcePubSub  Source = "pubsub"  // PSUBSCRIBE
	SourceSharded Source = "sharded" // SSUBSCRIBE
	SourceStream  Source = "stream"  // XREAD
)

// Event is one observed item: a decoded message (Message set), a gap (Gap set), or an undecodable payload or
// stream entry (Err set). An Event handed to the function of Watch is valid until that function returns.
type Event struct {
	Time    time.Time
	Source  Source
	Channel string // channel, or stream key; empty for gaps
	Pattern string // the pattern that matched (SourcePubSub)
	ID      string // stream entry id (SourceStream)

	Message *protocol.Message // the decoded message; its Args keep objects' keys in wire order (jsvalue.Object)
	Gap     *pubsub.Gap       // messages may have been lost here
	Err     error             // why the payload or entry could not be decoded

	Payload []byte         // the pub/sub payload as received
	Fields  map[string]any // the stream entry as received
}

// decode fills e.Message or e.Err from e.Payload or e.Fields. It reports false for what every server skips
// (stream entries without a namespace: start-up probes).
func (e *Event) decode(prefix string) bool {
	switch {
	case e.Gap != nil:
		return true
	case e.Source == SourceStream:
		if _, probe := e.Fields["nsp"]; !probe {
			return false
		}
		e.Message, e.Err = protocol.DecodeStreamEntry(e.Fields)
	default:
		if e.Source == SourceSharded {
			e.Message, e.Err = protocol.DecodeSharded(prefix, e.Channel, e.Payload)
		} else {
			e.Message, e.Err = protocol.DecodePubSub(prefix, e.Channel, e.Payload)
		}
	}
	return true
}

// keep applies Namespace, Room and Event to a decoded message; gaps and undecodable items are always kept.
func (c *Config) keep(e *Event) bool {
	m := e.Message
	if m == nil {
		return true
	}
	if c.Namespace != "" && m.Nsp != c.Namespace {
		return false
	}
	if c.Event != "" && m.Event != c.Event {
		return false
	}
	if c.Room != "" && !slices.Contains(m.Rooms, c.Room) && !slices.Contains(m.Except, c.Room) &&
		!slices.Contains(m.TargetRooms, c.Room) && m.Room != c.Room {
		return false
	}
	return true
}

// process decodes and filters one raw item; it reports whether to hand it over.
func (c *Config) process(e *Event) bool { return e.decode(c.Prefix) && c.keep(e) }

// Watch subscribes and reads what cfg plans, then calls fn with each Event, one at a time and in the order
// received per source, until ctx is done (it then returns nil) or fn returns an error (returned as is). It
// returns an error without calling fn when cfg is invalid or the subscriptions cannot be made. Watch starts a
// goroutine per stream read and ends them all before it returns.
func Watch(ctx context.Context, client redis.UniversalClient, cfg Config, fn func(*Event) error) error {
	cfg, err := cfg.normalized()
	if err != nil {
		return err
	}
	plan := cfg.plan()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var pubsubC <-chan pubsub.Message
	if len(plan.Patterns)+len(plan.Sharded) > 0 {
		sub, err := pubsub.Subscribe(ctx, client, pubsub.Patterns(plan.Patterns...), pubsub.ShardedChannels(plan.Sharded...),
			pubsub.WithBufferSize(cfg.BufferSize), pubsub.WithOverflow(pubsub.OverflowDrop))
		if err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
		defer sub.Close()
		pubsubC = sub.C()
	}
	streamC := make(chan Event, 256)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel (deferred later, run first)
	defer cancel()
	if len(plan.Streams) > 0 {
		starts, err := streamStarts(ctx, client, plan.Streams)
		if err != nil {
			return err
		}
		for i, key := range plan.Streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				readStream(ctx, client, key, starts[i], streamC, cfg.StreamError)
			}()
		}
	}
	if cfg.Ready != nil {
		cfg.Ready()
	}
	for {
		var e Event
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-pubsubC:
			if !ok {
				return ctx.Err()
			}
			e = Event{Time: time.Now(), Source: SourcePubSub, Channel: m.Channel, Pattern: m.Pattern, Payload: []byte(m.Payload), Gap: m.Gap}
			if m.Sharded {
				e.Source = SourceSharded
			}
		case e = <-streamC:
		}
		if !cfg.process(&e) {
			continue
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
}

// streamStarts returns, for each stream, the id of its last entry ("0-0" for an empty or missing stream):
// reading after it is reading from "$" without missing what is added between two XREAD calls.
func streamStarts(ctx context.Context, client redis.UniversalClient, keys []string) ([]string, error) {
	starts := make([]string, len(keys))
	for i, key := range keys {
		entries, err := client.XRevRangeN(ctx, key, "+", "-", 1).Result()
		if err != nil {
			return nil, fmt.Errorf("monitor: XREVRANGE %s: %w", key, err)
		}
		starts[i] = "0-0"
		if len(entries) > 0 {
			starts[i] = entries[0].ID
		}
	}
	return starts, nil
}

// streamBlock is how long one XREAD waits for entries; it bounds how long Watch takes to return.
const streamBlock = 500 * time.Millisecond

// readStream sends the entries added to key after the entry last until ctx is done. Errors are reported to
// report and retried: entries stay in the stream, so nothing is lost unless the stream is trimmed meanwhile.
func readStream(ctx context.Context, client redis.UniversalClient, key, last string, out chan<- Event, report func(string, error)) {
	if report == nil {
		report = func(string, error) {}
	}
	failing := false
	for ctx.Err() == nil {
		res, err := client.XRead(ctx, &redis.XReadArgs{Streams: []string{key, last}, Count: 100, Block: streamBlock}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				report(key, fmt.Errorf("XREAD %s: %w", key, err))
				failing = true
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		if failing {
			report(key, nil)
			failing = false
		}
		for _, s := range res {
			for _, e := range s.Messages {
				last = e.ID
				select {
				case out <- Event{Time: time.Now(), Source: SourceStream, Channel: s.Stream, ID: e.ID, Fields: e.Values}:
				case <-ctx.Done():
					return
				}
			}
		}
	}
}
