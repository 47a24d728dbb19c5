package emitter_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// recorder subscribes to every channel of a real Redis and hands over what
// is published, in order.
type recorder struct {
	sub  *redis.PubSub
	msgs <-chan *redis.Message
}

func record(t *testing.T, rdb *redis.Client, sharded ...string) *recorder {
	t.Helper()
	ctx := context.Background()
	var sub *redis.PubSub
	if len(sharded) > 0 {
		sub = rdb.SSubscribe(ctx, sharded...)
	} else {
		sub = rdb.PSubscribe(ctx, "*")
	}
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return &recorder{sub: sub, msgs: sub.Channel()}
}

func (r *recorder) next(t *testing.T) *redis.Message {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("nothing published")
		return nil
	}
}

// nothingBut asserts that the next message is the one on channel marker:
// everything published before it (by a call that must publish nothing)
// would come first.
func (r *recorder) nothingBefore(t *testing.T, rdb *redis.Client, marker string) {
	t.Helper()
	if err := rdb.Publish(context.Background(), marker, "x").Err(); err != nil {
		t.Fatal(err)
	}
	if m := r.next(t); m.Channel != marker {
		t.Fatalf("published on %q: %q", m.Channel, m.Payload)
	}
}

func TestBadInputPublishesNothing(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	rec := record(t, rdb)
	ctx := context.Background()
	e, err := emitter.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	type cyclic struct{ Self *cyclic }
	loop := &cyclic{}
	loop.Self = loop
	tests := []struct {
		name string
		call func() (emitter.Receipt, error)
		want error
	}{
		{"reserved event", func() (emitter.Receipt, error) { return e.Emit(ctx, "disconnect", 1) }, emitter.ErrReservedEvent},
		{"reserved event newListener", func() (emitter.Receipt, error) { return e.Emit(ctx, "newListener") }, emitter.ErrReservedEvent},
		{"empty event", func() (emitter.Receipt, error) { return e.Emit(ctx, "") }, emitter.ErrInvalidEvent},
		{"reserved server event", func() (emitter.Receipt, error) { return e.ServerSideEmit(ctx, "connection") }, emitter.ErrReservedEvent},
		{"empty namespace", func() (emitter.Receipt, error) { return e.Of("").Emit(ctx, "e") }, emitter.ErrInvalidNamespace},
		{"glob namespace", func() (emitter.Receipt, error) { return e.Of("/chat*").Emit(ctx, "e") }, emitter.ErrInvalidNamespace},
		{"glob namespace then rooms", func() (emitter.Receipt, error) { return e.Of("/a?").To("r").Volatile().Emit(ctx, "e") }, emitter.ErrInvalidNamespace},
		{"empty room", func() (emitter.Receipt, error) { return e.To("a", "").Emit(ctx, "e") }, emitter.ErrInvalidRoom},
		{"empty except", func() (emitter.Receipt, error) { return e.Except("").DisconnectSockets(ctx, true) }, emitter.ErrInvalidRoom},
		{"join nothing", func() (emitter.Receipt, error) { return e.SocketsJoin(ctx) }, emitter.ErrInvalidRoom},
		{"leave empty room", func() (emitter.Receipt, error) { return e.SocketsLeave(ctx, "") }, emitter.ErrInvalidRoom},
		{"channel argument", func() (emitter.Receipt, error) { return e.Emit(ctx, "e", make(chan int)) }, emitter.ErrUnsupportedValue},
		{"func argument", func() (emitter.Receipt, error) { return e.Emit(ctx, "e", 1, map[string]any{"f": func() {}}) }, emitter.ErrUnsupportedValue},
		{"complex argument", func() (emitter.Receipt, error) { return e.ServerSideEmit(ctx, "e", complex(1, 1)) }, emitter.ErrUnsupportedValue},
		{"NaN", func() (emitter.Receipt, error) { return e.Emit(ctx, "e", math.NaN()) }, emitter.ErrUnsupportedValue},
		{"cycle", func() (emitter.Receipt, error) { return e.Emit(ctx, "e", loop) }, emitter.ErrUnsupportedValue},
		{"too many attachments", func() (emitter.Receipt, error) {
			args := make([]any, 11)
			for i := range args {
				args[i] = []byte{1}
			}
			return e.Emit(ctx, "e", args...)
		}, emitter.ErrTooManyAttachments},
		{"too large", func() (emitter.Receipt, error) {
			return e.Emit(ctx, "e", strings.Repeat("x", emitter.DefaultMaxPayload))
		}, emitter.ErrTooLarge},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			rec.nothingBefore(t, rdb, fmt.Sprintf("marker-%d", i))
		})
	}
}

func TestLegacyRefusesCommands(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	rec := record(t, rdb)
	ctx := context.Background()
	e, err := emitter.New(rdb, emitter.WithMode(emitter.Legacy))
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() (emitter.Receipt, error){
		"join":       func() (emitter.Receipt, error) { return e.SocketsJoin(ctx, "r") },
		"leave":      func() (emitter.Receipt, error) { return e.SocketsLeave(ctx, "r") },
		"disconnect": func() (emitter.Receipt, error) { return e.DisconnectSockets(ctx, false) },
		"serverEmit": func() (emitter.Receipt, error) { return e.ServerSideEmit(ctx, "e") },
	} {
		if _, err := call(); !errors.Is(err, emitter.ErrUnsupported) {
			t.Errorf("%s: got %v, want ErrUnsupported", name, err)
		}
	}
	rec.nothingBefore(t, rdb, "marker")
}

