package siopacket

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sioredis/sioredis/jsvalue"
)

type sioFile struct {
	Name    string    `json:"name"`
	Content []byte    `json:"content"`
	Thumb   []byte    `json:"thumb,omitempty"`
	At      time.Time `json:"at"`
	Parts   [][]byte  `json:"parts,omitempty"`
}

func TestAppendEventData(t *testing.T) {
	at := time.Date(2017, 12, 19, 15, 0, 0, 123456789, time.FixedZone("CET", 3600))
	tests := []struct {
		name  string
		event string
		args  []any
		want  string
		bufs  [][]byte
	}{
		{name: "no args", event: "ping", want: `["ping"]`},
		{name: "scalars", event: "e", args: []any{"a", 1, 1.5, true, nil, int64(-3), uint8(7)}, want: `["e","a",1,1.5,true,null,-3,7]`},
		{name: "strings as JSON.stringify", event: "é", args: []any{"<&>\u2028\x01"}, want: "[\"é\",\"<&>\u2028\\u0001\"]"},
		{name: "time is a JS date", event: "e", args: []any{at}, want: `["e","2017-12-19T14:00:00.123Z"]`},
		{name: "binary argument", event: "e", args: []any{[]byte{1, 2}}, want: `["e",{"_placeholder":true,"num":0}]`, bufs: [][]byte{{1, 2}}},
		{name: "nil bytes are null", event: "e", args: []any{[]byte(nil)}, want: `["e",null]`},
		{name: "empty bytes are binary", event: "e", args: []any{[]byte{}}, want: `["e",{"_placeholder":true,"num":0}]`, bufs: [][]byte{{}}},
		{
			name:  "binary in a struct, in order",
			event: "file",
			args:  []any{sioFile{Name: "a", Content: []byte{1}, Thumb: []byte{2}, At: at, Parts: [][]byte{{3}, nil}}, []byte{4}},
			want:  `["file",{"name":"a","content":{"_placeholder":true,"num":0},"thumb":{"_placeholder":true,"num":1},"at":"2017-12-19T14:00:00.123Z","parts":[{"_placeholder":true,"num":2},null]},{"_placeholder":true,"num":3}]`,
			bufs:  [][]byte{{1}, {2}, {3}, {4}},
		},
		{
			name:  "binary in maps and slices",
			event: "e",
			args:  []any{map[string]any{"b": []any{[]byte{9}}, "a": 1}, jsvalue.Object{{Key: "z", Value: []byte{8}}, {Key: "y", Value: 2}}},
			want:  `["e",{"a":1,"b":[{"_placeholder":true,"num":0}]},{"z":{"_placeholder":true,"num":1},"y":2}]`,
			bufs:  [][]byte{{9}, {8}},
		},
		{name: "raw JSON kept", event: "e", args: []any{json.RawMessage(` {"b":1,"a":[2]} `)}, want: `["e",{"b":1,"a":[2]}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, bufs, err := AppendEventData([]byte("2/admin,"), tt.event, tt.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out); got != "2/admin,"+tt.want {
				t.Errorf("got  %s\nwant 2/admin,%s", got, tt.want)
			}
			if len(bufs) != len(tt.bufs) {
				t.Fatalf("%d attachments, want %d", len(bufs), len(tt.bufs))
			}
			for i := range bufs {
				if !bytes.Equal(bufs[i], tt.bufs[i]) {
					t.Errorf("attachment %d = %x, want %x", i, bufs[i], tt.bufs[i])
				}
			}
			if !json.Valid(out[len("2/admin,"):]) {
				t.Errorf("invalid JSON %s", out)
			}
		})
	}
}

func TestAppendAckData(t *testing.T) {
	tests := []struct {
		name string
		args []any
		want string
		n    int
	}{
		{name: "empty", want: `[]`},
		{name: "values", args: []any{"x", 2}, want: `["x",2]`},
		{name: "binary", args: []any{map[string][]byte{"k": {1}}, []byte{2}}, want: `[{"k":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`, n: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, bufs, err := AppendAckData(nil, tt.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || len(bufs) != tt.n {
				t.Errorf("got %s with %d attachments, want %s with %d", out, len(bufs), tt.want, tt.n)
			}
		})
	}
}

func TestAppendEventDataErrors(t *testing.T) {
	tests := []struct {
		name  string
		event string
		args  []any
		want  error
	}{
		{name: "empty event", event: "", want: ErrInvalidEvent},
		{name: "reserved event", event: "disconnecting", want: ErrReservedEvent},
		{name: "channel", event: "e", args: []any{[]byte{1}, make(chan int)}, want: jsvalue.ErrUnsupportedValue},
		{name: "raw JSON invalid", event: "e", args: []any{json.RawMessage(`{`)}, want: jsvalue.ErrUnsupportedValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("prefix")
			atts := [][]byte{{0}}
			out, bufs, err := AppendEventData(dst, tt.event, tt.args, atts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if string(out) != "prefix" || len(bufs) != 1 {
				t.Errorf("on error got %q and %d attachments, want the inputs unchanged", out, len(bufs))
			}
		})
	}
	if _, _, err := AppendAckData(nil, []any{func() {}}, nil); !errors.Is(err, jsvalue.ErrUnsupportedValue) {
		t.Errorf("ack with a func: err = %v", err)
	}
}

// The placeholder mode leaves the JSON of values without binary exactly as the
// JSON mode of the Redis encoders writes it.
func TestEventDataMatchesJSONMode(t *testing.T) {
	args := []any{benchMessage(), "text", 42, 1.5, true, nil, map[string]any{"k": []any{1, "2"}}}
	w := jsvalue.JSONWriter(nil)
	if err := WriteEventData(&w, "e", args); err != nil {
		t.Fatal(err)
	}
	out, bufs, err := AppendEventData(nil, "e", args, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(w.Bytes()) || len(bufs) != 0 {
		t.Fatalf("got  %s\nwant %s", out, w.Bytes())
	}
}

func TestEventDataDoesNotAllocate(t *testing.T) {
	args := []any{benchMessage(), "text", 42, []byte{1}, map[string]any{"b": []byte{2}}}
	buf := make([]byte, 0, 1024)
	atts := make([][]byte, 0, 4)
	allocs := testing.AllocsPerRun(100, func() {
		buf, atts, _ = AppendEventData(buf[:0], "e", args, atts[:0])
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per event payload, want 0", allocs)
	}
}

func BenchmarkAppendEventData_Struct(b *testing.B) {
	args := []any{benchMessage()}
	buf := make([]byte, 0, 1024)
	var atts [][]byte
	b.ReportAllocs()
	for b.Loop() {
		buf, atts, _ = AppendEventData(buf[:0], "my_event_name", args, atts[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendEventData_RawMessage writes an argument passed on as received (a relay's json.RawMessage).
func BenchmarkAppendEventData_RawMessage(b *testing.B) {
	args := []any{json.RawMessage(`{"id":"m1","created_at":"2017-12-19T14:00:00.000Z","body":"hello \"world\" \u00e9","author":"ann","tags":["a"],"n":42}`)}
	buf := make([]byte, 0, 1024)
	var atts [][]byte
	b.ReportAllocs()
	for b.Loop() {
		buf, atts, _ = AppendEventData(buf[:0], "my_event_name", args, atts[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// chat is a typical event argument: a saved chat message.
type chat struct {
	ID     string    `json:"id"`
	At     time.Time `json:"created_at"`
	Body   string    `json:"body"`
	Author string    `json:"author,omitempty"`
	Tags   []string  `json:"tags"`
}

func benchMessage() *chat {
	return &chat{ID: "m1", At: time.Date(2017, 12, 19, 14, 0, 0, 0, time.UTC), Body: "hello", Author: "ann", Tags: []string{"a"}}
}

func TestValidateEvent(t *testing.T) {
	for _, ev := range reservedEvents {
		if err := ValidateEvent(ev); !errors.Is(err, ErrReservedEvent) {
			t.Errorf("event %q: got %v", ev, err)
		}
	}
	for _, ev := range reservedServerEvents {
		if err := ValidateServerEvent(ev); !errors.Is(err, ErrReservedEvent) {
			t.Errorf("server event %q: got %v", ev, err)
		}
	}
	if err := ValidateEvent(""); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("empty event: %v", err)
	}
	if err := ValidateEvent("connection"); err != nil {
		t.Errorf("connection is a valid client event: %v", err)
	}
}
