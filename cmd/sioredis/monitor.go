package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/pubsub"
)

const monitorHelp = `usage: sioredis monitor [flags]

Prints every Socket.IO adapter message passing through Redis, decoded, one
per line, until interrupted (Ctrl-C exits with status 0).

Modes (--mode):
  classic  PSUBSCRIBE P#*, P-request#* and P-response#* (P#N#*... with --nsp):
           classic and socket.io 2 broadcasts, requests and responses, and the
           pub/sub messages of the streams adapter 0.3. Pattern subscriptions are
           invisible to PUBSUB NUMSUB, so the servers do not count the monitor.
  streams  XREAD (no consumer group) of the stream(s), from the last entry at
           start, plus PSUBSCRIBE P#* for the streams adapter's pub/sub messages.
  sharded  SSUBSCRIBE P#N# (and P#N#R# with --room). Sharded pub/sub has no
           pattern form: the servers count the monitor in PUBSUB SHARDNUMSUB and
           wait for its answer to fetchSockets and acknowledged serverSideEmit,
           which then time out. Requires --i-know-sharded-disturbs.
  all      classic and streams, and sharded when --i-know-sharded-disturbs is given
           (default).

Output fields of --json (one object per line; absent when empty):
  time, source (pubsub|sharded|stream), channel, pattern, id (stream entry),
  kind, format (classic|legacy|cluster|stream), encoding (json|msgpack), type,
  uid, nsp, requestId, rooms, except, flags, packetType, event, args,
  targetRooms, close, sid, room, data; error and payload (hex) or fields for
  kind "undecodable"; reason, since, downtime_ms, dropped, error for kind "gap".
  Binary values are {"$binary":"BASE64"}, dates {"$date":"ISO"}.

Flags:
`

// monitorFlags are the flags of the monitor command.
type monitorFlags struct {
	conn         connFlags
	mode         string
	prefix       string
	nsp          string
	room         string
	event        string
	json         bool
	streamCount  int
	allowSharded bool
}

// monitorSource is where an observed item came from.
const (
	sourcePubSub  = "pubsub"
	sourceSharded = "sharded"
	sourceStream  = "stream"
)

// observed is one item to print: a message, an entry or a gap.
type observed struct {
	at      time.Time
	source  string
	channel string
	pattern string
	id      string         // stream entry id
	payload []byte         // pub/sub payload
	fields  map[string]any // stream entry
	gap     *pubsub.Gap
}

