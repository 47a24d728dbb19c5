package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sioredis/sioredis/pubsub"
)

func TestFormat(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	ts := "2026-01-02T03:04:05.678Z"
	date := "\xd6\xff\x00\x00\x00\x00"
	payload := "\x93\xa7emitter\x83\xa4type\x02\xa4data\x94\xa1e\xc4\x02\x01\x02" + date + "\x82\xa1b\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00\xa1a\xc7\x01\x05\xff" +
		"\xa3nsp\xa1/\x83\xa5rooms\x91\xa3r 1\xa6except\x90\xa5flags\x80"
	tests := []struct {
		name      string
		e         Event
		text, js  string
		filtered  bool
		filterArg Config
	}{
		{"broadcast with binary, a date, an ext and NaN",
			Event{Time: at, Source: SourcePubSub, Channel: "socket.io#/#r 1#", Pattern: "socket.io#*", Payload: []byte(payload)},
			ts + ` "socket.io#/#r 1#" broadcast uid=emitter nsp=/ rooms=["r 1"] except=[] flags={} event=e args=[<2 bytes>,1970-01-01T00:00:00.000Z,{"b":null,"a":{"$ext":5,"$data":"/w=="}}]`,
			`{"time":"` + ts + `","source":"pubsub","channel":"socket.io#/#r 1#","pattern":"socket.io#*","kind":"broadcast","format":"classic","encoding":"msgpack","uid":"emitter","nsp":"/","rooms":["r 1"],"except":[],"flags":{},"packetType":2,"event":"e","args":[{"$binary":"AQI="},{"$date":"1970-01-01T00:00:00.000Z"},{"b":null,"a":{"$ext":5,"$data":"/w=="}}]}`,
			false, Config{}},
		{"filtered out by --event",
			Event{Time: at, Source: SourcePubSub, Channel: "socket.io#/#", Payload: []byte(payload)}, "", "", true, Config{Event: "other"}},
		{"filtered out by --room",
			Event{Time: at, Source: SourcePubSub, Channel: "socket.io#/#", Payload: []byte(payload)}, "", "", true, Config{Room: "r"}},
		{"kept by --room and --nsp",
			Event{Time: at, Source: SourcePubSub, Channel: "c", Payload: []byte("\x93\xa1u\x83\xa4type\x02\xa4data\x91\xa1e\xa3nsp\xa2/a\x81\xa6except\x91\xa1r")},
			ts + ` c broadcast uid=u nsp=/a rooms=[] except=[r] flags={} event=e args=[]`,
			`{"time":"` + ts + `","source":"pubsub","channel":"c","kind":"broadcast","format":"classic","encoding":"msgpack","uid":"u","nsp":"/a","rooms":[],"except":["r"],"flags":{},"packetType":2,"event":"e","args":[]}`,
			false, Config{Room: "r", Namespace: "/a"}},
		{"undecodable pub/sub payload",
			Event{Time: at, Source: SourceSharded, Channel: "socket.io#/#", Payload: []byte("{nope")},
			ts + ` socket.io#/# undecodable error="malformed message: invalid JSON at offset 1: expected a string key" payload=7b6e6f7065`,
			`{"time":"` + ts + `","source":"sharded","channel":"socket.io#/#","kind":"undecodable","error":"malformed message: invalid JSON at offset 1: expected a string key","payload":"7b6e6f7065"}`,
			false, Config{Namespace: "/other"}},
		{"undecodable stream entry",
			Event{Time: at, Source: SourceStream, Channel: "socket.io", ID: "1-0", Fields: map[string]any{"nsp": "/", "type": "x"}},
			ts + ` socket.io undecodable error="malformed message: stream entry: type \"x\" is not a decimal number" fields={"nsp":"/","type":"x"}`,
			`{"time":"` + ts + `","source":"stream","channel":"socket.io","id":"1-0","kind":"undecodable","error":"malformed message: stream entry: type \"x\" is not a decimal number","fields":{"nsp":"/","type":"x"}}`,
			false, Config{}},
		{"stream probe entry is skipped",
			Event{Time: at, Source: SourceStream, Channel: "socket.io", ID: "1-0", Fields: map[string]any{"sioredis-probe": "x"}}, "", "", true, Config{}},
		{"reconnection gap",
			Event{Time: at, Source: SourcePubSub, Gap: &pubsub.Gap{Reason: pubsub.GapReconnect, Since: at.Add(-time.Second), Duration: 1500 * time.Millisecond, Attempts: 3, Err: fmt.Errorf("EOF")}},
			ts + ` gap reason=reconnect since=2026-01-02T03:04:04.678Z downtime_ms=1500 attempts=3 error=EOF`,
			`{"time":"` + ts + `","source":"pubsub","kind":"gap","reason":"reconnect","since":"2026-01-02T03:04:04.678Z","downtime_ms":1500,"attempts":3,"error":"EOF"}`,
			false, Config{}},
		{"overflow gap",
			Event{Time: at, Source: SourcePubSub, Gap: &pubsub.Gap{Reason: pubsub.GapOverflow, Since: at, Dropped: 7}},
			ts + ` gap reason=overflow since=` + ts + ` dropped=7`,
			`{"time":"` + ts + `","source":"pubsub","kind":"gap","reason":"overflow","since":"` + ts + `","dropped":7}`,
			false, Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, asJSON := range []bool{false, true} {
				var out bytes.Buffer
				cfg, err := tt.filterArg.normalized()
				if err != nil {
					t.Fatal(err)
				}
				e := tt.e
				if cfg.process(&e) {
					if asJSON {
						out.Write(e.AppendJSON(nil))
					} else {
						out.Write(e.AppendText(nil))
					}
				}
				want := tt.text
				if asJSON {
					want = tt.js
				}
				if tt.filtered {
					want = ""
				} else {
					want += "\n"
				}
				if out.String() != want {
					t.Errorf("json=%v:\ngot  %s\nwant %s", asJSON, out.String(), want)
				}
				if asJSON && !tt.filtered && !json.Valid(out.Bytes()) {
					t.Errorf("invalid JSON %s", out.String())
				}
			}
		})
	}
}

// FuzzAppendSafeString: whatever a publisher sends, the monitor writes a JSON string holding no character a
// terminal acts on, which decodes to the text sent (bytes that are not UTF-8 as U+FFFD).
func FuzzAppendSafeString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x1b[2J", "\u009b31m", "\u202eevil\u2066", "\U000e0041", "\xff\xfe", `"\`, "\u2028\r\n\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendSafeString(nil, s)
		for _, r := range string(out) {
			if terminalUnsafe(r) {
				t.Fatalf("%q written as %q, with %U", s, out, r)
			}
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q written as %q: %v", s, out, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want && !utf8Replaced(s, back) {
			t.Fatalf("%q written as %q, decoded to %q", s, out, back)
		}
	})
}

// utf8Replaced reports whether back is s with each invalid byte replaced by U+FFFD (ToValidUTF8 replaces a run
// of them with one).
func utf8Replaced(s, back string) bool {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += n
	}
	return b.String() == back
}
