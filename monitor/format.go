package monitor

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/jsvalue"
	"github.com/sioredis/sioredis/protocol"
	"github.com/sioredis/sioredis/pubsub"
)

// AppendText appends e as one line of text, ending in a newline:
//
//	2026-11-22T06:00:00.123Z socket.io#/#room1# broadcast uid=emitter nsp=/ rooms=[room1] except=[] flags={} event=hello args=["world",<3 bytes>]
//
// the time, the channel and the kind, then key=value words; strings are quoted when ambiguous, binary shows as
// <N bytes>. Nothing in it is a character a terminal acts on (controls, bidi and zero-width characters are
// written as \u escapes), whatever a publisher sent.
func (e *Event) AppendText(b []byte) []byte { return e.appendLine(b, false) }

// AppendJSON appends e as one JSON object on a line of its own, with these fields (absent when empty, except
// where noted):
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
//	attempts    gap: reconnection attempts
//	dropped     gap: messages dropped by the monitor itself (overflow)
//
// Values inside args, flags and data are plain JSON, except binary, written {"$binary":"BASE64"} (the argument
// syntax of "sioredis emit"), dates {"$date":"ISO-8601"}, other msgpack extensions {"$ext":TYPE,"$data":"BASE64"},
// and non-finite numbers null. Strings escape what AppendText escapes.
func (e *Event) AppendJSON(b []byte) []byte { return e.appendLine(b, true) }

func (e *Event) appendLine(b []byte, asJSON bool) []byte {
	line := lineWriter{json: asJSON, buf: b}
	line.begin()
	line.str("time", e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	if asJSON {
		line.str("source", string(e.Source))
	}
	line.optStr("channel", e.Channel) // empty for gaps
	if asJSON {
		line.optStr("pattern", e.Pattern)
		line.optStr("id", e.ID)
	}
	switch {
	case e.Gap != nil:
		writeGap(&line, e.Gap)
	case e.Err != nil:
		line.str("kind", "undecodable")
		line.str("error", strings.TrimPrefix(e.Err.Error(), "sioredis: "))
		if e.Fields != nil {
			line.value("fields", e.Fields)
		} else {
			line.str("payload", hex.EncodeToString(e.Payload))
		}
	case e.Message != nil:
		writeMessage(&line, e.Message)
	}
	return line.end()
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
		} else if m.PacketType != siopacket.Event {
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
	l.buf = jsvalue.AppendJSNumber(l.buf, v)
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

// appendValue writes v as JSON (asJSON) or as the text output shows it.
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
		return jsvalue.AppendJSNumber(b, v)
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
	case jsvalue.Ext:
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
	case jsvalue.Object:
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