// runMonitor implements "sioredis monitor": live, decoded Socket.IO cluster
// traffic. It prints every adapter message as it passes through
// Redis, one line each. Without --json a line reads
//
//	2026-11-22T06:00:00.123Z socket.io#/#room1# broadcast uid=emitter nsp=/ rooms=[room1] except=[] flags={} event=hello args=["world",<3 bytes>]
//
// With --json each message is one JSON object on its own line, with these
// fields (absent when empty, except where noted):
//
//	time        time of receipt, RFC 3339 in UTC with milliseconds (always)
//	source      "pubsub" (PSUBSCRIBE), "sharded" (SSUBSCRIBE) or "stream" (XREAD) (always)
//	channel     channel, or stream key (always, except for gaps)
//	pattern     the pattern that matched (source pubsub)
//	id          stream entry id (source stream)
//	kind        broadcast, broadcastWithAck, socketsJoin, socketsLeave, disconnectSockets, fetchSockets,
//	            fetchSocketsResponse, serverSideEmit, serverSideEmitResponse, broadcastClientCount, broadcastAck,
//	            initialHeartbeat, heartbeat, adapterClose, sockets, socketsResponse, allRooms, allRoomsResponse,
//	            clientRooms, remoteJoin, remoteLeave, remoteDisconnect, customRequest, customResponse, response,
//	            unknown; "gap" when messages may have been lost; "undecodable" (always)
//	format      classic, legacy (socket.io 2), cluster (sharded adapter, streams adapter pub/sub) or stream
//	encoding    json or msgpack
//	type        the type number on the wire (request or cluster message type)
//	uid         sender uid ("emitter" for emitters)
//	nsp         namespace
//	requestId   request id of requests and responses
//	rooms       targeted rooms (always for kinds that select sockets)
//	except      excluded rooms (likewise)
//	flags       broadcast flags, e.g. {"volatile":true,"compress":false} (always for broadcasts)
//	packetType  Socket.IO packet type of a broadcast: 2, or 5 (binary event, socket.io 2)
//	event       event name (broadcasts, serverSideEmit)
//	args        event arguments as a JSON array (always for broadcasts and serverSideEmit)
//	targetRooms rooms joined or left (socketsJoin, socketsLeave)
//	close       whether connections are closed (disconnectSockets, remoteDisconnect)
//	sid, room   socket and room of socket-id requests
//	data        the rest of responses and unknown messages (sockets, rooms, clientCount...)
//	error       why a payload is undecodable, or what caused a gap
//	payload     the undecodable payload, in hex
//	fields      the fields of an undecodable stream entry
//	reason      gap: "reconnect" or "overflow"
//	since       gap: when the loss began
//	downtime_ms gap: how long nothing was received
//	dropped     gap: messages dropped by the monitor itself (overflow)
//
// Values inside args, flags and data are plain JSON, except binary, written
// {"$binary":"BASE64"} (the argument syntax of "sioredis emit"), dates
// {"$date":"ISO-8601"}, other msgpack extensions {"$ext":TYPE,"$data":"BASE64"},
// and non-finite numbers null. Without --json, binary is shown as <N bytes>.
//
// It returns nil when ctx is done (Ctrl-C), and an error when it cannot
// start.
func runMonitor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("monitor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), monitorHelp)
		fs.PrintDefaults()
	}
	var f monitorFlags
	def := defaultRedisURL()
	fs.StringVar(&f.conn.redisURL, "redis", def, "Redis URL, or comma-separated node or sentinel addresses with --cluster or --sentinel-master")
	fs.BoolVar(&f.conn.cluster, "cluster", false, "connect to a Redis Cluster")
	fs.StringVar(&f.conn.sentinelMaster, "sentinel-master", "", "connect through Sentinel to this master")
	fs.StringVar(&f.mode, "mode", "all", "what to watch: classic, sharded, streams or all")
	fs.StringVar(&f.prefix, "prefix", protocol.DefaultPrefix, "key prefix (classic), channel prefix (sharded, streams) and stream name (streams)")
	fs.StringVar(&f.nsp, "nsp", "", "show only this namespace (sharded: the namespace to subscribe to, default /)")
	fs.StringVar(&f.room, "room", "", "show only messages naming this room (in rooms, except or the rooms joined or left)")
	fs.StringVar(&f.event, "event", "", "show only events of this name")
	fs.BoolVar(&f.json, "json", false, "one JSON object per line (fields: see -h)")
	fs.IntVar(&f.streamCount, "stream-count", 1, "streams adapter streamCount")
	fs.BoolVar(&f.allowSharded, "i-know-sharded-disturbs", false, "allow SSUBSCRIBE in sharded mode, which the servers count as one more server")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	plan, err := f.plan()
	if err != nil {
		return err
	}
	if plan.sharded != nil {
		fmt.Fprintf(stderr, "sioredis monitor: warning: SSUBSCRIBE %s makes the sharded servers count this monitor as a server "+
			"(PUBSUB SHARDNUMSUB): their fetchSockets and acknowledged serverSideEmit calls time out while it runs\n",
			strings.Join(plan.sharded, " "))
	}
	client, err := f.conn.client()
	if err != nil {
		return err
	}
	defer client.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var pubsubC <-chan pubsub.Message
	if len(plan.patterns)+len(plan.sharded) > 0 {
		sub, err := pubsub.Subscribe(ctx, client, pubsub.Patterns(plan.patterns...), pubsub.ShardedChannels(plan.sharded...),
			pubsub.WithBufferSize(4096), pubsub.WithOverflow(pubsub.OverflowDrop))
		if err != nil {
			return err
		}
		defer sub.Close()
		pubsubC = sub.C()
	}
	streamC := make(chan observed, 256)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel (deferred later, run first)
	defer cancel()
	if len(plan.streams) > 0 {
		starts, err := streamStarts(ctx, client, plan.streams)
		if err != nil {
			return err
		}
		for i, key := range plan.streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				readStream(ctx, client, key, starts[i], streamC, stderr)
			}()
		}
	}
	fmt.Fprintf(stderr, "sioredis monitor: watching %s (Ctrl-C to stop)\n", plan)

	p := printer{w: stdout, json: f.json, prefix: f.prefix, filter: f}
	for {
		var o observed
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-pubsubC:
			if !ok {
				return ctx.Err()
			}
			o = observed{at: time.Now(), source: sourcePubSub, channel: m.Channel, pattern: m.Pattern, payload: []byte(m.Payload), gap: m.Gap}
			if m.Sharded {
				o.source = sourceSharded
			}
		case o = <-streamC:
		}
		if err := p.print(&o); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
}

