package bench

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/protocol"
)

type author struct {
	Name string `json:"name"`
}

type message struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Body      string    `json:"body"`
	Author    author    `json:"author"`
	Tags      []string  `json:"tags"`
}

// BenchmarkEncode_ClassicBroadcast_vsNode encodes the same classic
// broadcast with our encoder and with notepack.io in Node (what
// @socket.io/redis-emitter does per emit), in the same run.
func BenchmarkEncode_ClassicBroadcast_vsNode(b *testing.B) {
	n := envInt("BENCH_ENCODE_N", 1000000)
	msg := &message{ID: "message_id", CreatedAt: time.Date(2017, 12, 19, 14, 0, 0, 0, time.UTC), Body: "message_body",
		Author: author{Name: "ann"}, Tags: []string{"a", "b"}}
	buf := make([]byte, 0, 512)
	encode := func() {
		op := protocol.Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{msg}}
		var err error
		if buf, err = protocol.AppendClassicBroadcast(buf[:0], protocol.EmitterUID, &op, false); err != nil {
			b.Fatal(err)
		}
	}
	for range 100000 { // the same warm-up as the Node side gets for its JIT
		encode()
	}
	for b.Loop() {
		start := time.Now()
		for range n {
			encode()
		}
		goNs := float64(time.Since(start).Nanoseconds()) / float64(n)
		out := testenv.RunNode(b, "bench-encode.js", "--n", strconv.Itoa(n))
		var node struct {
			NsPerOp float64 `json:"ns_per_op"`
			Bytes   int     `json:"bytes"`
		}
		if err := json.Unmarshal(out, &node); err != nil {
			b.Fatalf("bench-encode.js: %q: %v", out, err)
		}
		if node.Bytes != len(buf) {
			b.Fatalf("Node encoded %d bytes, we %d: not the same message", node.Bytes, len(buf))
		}
		b.ReportMetric(goNs, "go-ns/encode")
		b.ReportMetric(node.NsPerOp, "node-ns/encode")
		b.ReportMetric(node.NsPerOp/goNs, "node/go")
		b.Logf("| %d B | %.0f ns | %.0f ns | %.2f× |", len(buf), goNs, node.NsPerOp, node.NsPerOp/goNs)
	}
}
