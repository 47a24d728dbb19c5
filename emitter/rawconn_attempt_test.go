package emitter_test

import (
	"bufio"
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/protocol"
)

// This file measures an attempt (issue 13) that the emitter does not use: publishing on a connection of its own,
// written continuously while its replies are read, as node-redis does, instead of go-redis pipelines, which
// write a batch and wait for all its replies. A writer goroutine sends whatever the callers have queued (after
// one yield, so that the callers woken together queue together) and a reader goroutine reads the replies in
// order and wakes their callers. It encodes each emit as the emitter does; it has none of the rest (AUTH, TLS,
// reconnection, timeouts, the client's hooks), so it is an upper bound for that design. docs/benchmarks.md has
// what it measured against BenchmarkEmit_Parallel16/64 in the same run.

// rawPublish is one PUBLISH in flight on a rawConn.
type rawPublish struct {
	channel string
	payload []byte
	err     error
	done    chan struct{}
}

type rawConn struct {
	nc     net.Conn
	signal chan struct{} // capacity 1: the queue is not empty
	wg     sync.WaitGroup

	mu    sync.Mutex
	queue []*rawPublish // not yet written

	pmu     sync.Mutex
	pending []*rawPublish // written, waiting for their replies, in order

	writes, cmds atomic.Int64
}

func startRawConn(tb testing.TB, addr string) *rawConn {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	r := &rawConn{nc: nc, signal: make(chan struct{}, 1)}
	r.wg.Add(2)
	go r.write()
	go r.read()
	tb.Cleanup(func() {
		close(r.signal)
		_ = nc.Close()
		r.wg.Wait()
	})
	return r
}

func (r *rawConn) write() {
	defer r.wg.Done()
	var buf []byte
	var batch []*rawPublish
	for range r.signal {
		runtime.Gosched()
		r.mu.Lock()
		batch, r.queue = r.queue, batch[:0]
		r.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		buf = buf[:0]
		for _, q := range batch {
			buf = append(buf, "*3\r\n$7\r\npublish\r\n$"...)
			buf = strconv.AppendInt(buf, int64(len(q.channel)), 10)
			buf = append(append(append(buf, "\r\n"...), q.channel...), "\r\n$"...)
			buf = strconv.AppendInt(buf, int64(len(q.payload)), 10)
			buf = append(append(append(buf, "\r\n"...), q.payload...), "\r\n"...)
		}
		r.pmu.Lock()
		r.pending = append(r.pending, batch...)
		r.pmu.Unlock()
		r.writes.Add(1)
		r.cmds.Add(int64(len(batch)))
		if _, err := r.nc.Write(buf); err != nil {
			return
		}
		clear(batch)
	}
}

func (r *rawConn) read() {
	defer r.wg.Done()
	br := bufio.NewReaderSize(r.nc, 16<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		r.pmu.Lock()
		q := r.pending[0]
		r.pending = r.pending[1:]
		r.pmu.Unlock()
		if line[0] != ':' {
			q.err = errors.New(string(line))
		}
		q.done <- struct{}{}
	}
}

func (r *rawConn) publish(q *rawPublish) error {
	r.mu.Lock()
	r.queue = append(r.queue, q)
	first := len(r.queue) == 1
	r.mu.Unlock()
	if first {
		select {
		case r.signal <- struct{}{}:
		default:
		}
	}
	<-q.done
	return q.err
}

func benchmarkRawConn(b *testing.B, c int) {
	srv := testenv.StartRedis(b)
	rdb := srv.Client(b)
	r := startRawConn(b, srv.Addr())
	var next atomic.Int64
	n := int64(b.N)
	b.ResetTimer()
	cpu := startCPU(b, rdb)
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			q := &rawPublish{channel: "socket.io#/#room_777#", done: make(chan struct{}, 1)}
			var buf []byte
			for next.Add(1) <= n {
				op := &protocol.Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{benchArg}}
				buf, _ = protocol.AppendClassicBroadcast(buf[:0], protocol.EmitterUID, op, false)
				q.payload = buf
				if err := r.publish(q); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	cpu.report(b)
	b.ReportMetric(float64(r.cmds.Load())/float64(r.writes.Load()), "cmds/write")
}

// BenchmarkAttemptRawConn16 is the attempt above with 16 emits in flight (compare BenchmarkEmit_Parallel16).
func BenchmarkAttemptRawConn16(b *testing.B) { benchmarkRawConn(b, 16) }

// BenchmarkAttemptRawConn64 is the attempt above with 64 emits in flight (compare BenchmarkEmit_Parallel64).
func BenchmarkAttemptRawConn64(b *testing.B) { benchmarkRawConn(b, 64) }