func defaultRedisURL() string {
	def := os.Getenv("REDIS_URL")
	if def == "" {
		def = "redis://127.0.0.1:6379"
	}
	return def
}

// monitorPlan is what the monitor subscribes to and reads.
type monitorPlan struct {
	patterns []string
	sharded  []string
	streams  []string
}

func (p monitorPlan) String() string {
	var parts []string
	if len(p.patterns) > 0 {
		parts = append(parts, "PSUBSCRIBE "+strings.Join(p.patterns, " "))
	}
	if len(p.sharded) > 0 {
		parts = append(parts, "SSUBSCRIBE "+strings.Join(p.sharded, " "))
	}
	if len(p.streams) > 0 {
		parts = append(parts, "XREAD "+strings.Join(p.streams, " "))
	}
	return strings.Join(parts, "; ")
}

// plan validates the flags and lists the subscriptions and streams.
func (f *monitorFlags) plan() (monitorPlan, error) {
	var p monitorPlan
	if err := protocol.ValidatePrefix(f.prefix); err != nil {
		return p, usageError{err}
	}
	if f.nsp != "" {
		nsp, err := protocol.NormalizeNamespace(f.nsp)
		if err != nil {
			return p, usageError{err}
		}
		f.nsp = nsp
	}
	if f.streamCount < 1 {
		return p, usagef("--stream-count must be at least 1")
	}
	var classic, streams, sharded bool
	switch f.mode {
	case "classic":
		classic = true
	case "streams":
		streams = true
	case "sharded":
		if !f.allowSharded {
			return p, usagef("--mode sharded subscribes with SSUBSCRIBE, which the sharded servers count as one more server: " +
				"fetchSockets and acknowledged serverSideEmit then time out while the monitor runs. " +
				"Pass --i-know-sharded-disturbs to do it anyway")
		}
		sharded = true
	case "all":
		classic, streams, sharded = true, true, f.allowSharded
	default:
		return p, usagef("--mode: unknown mode %q (classic, sharded, streams or all)", f.mode)
	}
	broadcast, request, response := protocol.ClassicPatterns(f.prefix, f.nsp)
	if classic {
		p.patterns = append(p.patterns, broadcast, request, response)
	} else if streams {
		p.patterns = append(p.patterns, broadcast) // the streams adapter 0.3 pub/sub messages
	}
	if sharded {
		nsp := f.nsp
		if nsp == "" {
			nsp = "/"
		}
		p.sharded = append(p.sharded, protocol.ShardedChannel(f.prefix, nsp, protocol.ShardedStatic, false, nil))
		if f.room != "" {
			p.sharded = append(p.sharded, protocol.ShardedChannel(f.prefix, nsp, protocol.ShardedDynamicPrivate, true, []string{f.room}))
		}
	}
	if streams {
		if f.nsp != "" {
			p.streams = []string{protocol.StreamKey(f.prefix, f.nsp, f.streamCount)}
		} else {
			p.streams = protocol.StreamKeys(f.prefix, f.streamCount)
		}
	}
	return p, nil
}

