package monitor

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.CheckLeaks(m.Run())) }

// TestWatch: against a real Redis, what an emitter publishes after Ready comes back decoded, the filters apply,
// an error of the function ends Watch with that error, and an invalid Config is refused before subscribing.
func TestWatch(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	em, err := emitter.New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stop := errors.New("stop")
	ready := make(chan struct{})
	var got []*Event
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, rdb, Config{Mode: ModeClassic, Room: "r1", Ready: func() { close(ready) }}, func(e *Event) error {
			got = append(got, e)
			if len(got) == 2 {
				return stop
			}
			return nil
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Watch returned %v before Ready", err)
	}
	for _, room := range []string{"r2", "r1", "r2", "r1"} {
		if _, err := em.To(room).Emit(ctx, "ev", room); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; !errors.Is(err, stop) {
		t.Fatalf("Watch returned %v, want the function's error", err)
	}
	for _, e := range got {
		if e.Message == nil || e.Message.Event != "ev" || len(e.Message.Rooms) != 1 || e.Message.Rooms[0] != "r1" ||
			e.Source != SourcePubSub || e.Channel != "socket.io#/#r1#" {
			t.Errorf("got %+v (message %+v), want the broadcasts to r1 only", e, e.Message)
		}
	}

	for _, cfg := range []Config{{Mode: "everything"}, {Mode: ModeSharded}, {Prefix: "a*"}, {Namespace: "/a?"}, {StreamCount: -1}} {
		if err := Watch(ctx, rdb, cfg, func(*Event) error { return nil }); err == nil {
			t.Errorf("Watch(%+v) = nil, want an error", cfg)
		}
	}
	if _, err := (Config{Mode: ModeSharded}).Plan(); !errors.Is(err, ErrShardedDisturbs) {
		t.Errorf("sharded without AllowSharded: %v, want ErrShardedDisturbs", err)
	}
}
