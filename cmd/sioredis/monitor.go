package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sioredis/sioredis/monitor"
	"github.com/sioredis/sioredis/protocol"
)

// monitorAbout is the text of "sioredis help monitor" before the examples.
const monitorAbout = `Prints every Socket.IO adapter message passing through Redis, decoded, one
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
  Binary values are {"$binary":"BASE64"}, dates {"$date":"ISO"}.`

// monitorFlags are the flags of the monitor command.
type monitorFlags struct {
	conn connFlags
	json bool
	cfg  monitor.Config
}

// runMonitor implements "sioredis monitor": it prints what package monitor watches, one line per Event
// (monitor.Event.AppendText, or AppendJSON with --json, which documents the fields). It returns nil when ctx is
// done (Ctrl-C), and an error when it cannot start.
func runMonitor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("monitor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f monitorFlags
	var mode string
	def := defaultRedisURL()
	f.conn.registerRedis(fs, def, "Redis URL, or comma-separated node or sentinel addresses with --cluster or --sentinel-master")
	fs.StringVar(&mode, "mode", "all", "what to watch: classic, sharded, streams or all")
	fs.StringVar(&f.cfg.Prefix, "prefix", protocol.DefaultPrefix, "key prefix (classic), channel prefix (sharded, streams) and stream name (streams)")
	fs.StringVar(&f.cfg.Namespace, "nsp", "", "show only this namespace (sharded: the namespace to subscribe to, default /)")
	fs.StringVar(&f.cfg.Room, "room", "", "show only messages naming this room (in rooms, except or the rooms joined or left)")
	fs.StringVar(&f.cfg.Event, "event", "", "show only events of this name")
	fs.BoolVar(&f.json, "json", false, "one JSON object per line (fields: see -h)")
	fs.IntVar(&f.cfg.StreamCount, "stream-count", 1, "streams adapter streamCount")
	fs.BoolVar(&f.cfg.AllowSharded, "i-know-sharded-disturbs", false, "allow SSUBSCRIBE in sharded mode, which the servers count as one more server")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f.cfg.Mode = monitor.Mode(mode)
	if f.cfg.StreamCount < 1 {
		return usagef("--stream-count must be at least 1")
	}
	plan, err := f.cfg.Plan()
	switch {
	case errors.Is(err, monitor.ErrShardedDisturbs):
		return usagef("--mode sharded subscribes with SSUBSCRIBE, which the sharded servers count as one more server: " +
			"fetchSockets and acknowledged serverSideEmit then time out while the monitor runs. " +
			"Pass --i-know-sharded-disturbs to do it anyway")
	case err != nil:
		return usageError{errors.New(strings.TrimPrefix(err.Error(), "monitor: "))}
	}
	if plan.Sharded != nil {
		fmt.Fprintf(stderr, "sioredis monitor: warning: SSUBSCRIBE %s makes the sharded servers count this monitor as a server "+
			"(PUBSUB SHARDNUMSUB): their fetchSockets and acknowledged serverSideEmit calls time out while it runs\n",
			strings.Join(plan.Sharded, " "))
	}
	client, err := f.conn.client()
	if err != nil {
		return err
	}
	defer client.Close()
	f.cfg.StreamError = func(stream string, err error) {
		if err != nil {
			fmt.Fprintf(stderr, "sioredis monitor: %v (retrying)\n", err)
		} else {
			fmt.Fprintf(stderr, "sioredis monitor: XREAD %s: reading again\n", stream)
		}
	}
	f.cfg.Ready = func() { fmt.Fprintf(stderr, "sioredis monitor: watching %s (Ctrl-C to stop)\n", plan) }
	var buf []byte
	err = monitor.Watch(ctx, client, f.cfg, func(e *monitor.Event) error {
		if f.json {
			buf = e.AppendJSON(buf[:0])
		} else {
			buf = e.AppendText(buf[:0])
		}
		_, err := stdout.Write(buf)
		if cap(buf) > maxKeptBuffer {
			buf = nil // a huge message is rare: do not hold its line's memory for the rest of the run
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	})
	return err
}

// maxKeptBuffer is the largest line buffer the monitor keeps for the next line.
const maxKeptBuffer = 64 << 10

func defaultRedisURL() string {
	def := os.Getenv("REDIS_URL")
	if def == "" {
		def = "redis://127.0.0.1:6379"
	}
	return def
}