// streamStarts returns, for each stream, the id of its last entry ("0-0"
// for an empty or missing stream): reading after it is reading from "$"
// without missing what is added between two XREAD calls.
func streamStarts(ctx context.Context, client redis.UniversalClient, keys []string) ([]string, error) {
	starts := make([]string, len(keys))
	for i, key := range keys {
		entries, err := client.XRevRangeN(ctx, key, "+", "-", 1).Result()
		if err != nil {
			return nil, fmt.Errorf("XREVRANGE %s: %w", key, err)
		}
		starts[i] = "0-0"
		if len(entries) > 0 {
			starts[i] = entries[0].ID
		}
	}
	return starts, nil
}

// streamBlock is how long one XREAD waits for entries; it bounds how long
// the monitor takes to stop.
const streamBlock = 500 * time.Millisecond

// readStream sends the entries added to key after the entry last until ctx
// is done. Errors are reported on stderr and retried: entries stay in the
// stream, so nothing is lost unless the stream is trimmed meanwhile.
func readStream(ctx context.Context, client redis.UniversalClient, key, last string, out chan<- observed, stderr io.Writer) {
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
				fmt.Fprintf(stderr, "sioredis monitor: XREAD %s: %v (retrying)\n", key, err)
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
			fmt.Fprintf(stderr, "sioredis monitor: XREAD %s: reading again\n", key)
			failing = false
		}
		for _, s := range res {
			for _, e := range s.Messages {
				last = e.ID
				select {
				case out <- observed{at: time.Now(), source: sourceStream, channel: s.Stream, id: e.ID, fields: e.Values}:
				case <-ctx.Done():
					return
				}
			}
		}
	}
}

// maxKeptBuffer is the largest line buffer the printer keeps for the next line.
const maxKeptBuffer = 64 << 10

// printer writes observed items as text or JSON lines.
type printer struct {
	w      io.Writer
	json   bool
	prefix string
	filter monitorFlags
	buf    []byte
}

