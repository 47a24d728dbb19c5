package protocol

import (
	"testing"
	"time"
)

type chatMessage struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Body      string    `json:"body"`
	Author    struct {
		Name  string `json:"name"`
		Admin bool   `json:"admin,omitempty"`
	} `json:"author"`
	Tags []string `json:"tags"`
}

func benchMessage() *chatMessage {
	m := &chatMessage{ID: "message_id", CreatedAt: time.Date(2017, 12, 19, 14, 0, 0, 0, time.UTC), Body: "message_body", Tags: []string{"a", "b"}}
	m.Author.Name = "ann"
	return m
}

// BenchmarkClassicBroadcast_Struct measures the encoding of one broadcast
// with a struct argument into a reused buffer: what Emit costs besides the
// Redis client.
func BenchmarkClassicBroadcast_Struct(b *testing.B) {
	op := &Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{benchMessage()}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = AppendClassicBroadcast(buf[:0], EmitterUID, op, false)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkClassicBroadcast_Map is the same with a map[string]any argument
// (keys are sorted, which costs a slice).
func BenchmarkClassicBroadcast_Map(b *testing.B) {
	op := &Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name",
		Args: []any{map[string]any{"id": "message_id", "created_at": "2017-12-19 14:00:00", "body": "message_body"}}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendClassicBroadcast(buf[:0], EmitterUID, op, false)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkClusterMessage_JSON measures a sharded-adapter broadcast (JSON).
func BenchmarkClusterMessage_JSON(b *testing.B) {
	op := &Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{benchMessage()}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendClusterMessage(buf[:0], EmitterUID, op)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkClassicBroadcast_Binary64KiB measures a broadcast carrying 64 KiB
// of binary.
func BenchmarkClassicBroadcast_Binary64KiB(b *testing.B) {
	op := &Op{Nsp: "/", Event: "file", Args: []any{make([]byte, 64<<10)}}
	buf := make([]byte, 0, 70<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendClassicBroadcast(buf[:0], EmitterUID, op, false)
	}
	b.SetBytes(int64(len(buf)))
}

func TestEncodingDoesNotAllocate(t *testing.T) {
	op := &Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{benchMessage(), "text", 42, 1.5, true, nil, []byte{1}}}
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = AppendClassicBroadcast(buf[:0], EmitterUID, op, false)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per classic broadcast encoding, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		buf, _ = AppendClusterMessage(buf[:0], EmitterUID, &Op{Nsp: "/", Event: "e", Args: op.Args[:6]})
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per JSON cluster message, want 0", allocs)
	}
}
