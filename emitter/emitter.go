package emitter

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/protocol"
)

// Errors a caller can test with errors.Is. The validation errors are those
// of package protocol, so both names match.
var (
	// ErrUnsupported reports an operation the target format cannot carry:
	// socket.io 2 clusters (legacy mode) have no request channel for
	// socketsJoin, socketsLeave, disconnectSockets or serverSideEmit.
	ErrUnsupported = errors.New("sioredis: operation not supported by this adapter format")

	ErrReservedEvent      = protocol.ErrReservedEvent
	ErrInvalidEvent       = protocol.ErrInvalidEvent
	ErrInvalidNamespace   = protocol.ErrInvalidNamespace
	ErrInvalidPrefix      = protocol.ErrInvalidPrefix
	ErrInvalidRoom        = protocol.ErrInvalidRoom
	ErrUnsupportedValue   = protocol.ErrUnsupportedValue
	ErrTooLarge           = protocol.ErrTooLarge
	ErrTooManyAttachments = protocol.ErrTooManyAttachments
)

// Mode is the adapter format of the target cluster.
type Mode int

const (
	// Classic targets @socket.io/redis-adapter 7–8 (createAdapter) and
	// socket.io-redis 6: msgpack broadcasts with PUBLISH, JSON requests.
	Classic Mode = iota
	// Sharded targets createShardedAdapter of @socket.io/redis-adapter
	// ≥ 8.2: ClusterAdapter messages with SPUBLISH (Redis ≥ 7).
	Sharded
	// Streams targets @socket.io/redis-streams-adapter 0.2 and 0.3: entries
	// added with XADD.
	Streams
	// Legacy targets socket.io 2 with socket.io-redis 5: classic broadcasts
	// (packet type 5 for binary), no request channel.
	Legacy
)