// print decodes, filters and writes one item.
func (p *printer) print(o *observed) error {
	var msg *protocol.Message
	var decodeErr error
	switch {
	case o.gap != nil:
	case o.source == sourceStream:
		if _, probe := o.fields["nsp"]; !probe {
			return nil // entries without nsp are skipped by every server (start-up probes)
		}
		msg, decodeErr = protocol.DecodeStreamEntry(o.fields)
	default:
		msg, decodeErr = protocol.DecodePubSub(p.prefix, o.channel, o.source == sourceSharded, o.payload)
	}
	if msg != nil && !p.keep(msg) {
		return nil
	}
	if msg != nil && len(msg.Args) > 0 {
		// Show objects with their keys in wire order, as clients see them.
		body := o.payload
		if o.source == sourceStream {
			data, _ := o.fields["data"].(string)
			body = []byte(data)
		}
		if args, ok := protocol.ArgsInOrder(msg, body); ok {
			msg.Args = args
		}
	}
	line := lineWriter{json: p.json, buf: p.buf[:0]}
	line.begin()
	line.str("time", o.at.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	if p.json {
		line.str("source", o.source)
	}
	line.optStr("channel", o.channel) // empty for gaps
	if p.json {
		line.optStr("pattern", o.pattern)
		line.optStr("id", o.id)
	}
	switch {
	case o.gap != nil:
		writeGap(&line, o.gap)
	case decodeErr != nil:
		line.str("kind", "undecodable")
		line.str("error", strings.TrimPrefix(decodeErr.Error(), "sioredis: "))
		if o.fields != nil {
			line.value("fields", o.fields)
		} else {
			line.str("payload", hex.EncodeToString(o.payload))
		}
	default:
		writeMessage(&line, msg)
	}
	p.buf = line.end()
	_, err := p.w.Write(p.buf)
	if cap(p.buf) > maxKeptBuffer {
		p.buf = nil // a huge message is rare: do not hold its line's memory for the rest of the run
	}
	return err
}

// keep applies --nsp, --room and --event.
func (p *printer) keep(m *protocol.Message) bool {
	f := p.filter
	if f.nsp != "" && m.Nsp != f.nsp {
		return false
	}
	if f.event != "" && m.Event != f.event {
		return false
	}
	if f.room != "" && !slices.Contains(m.Rooms, f.room) && !slices.Contains(m.Except, f.room) &&
		!slices.Contains(m.TargetRooms, f.room) && m.Room != f.room {
		return false
	}
	return true
}

func writeGap(l *lineWriter, g *pubsub.Gap) {
	l.str("kind", "gap")
	l.str("reason", g.Reason.String())
	l.str("since", g.Since.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	if g.Reason == pubsub.GapReconnect {
		l.num("downtime_ms", float64(g.Duration.Milliseconds()))
		l.num("attempts", float64(g.Attempts))
	}
	if g.Dropped > 0 {
		l.num("dropped", float64(g.Dropped))
	}
	if g.Err != nil {
		l.str("error", g.Err.Error())
	}
}

// selecting are the kinds whose rooms and except select sockets.
var selecting = []protocol.Kind{protocol.KindBroadcast, protocol.KindBroadcastWithAck, protocol.KindSocketsJoin,
	protocol.KindSocketsLeave, protocol.KindDisconnectSockets, protocol.KindFetchSockets}

func writeMessage(l *lineWriter, m *protocol.Message) {
	l.str("kind", m.Kind.String())
	broadcast := m.Kind == protocol.KindBroadcast || m.Kind == protocol.KindBroadcastWithAck
	if l.json {
		l.str("format", m.Format.String())
		if m.Encoding != 0 {
			l.str("encoding", m.Encoding.String())
		}
		if m.Type != protocol.NoType {
			l.num("type", float64(m.Type))
		}
	}
	l.optStr("uid", m.UID)
	l.optStr("nsp", m.Nsp)
	l.optStr("requestId", m.RequestID)
	if slices.Contains(selecting, m.Kind) {
		l.strings("rooms", m.Rooms)
		l.strings("except", m.Except)
	}
	if broadcast {
		flags := m.Flags
		if flags == nil {
			flags = map[string]any{}
		}
		l.value("flags", flags)
		if l.json {
			l.num("packetType", float64(m.PacketType))
		} else if m.PacketType != protocol.PacketEvent {
			l.num("packetType", float64(m.PacketType))
		}
	}
	if broadcast || m.Kind == protocol.KindServerSideEmit {
		l.str("event", m.Event)
	}
	if broadcast || m.Kind == protocol.KindServerSideEmit || m.Args != nil {
		args := m.Args
		if args == nil {
			args = []any{}
		}
		l.value("args", args)
	}
	if m.Kind == protocol.KindSocketsJoin || m.Kind == protocol.KindSocketsLeave {
		l.strings("targetRooms", m.TargetRooms)
	}
	if m.Kind == protocol.KindDisconnectSockets || m.Kind == protocol.KindRemoteDisconnect {
		l.boolean("close", m.Close)
	}
	l.optStr("sid", m.SID)
	l.optStr("room", m.Room)
	if m.Data != nil {
		l.value("data", m.Data)
	}
}

// lineWriter builds one output line: a JSON object, or "k=v" words after
// the time, the channel and the kind.
type lineWriter struct {
	json  bool
	buf   []byte
	first bool
}

func (l *lineWriter) begin() {
	l.first = true
	if l.json {
		l.buf = append(l.buf, '{')
	}
}

func (l *lineWriter) end() []byte {
	if l.json {
		l.buf = append(l.buf, '}')
	}
	return append(l.buf, '\n')
}

// key starts a field. In text, the time, channel and kind are bare words.
func (l *lineWriter) key(k string) {
	if l.json {
		if !l.first {
			l.buf = append(l.buf, ',')
		}
		l.buf = appendSafeString(l.buf, k)
		l.buf = append(l.buf, ':')
	} else {
		if !l.first {
			l.buf = append(l.buf, ' ')
		}
		if k != "time" && k != "channel" && k != "kind" {
			l.buf = append(l.buf, k...)
			l.buf = append(l.buf, '=')
		}
	}
	l.first = false
}

func (l *lineWriter) str(k, v string) {
	l.key(k)
	if l.json {
		l.buf = appendSafeString(l.buf, v)
	} else {
		l.buf = append(l.buf, textWord(v)...)
	}
}

func (l *lineWriter) optStr(k, v string) {
	if v != "" {
		l.str(k, v)
	}
}

func (l *lineWriter) num(k string, v float64) {
	l.key(k)
	l.buf = protocol.AppendJSNumber(l.buf, v)
}

func (l *lineWriter) boolean(k string, v bool) {
	l.key(k)
	l.buf = strconv.AppendBool(l.buf, v)
}

func (l *lineWriter) strings(k string, list []string) {
	l.key(k)
	if l.json {
		l.buf = append(l.buf, '[')
		for i, s := range list {
			if i > 0 {
				l.buf = append(l.buf, ',')
			}
			l.buf = appendSafeString(l.buf, s)
		}
		l.buf = append(l.buf, ']')
		return
	}
	l.buf = append(l.buf, '[')
	for i, s := range list {
		if i > 0 {
			l.buf = append(l.buf, ' ')
		}
		l.buf = append(l.buf, textWord(s)...)
	}
	l.buf = append(l.buf, ']')
}

func (l *lineWriter) value(k string, v any) {
	l.key(k)
	l.buf = appendValue(l.buf, v, l.json)
}

// textWord quotes a string for the text output when it would be ambiguous.
func textWord(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n\"=[]") || !isPrintable(s) {
		return string(appendSafeString(nil, s))
	}
	return s
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || terminalUnsafe(r) {
			return false
		}
	}
	return true
}