func TestOperatorsNeverChangeTheirReceiver(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	rec := record(t, rdb)
	ctx := context.Background()
	root, err := emitter.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	a := root.To("a")
	ab := a.To("b")
	_ = a.Except("x").Volatile().Compress(true)
	_ = root.Of("/admin").To("z")
	if _, err := a.Emit(ctx, "e"); err != nil {
		t.Fatal(err)
	}
	if m := rec.next(t); m.Channel != "socket.io#/#a#" || !strings.Contains(m.Payload, "\xa5rooms\x91\xa1a\xa5flags\x80\xa6except\x90") {
		t.Fatalf("a was changed by its derivations: %q %q", m.Channel, m.Payload)
	}
	if _, err := ab.Emit(ctx, "e"); err != nil {
		t.Fatal(err)
	}
	if m := rec.next(t); m.Channel != "socket.io#/#" || !strings.Contains(m.Payload, "\xa5rooms\x92\xa1a\xa1b\xa5flags\x80\xa6except\x90") {
		t.Fatalf("ab: %q %q", m.Channel, m.Payload)
	}
	if _, err := root.Emit(ctx, "e"); err != nil {
		t.Fatal(err)
	}
	if m := rec.next(t); m.Channel != "socket.io#/#" || !strings.Contains(m.Payload, "\xa5rooms\x90\xa5flags\x80\xa6except\x90") {
		t.Fatalf("root was changed: %q %q", m.Channel, m.Payload)
	}
}

// TestConcurrentUse shares one emitter and its derivations between
// goroutines (run with -race) and checks that every emit arrives intact.
func TestConcurrentUse(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	rec := record(t, rdb)
	ctx := context.Background()
	root, err := emitter.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	shared := root.Of("/chat").To("lobby")
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				e := shared
				if i%2 == 0 {
					e = shared.To(fmt.Sprintf("w%d", w)).Volatile()
				}
				if _, err := e.Emit(ctx, "msg", map[string]int{"w": w, "i": i}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range workers * each {
		m := rec.next(t)
		seen[m.Channel]++
	}
	if seen["socket.io#/chat#lobby#"] != workers*(each/2) {
		t.Fatalf("per channel: %v", seen)
	}
}

func TestSurvivesRedisRestart(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	e, err := emitter.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Emit(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	shortCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = e.Emit(shortCtx, "while-down")
	cancel()
	if err == nil {
		t.Fatal("emit succeeded with Redis down")
	}
	if !strings.Contains(err.Error(), "socket.io#/#") {
		t.Errorf("the error does not say where it failed: %v", err)
	}
	srv.Restart()
	rec := record(t, rdb)
	if _, err := e.Emit(ctx, "after"); err != nil {
		t.Fatalf("emit after restart: %v", err)
	}
	if m := rec.next(t); !strings.Contains(m.Payload, "after") {
		t.Fatalf("got %q", m.Payload)
	}
}

func TestShardedAndStreamsCommands(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()

	sharded, err := emitter.New(rdb, emitter.WithMode(emitter.Sharded), emitter.WithSubscriptionMode(emitter.SubscriptionDynamic))
	if err != nil {
		t.Fatal(err)
	}
	rec := record(t, rdb, "socket.io#/#", "socket.io#/#room1#")
	if _, err := sharded.To("room1").Emit(ctx, "e", 1); err != nil {
		t.Fatal(err)
	}
	m := rec.next(t)
	want := `{"uid":"emitter","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["e",1],"nsp":"/"},"opts":{"rooms":["room1"],"except":[],"flags":{}}}}`
	if m.Channel != "socket.io#/#room1#" || m.Payload != want {
		t.Fatalf("got %q %s", m.Channel, m.Payload)
	}
	if _, err := sharded.To("room1").SocketsJoin(ctx, "room2"); err != nil {
		t.Fatal(err)
	}
	if m := rec.next(t); m.Channel != "socket.io#/#" || !strings.Contains(m.Payload, `"type":4`) {
		t.Fatalf("join: %q %s", m.Channel, m.Payload)
	}

	streams, err := emitter.New(rdb, emitter.WithMode(emitter.Streams), emitter.WithStreamCount(4))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := streams.Of("/admin").Emit(ctx, "bin", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	entries, err := rdb.XRange(ctx, "socket.io-0", "-", "+").Result()
	if err != nil || len(entries) != 1 {
		t.Fatalf("entries %v %v", entries, err)
	}
	v := entries[0].Values
	if v["uid"] != "emitter" || v["nsp"] != "/admin" || v["type"] != "3" || strings.HasPrefix(v["data"].(string), "{") {
		t.Fatalf("entry %v", v)
	}
	if _, err := streams.ServerSideEmit(ctx, "hello", "world"); err != nil {
		t.Fatal(err)
	}
	entries, err = rdb.XRange(ctx, "socket.io-3", "-", "+").Result()
	if err != nil || len(entries) != 1 || entries[0].Values["type"] != "9" || entries[0].Values["data"] != `{"packet":["hello","world"]}` {
		t.Fatalf("serverSideEmit entries %v %v", entries, err)
	}
}