// String returns the mode's command-line name.
func (m Mode) String() string {
	switch m {
	case Classic:
		return "classic"
	case Sharded:
		return "sharded"
	case Streams:
		return "streams"
	case Legacy:
		return "legacy"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode parses a mode's command-line name.
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{Classic, Sharded, Streams, Legacy} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("sioredis: unknown mode %q (classic, sharded, streams or legacy)", s)
}

// SubscriptionMode is the subscriptionMode the sharded servers run with.
type SubscriptionMode = protocol.ShardedMode

// Sharded subscription modes; see WithSubscriptionMode.
const (
	SubscriptionStatic         = protocol.ShardedStatic
	SubscriptionDynamic        = protocol.ShardedDynamic
	SubscriptionDynamicPrivate = protocol.ShardedDynamicPrivate
)

// Defaults.
const (
	// DefaultMaxPayload is the default limit on one encoded message: a
	// quarter of Redis' default pub/sub output-buffer hard limit (32 MiB),
	// beyond which Redis disconnects the subscribing servers.
	DefaultMaxPayload = 8 << 20
	// DefaultMaxAttachments is the most binary values an event may carry:
	// Socket.IO parsers since 4.2.6 drop packets with more.
	DefaultMaxAttachments = 10
	// DefaultStreamMaxLen is the streams adapter's default MAXLEN.
	DefaultStreamMaxLen = 10000
)

type config struct {
	client         redis.UniversalClient
	prefix         string
	mode           Mode
	shardedMode    SubscriptionMode
	streamCount    int
	streamMaxLen   int64
	maxPayload     int
	maxAttachments int
	logger         *slog.Logger
	pipelining     bool
	pipe           *pipeliner
	parser         Parser
	metrics        Metrics
	waitReplicas   int           // WithDurability
	waitTimeout    time.Duration // WithDurability
}

// Parser is a custom codec for classic broadcasts: the parser option of
// @socket.io/redis-adapter ≥ 8 (and of @socket.io/redis-emitter ≥ 5.1), for
// clusters whose servers were given one. Encode receives the message
// [uid, {type, data, nsp}, {rooms, flags, except}], with jsvalue.Object
// for the objects (their MarshalJSON keeps the key order) and the event
// arguments as given; it must return what the servers' parser decodes.
// Requests (socketsJoin, serverSideEmit...) stay JSON, which the adapters
// recognise before calling their parser. A Parser must be safe for
// concurrent use.
type Parser interface {
	Encode(msg any) ([]byte, error)
}

// Option configures an Emitter.
type Option func(*config)

// WithPrefix sets the key prefix: the classic adapter's key, the sharded
// adapter's channelPrefix, the streams adapter's streamName. Default
// "socket.io".
func WithPrefix(prefix string) Option { return func(c *config) { c.prefix = prefix } }

// WithMode sets the adapter format of the target cluster. Default Classic.
func WithMode(m Mode) Option { return func(c *config) { c.mode = m } }

// WithSubscriptionMode tells a Sharded emitter the servers'
// subscriptionMode, so that a broadcast to exactly one room can use the
// room's own channel and reach only the servers that have that room. The
// default, SubscriptionStatic, always publishes on the namespace channel,
// which servers of every mode read.
func WithSubscriptionMode(m SubscriptionMode) Option {
	return func(c *config) { c.shardedMode = m }
}

// WithStreamCount sets the streams adapter's streamCount (0.3): with n > 1,
// each namespace is written to the stream the servers read it from.
func WithStreamCount(n int) Option { return func(c *config) { c.streamCount = n } }

// WithStreamMaxLen sets the approximate MAXLEN of XADD. Default 10000.
func WithStreamMaxLen(n int64) Option { return func(c *config) { c.streamMaxLen = n } }

// WithMaxPayload sets the largest encoded message, in bytes, that the
// emitter publishes; larger ones fail with ErrTooLarge. Zero or less removes
// the limit. Default DefaultMaxPayload.
func WithMaxPayload(n int) Option { return func(c *config) { c.maxPayload = n } }

// WithMaxAttachments sets the most binary values one event may carry;
// events with more fail with ErrTooManyAttachments. Zero or less removes the
// limit. Default DefaultMaxAttachments.
func WithMaxAttachments(n int) Option { return func(c *config) { c.maxAttachments = n } }

// WithAutoPipelining turns automatic pipelining on (the default) or off.
// With it, the commands of concurrent callers are sent together in one
// round trip, as node-redis does; a lone caller's command is sent at once.
// Each call still returns its own command's result.
func WithAutoPipelining(on bool) Option { return func(c *config) { c.pipelining = on } }

// WithParser sets the codec of classic broadcasts, for clusters whose
// adapter was created with a parser option. Only the Classic mode has one.
// Arguments are still checked by the built-in encoder first, so a bad
// argument is refused whatever the parser would do with it.
func WithParser(p Parser) Option { return func(c *config) { c.parser = p } }

// WithLogger sets the logger for debug records of what is published.
// Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Emitter publishes Socket.IO events and cluster commands into Redis in the
// format of one adapter. Its operators (Of, To, In, Except, Volatile,
// Compress) return a derived Emitter and never change the receiver, so an
// Emitter is immutable and safe for concurrent use by many goroutines.
//
// An operator given bad input (an invalid namespace or room) returns an
// Emitter that carries the error: every publishing method then returns it
// without publishing, and Err reports it at once.
type Emitter struct {
	cfg     *config
	nsp     string
	rooms   []string
	except  []string
	flags   protocol.Flags
	channel string // where a broadcast of this emitter is published
	err     error
}

// New returns an Emitter for the main namespace "/" that publishes through
// client: a *redis.Client, *redis.ClusterClient, a Sentinel-backed failover
// client or a *redis.Ring. The emitter does not own the client and never
// closes it.
func New(client redis.UniversalClient, opts ...Option) (*Emitter, error) {
	if client == nil {
		return nil, errors.New("sioredis: emitter.New: nil Redis client")
	}
	cfg := &config{
		client:         client,
		prefix:         protocol.DefaultPrefix,
		streamMaxLen:   DefaultStreamMaxLen,
		maxPayload:     DefaultMaxPayload,
		maxAttachments: DefaultMaxAttachments,
		pipelining:     true,
	}
	for _, o := range opts {
		o(cfg)
	}
	if err := protocol.ValidatePrefix(cfg.prefix); err != nil {
		return nil, err
	}
	if cfg.mode < Classic || cfg.mode > Legacy {
		return nil, fmt.Errorf("sioredis: emitter.New: invalid mode %d", cfg.mode)
	}
	if cfg.parser != nil && cfg.mode != Classic {
		return nil, fmt.Errorf("sioredis: emitter.New: a parser applies to the classic mode only, not %s", cfg.mode)
	}
	if cfg.waitReplicas < 0 || cfg.waitTimeout < 0 || (cfg.waitReplicas > 0 && cfg.waitTimeout == 0) {
		return nil, fmt.Errorf("sioredis: emitter.New: durability needs a positive replica count and timeout, not %d and %s", cfg.waitReplicas, cfg.waitTimeout)
	}
	if cfg.waitReplicas > 0 && cfg.mode != Streams {
		return nil, fmt.Errorf("sioredis: emitter.New: durability applies to the streams mode only, not %s (pub/sub keeps nothing to replicate)", cfg.mode)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	cfg.pipe = &pipeliner{client: client, enabled: cfg.pipelining, metrics: cfg.metrics,
		waitReplicas: cfg.waitReplicas, waitTimeout: cfg.waitTimeout}
	e := &Emitter{cfg: cfg, nsp: "/"}
	e.channel = e.broadcastChannel()
	return e, nil
}

// Err returns the error an operator recorded, if any.
func (e *Emitter) Err() error { return e.err }

// Namespace returns the emitter's namespace, with its leading "/".
func (e *Emitter) Namespace() string { return e.nsp }

// Mode returns the adapter format the emitter writes.
func (e *Emitter) Mode() Mode { return e.cfg.mode }

func (e *Emitter) derive(change func(*Emitter) error) *Emitter {
	if e.err != nil {
		return e
	}
	d := *e
	if err := change(&d); err != nil {
		return &Emitter{cfg: e.cfg, nsp: e.nsp, err: err}
	}
	d.channel = d.broadcastChannel()
	return &d
}

// Of returns an emitter for namespace nsp ("/admin"; a missing leading "/"
// is added), with no rooms, exceptions or flags, like the official
// emitter's of(). An empty namespace or one containing Redis glob
// characters (* ? [ ] \) is an ErrInvalidNamespace.
func (e *Emitter) Of(nsp string) *Emitter {
	return e.derive(func(d *Emitter) error {
		n, err := protocol.NormalizeNamespace(nsp)
		if err != nil {
			return err
		}
		*d = Emitter{cfg: e.cfg, nsp: n}
		return nil
	})
}

// scanRooms is the most rooms that addRooms compares one by one; beyond it a
// set of the rooms seen costs less than the comparisons.
const scanRooms = 64

// addRooms returns list plus the rooms not yet in it, in order, never
// sharing memory with list. Its time grows with the number of rooms, not
// with its square: an HTTP request may name hundreds of thousands.
func addRooms(list []string, rooms []string) ([]string, error) {
	out := slices.Clip(list)
	var seen map[string]struct{}
	if len(list)+len(rooms) > scanRooms {
		seen = make(map[string]struct{}, len(list)+len(rooms))
		for _, r := range list {
			seen[r] = struct{}{}
		}
	}
	for _, r := range rooms {
		if err := protocol.ValidateRoom(r); err != nil {
			return nil, err
		}
		if seen != nil {
			if _, dup := seen[r]; dup {
				continue
			}
			seen[r] = struct{}{}
		} else if slices.Contains(out, r) {
			continue
		}
		out = append(out, r) // out had no spare capacity: a fresh array
	}
	return out, nil
}

// To returns an emitter that targets the sockets in any of rooms (and in the
// rooms already targeted). A socket in several of them gets the event once.
func (e *Emitter) To(rooms ...string) *Emitter {
	return e.derive(func(d *Emitter) (err error) {
		d.rooms, err = addRooms(d.rooms, rooms)
		return err
	})
}

// In is the same as To.
func (e *Emitter) In(rooms ...string) *Emitter { return e.To(rooms...) }

// Except returns an emitter that skips the sockets in any of rooms. On
// socket.io 2 clusters (Legacy) these must be socket ids.
func (e *Emitter) Except(rooms ...string) *Emitter {
	return e.derive(func(d *Emitter) (err error) {
		d.except, err = addRooms(d.except, rooms)
		return err
	})
}

// Volatile returns an emitter whose events may be dropped for clients that
// are not ready to receive them.
func (e *Emitter) Volatile() *Emitter {
	return e.derive(func(d *Emitter) error {
		d.flags.Volatile = true
		return nil
	})
}

// Compress returns an emitter that asks the servers to compress (or not)
// the events it sends. Without it the servers' default applies.
func (e *Emitter) Compress(compress bool) *Emitter {
	return e.derive(func(d *Emitter) error {
		if d.flags.Compress == protocol.CompressUnset {
			d.flags.CompressFirst = !d.flags.Volatile
		}
		d.flags.Compress = protocol.CompressFalse
		if compress {
			d.flags.Compress = protocol.CompressTrue
		}
		return nil
	})
}

func (e *Emitter) broadcastChannel() string {
	switch e.cfg.mode {
	case Sharded:
		return protocol.ShardedBroadcastChannel(e.cfg.prefix, e.nsp, e.cfg.shardedMode, e.rooms)
	case Streams:
		return protocol.StreamKey(e.cfg.prefix, e.nsp, e.cfg.streamCount)
	default:
		return protocol.BroadcastChannel(e.cfg.prefix, e.nsp, e.rooms)
	}
}

// Emit sends event with args to every socket the emitter targets, through
// the servers of the cluster, and returns Redis' answer (see Receipt: a
// pub/sub message that reached no server is no error, and Receivers says so).
// Arguments follow the argument-encoding rule of package jsvalue. Nothing is
// published when the event name is reserved or an argument cannot be
// encoded. Events sent this way cannot be acknowledged.
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) (Receipt, error) {
	if e.err != nil {
		return noReceipt, e.err
	}
	if err := siopacket.ValidateEvent(event); err != nil {
		return noReceipt, err
	}
	op := e.op(protocol.OpBroadcast)
	op.Event, op.Args = event, args
	return e.send(ctx, &op)
}

// SocketsJoin makes the targeted sockets join rooms, on every server. The
// Receipt is that of Emit.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) (Receipt, error) {
	return e.roomCommand(ctx, protocol.OpSocketsJoin, rooms)
}