// terminalUnsafe reports the characters that must not reach a terminal as they are: anyone who can PUBLISH
// writes what the monitor prints. C0 and C1 controls and DEL start escape sequences (ESC, and U+009B, CSI,
// on terminals that read C1 codes); format characters (Cf: bidi overrides and isolates, zero-width
// characters, tags) and line and paragraph separators reorder or hide what is shown.
func terminalUnsafe(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// appendEscape appends the JSON escape \uXXXX of a UTF-16 code unit.
func appendEscape(b []byte, u rune) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', hex[u>>12&0xf], hex[u>>8&0xf], hex[u>>4&0xf], hex[u&0xf])
}

// appendSafeString writes s as a JSON string, without HTML escaping, with every terminalUnsafe character as
// a \u escape (a pair of them beyond U+FFFF) and bytes that are not UTF-8 as \ufffd: the same string for a
// JSON reader, and nothing a terminal acts on.
func appendSafeString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case terminalUnsafe(r):
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				b = appendEscape(appendEscape(b, hi), lo)
			} else {
				b = appendEscape(b, r)
			}
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// appendJSONString writes s as a JSON string, without HTML escaping.
func appendValue(b []byte, v any, asJSON bool) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case float64:
		return protocol.AppendJSNumber(b, v)
	case string:
		return appendSafeString(b, v)
	case []byte:
		if !asJSON {
			return fmt.Appendf(b, "<%d bytes>", len(v))
		}
		b = append(b, `{"$binary":`...)
		b = appendSafeString(b, base64.StdEncoding.EncodeToString(v))
		return append(b, '}')
	case time.Time:
		iso := v.UTC().Format("2006-01-02T15:04:05.000Z07:00")
		if !asJSON {
			return append(b, iso...)
		}
		b = append(b, `{"$date":`...)
		b = appendSafeString(b, iso)
		return append(b, '}')
	case protocol.Ext:
		b = fmt.Appendf(b, `{"$ext":%d,"$data":`, v.Type)
		b = appendSafeString(b, base64.StdEncoding.EncodeToString(v.Data))
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e, asJSON)
		}
		return append(b, ']')
	case protocol.Object:
		b = append(b, '{')
		for i, m := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendSafeString(b, m.Key)
			b = append(b, ':')
			b = appendValue(b, m.Value, asJSON)
		}
		return append(b, '}')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendSafeString(b, k)
			b = append(b, ':')
			b = appendValue(b, v[k], asJSON)
		}
		return append(b, '}')
	}
	return appendSafeString(b, fmt.Sprint(v))
}