// SocketsLeave makes the targeted sockets leave rooms, on every server. The
// Receipt is that of Emit.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) (Receipt, error) {
	return e.roomCommand(ctx, protocol.OpSocketsLeave, rooms)
}

func (e *Emitter) roomCommand(ctx context.Context, kind protocol.OpKind, rooms []string) (Receipt, error) {
	if e.err != nil {
		return noReceipt, e.err
	}
	if len(rooms) == 0 {
		return noReceipt, fmt.Errorf("%w: %s needs at least one room", ErrInvalidRoom, kind)
	}
	for _, r := range rooms {
		if err := protocol.ValidateRoom(r); err != nil {
			return noReceipt, err
		}
	}
	op := e.op(kind)
	op.JoinRooms = rooms
	return e.send(ctx, &op)
}

// DisconnectSockets disconnects the targeted sockets. With close, the
// underlying connection is closed too (otherwise only the namespace is left).
// The Receipt is that of Emit.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) (Receipt, error) {
	if e.err != nil {
		return noReceipt, e.err
	}
	op := e.op(protocol.OpDisconnectSockets)
	op.Close = close
	return e.send(ctx, &op)
}

// ServerSideEmit sends event with args to the servers of the namespace (not
// to clients): each server fires its namespace's handler for event. The
// names "connect", "connection" and "new_namespace" are reserved.
// Acknowledgements are not supported (an emitter is not a cluster member).
// The Receipt is that of Emit.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) (Receipt, error) {
	if e.err != nil {
		return noReceipt, e.err
	}
	if err := siopacket.ValidateServerEvent(event); err != nil {
		return noReceipt, err
	}
	op := e.op(protocol.OpServerSideEmit)
	op.Event, op.Args = event, args
	return e.send(ctx, &op)
}

func (e *Emitter) op(kind protocol.OpKind) protocol.Op {
	return protocol.Op{
		Kind:           kind,
		Nsp:            e.nsp,
		Rooms:          e.rooms,
		Except:         e.except,
		Flags:          e.flags,
		MaxAttachments: e.cfg.maxAttachments,
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooled keeps rare huge buffers out of the pool.
const maxPooled = 64 << 10

// noReceipt is the Receipt of what was not published.
var noReceipt = Receipt{Receivers: -1, Replicas: -1}

// send encodes op completely, checks its size, then publishes it: an error
// before the publish means nothing was published (and the Receipt is
// noReceipt).
func (e *Emitter) send(ctx context.Context, op *protocol.Op) (_ Receipt, err error) {
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooled {
			bufPool.Put(bp)
		}
	}()
	buf := (*bp)[:0]
	cfg := e.cfg
	var channel string
	binary := false
	switch cfg.mode {
	case Classic, Legacy:
		if op.Kind == protocol.OpBroadcast {
			buf, err = protocol.AppendClassicBroadcast(buf, protocol.EmitterUID, op, cfg.mode == Legacy)
			channel = e.channel
			if err == nil && cfg.parser != nil {
				var custom []byte
				if custom, err = cfg.parser.Encode(protocol.ClassicBroadcastValue(protocol.EmitterUID, op)); err != nil {
					err = fmt.Errorf("sioredis: parser: %w", err)
				}
				buf = append(buf[:0], custom...)
			}
		} else {
			if cfg.mode == Legacy {
				return noReceipt, fmt.Errorf("%w: %s on a socket.io 2 cluster (socket.io-redis 5 has no request channel for it)", ErrUnsupported, op.Kind)
			}
			buf, err = protocol.AppendClassicRequest(buf, protocol.EmitterUID, op)
			channel = protocol.RequestChannel(cfg.prefix, e.nsp)
		}
	case Sharded:
		buf, err = protocol.AppendClusterMessage(buf, protocol.EmitterUID, op)
		channel = e.channel
		if op.Kind != protocol.OpBroadcast {
			channel = protocol.ShardedChannel(cfg.prefix, e.nsp)
		}
	case Streams:
		buf, binary, err = protocol.AppendStreamData(buf, op)
		channel = e.channel
	}
	*bp = buf
	if err != nil {
		return noReceipt, err
	}
	size := len(buf)
	if binary {
		size = base64.StdEncoding.EncodedLen(size)
	}
	if cfg.maxPayload > 0 && size > cfg.maxPayload {
		return noReceipt, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, size, cfg.maxPayload)
	}
	if cfg.logger.Enabled(ctx, slog.LevelDebug) {
		cfg.logger.DebugContext(ctx, "sioredis: publish", "mode", cfg.mode.String(), "op", op.Kind.String(),
			"channel", channel, "bytes", size)
	}
	c := commandPool.Get().(*command)
	c.channel, c.payload, c.err = channel, buf, nil
	c.receivers, c.id, c.replicas = -1, "", -1
	switch cfg.mode {
	case Classic, Legacy:
		c.verb = verbPublish
	case Sharded:
		c.verb = verbSPublish
	case Streams:
		data := string(buf)
		if binary {
			data = base64.StdEncoding.EncodeToString(buf)
		}
		c.verb = verbXAdd
		c.xadd = &redis.XAddArgs{
			Stream: channel,
			MaxLen: cfg.streamMaxLen,
			Approx: true,
			Values: protocol.StreamEntry(protocol.EmitterUID, e.nsp, protocol.ClusterType(op), data),
		}
	}
	err = cfg.pipe.do(ctx, c)
	r := Receipt{Channel: channel, Receivers: int(c.receivers), EntryID: c.id, Replicas: c.replicas}
	c.payload, c.xadd = nil, nil
	commandPool.Put(c)
	if m := cfg.metrics; m != nil {
		switch {
		case err == nil:
			m.Published(cfg.mode, size, r.Receivers)
		case errors.Is(err, ErrNotDurable):
			m.Published(cfg.mode, size, r.Receivers)
			m.NotDurable(cfg.mode)
		default:
			m.PublishFailed(cfg.mode)
		}
	}
	if err != nil {
		if !errors.Is(err, ErrNotDurable) {
			r = noReceipt
		}
		return r, fmt.Errorf("sioredis: %s to %s: %w", op.Kind, channel, err)
	}
	if r.Receivers == 0 && cfg.logger.Enabled(ctx, slog.LevelDebug) {
		cfg.logger.DebugContext(ctx, "sioredis: published to no subscriber", "mode", cfg.mode.String(),
			"op", op.Kind.String(), "channel", channel)
	}
	return r, nil
}
