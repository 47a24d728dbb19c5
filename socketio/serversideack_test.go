package socketio

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
)

func newServerForTest(t *testing.T, cluster Cluster) *Server {
	t.Helper()
	srv, err := NewServer(Config{Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

func TestServerSideEmitWithAckInMemory(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	srv := newServerForTest(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	answers, err := srv.ServerSideEmitWithAck(ctx, "ping", 1)
	if err != nil || len(answers) != 0 {
		t.Errorf("alone: %v, %v", answers, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("alone: took %v, want at once", d)
	}
	if _, err := srv.ServerSideEmitWithAck(ctx, "connection"); !errors.Is(err, ErrReservedEvent) {
		t.Errorf("reserved event: %v", err)
	}
	if _, err := srv.Of("/x").ServerSideEmitWithAck(ctx, ""); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("empty event: %v", err)
	}
}

// TestHandleServerSideEmitWithAck: every handler of the event (plain ones, ack ones, the parent namespace's) runs
// in order with the same ack; the first successful call answers and later ones return ErrAckTwice; an answer that
// cannot be sent may be given again; without an acknowledgement wanted, ack is nil.
func TestHandleServerSideEmitWithAck(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	srv := newServerForTest(t, nil)
	parent := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	ns := srv.namespace(context.Background(), "/dyn-1", nil)
	if ns == nil {
		t.Fatal("no dynamic namespace")
	}
	var order []string
	var errs []error
	ns.OnServerSideEmit(func(ctx context.Context, event string, args Args) { order = append(order, "plain") })
	ns.OnServerSideEmitWithAck(func(ctx context.Context, event string, args Args, ack AckFunc) {
		order = append(order, fmt.Sprintf("first(ack=%t)", ack != nil))
		if ack == nil {
			return
		}
		var s string
		if err := args.Decode(0, &s); err != nil {
			t.Error(err)
		}
		errs = append(errs, ack(make(chan int)))        // cannot be encoded: nothing sent
		errs = append(errs, ack(strings.ToUpper(s), 2)) // sent
	})
	parent.OnServerSideEmitWithAck(func(ctx context.Context, event string, args Args, ack AckFunc) {
		order = append(order, fmt.Sprintf("parent(ack=%t)", ack != nil))
		if ack != nil {
			errs = append(errs, ack("late"))
		}
	})
	args, err := argsOf("hi")
	if err != nil {
		t.Fatal(err)
	}
	var sent [][]any
	ns.runServerSideHandlers(context.Background(), "ev", args, func(vals ...any) error {
		if _, err := argsOf(vals...); err != nil {
			return err
		}
		sent = append(sent, vals)
		return nil
	})
	if got := strings.Join(order, " "); got != "plain first(ack=true) parent(ack=true)" {
		t.Errorf("handlers ran as %q", got)
	}
	if len(sent) != 1 || fmt.Sprint(sent[0]) != "[HI 2]" {
		t.Errorf("sent %v, want one answer [HI 2]", sent)
	}
	if len(errs) != 3 || !errors.Is(errs[0], ErrUnsupportedValue) || errs[1] != nil || !errors.Is(errs[2], ErrAckTwice) {
		t.Errorf("ack errors %v, want [unsupported value, nil, ErrAckTwice]", errs)
	}
	order = order[:0]
	ns.runServerSideHandlers(context.Background(), "ev", args, nil)
	if got := strings.Join(order, " "); got != "plain first(ack=false) parent(ack=false)" {
		t.Errorf("without acknowledgement, handlers ran as %q", got)
	}
}

// TestServerSideEmitWithAckAcrossServers: three servers of one in-process cluster; the sender gets one answer per other
// server, its ctx bounds the wait (ErrAckTimeout with the answers so far), and an ack given after the handler
// returned, from another goroutine, counts.
func TestServerSideEmitWithAckAcrossServers(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	var mu sync.Mutex
	var roots []*Namespace
	hub := &memHub{}
	var late sync.WaitGroup
	defer late.Wait()
	for i := range 3 {
		srv := newServerForTest(t, hub.node())
		root := srv.Of("/")
		name := fmt.Sprintf("s%d", i)
		root.OnServerSideEmitWithAck(func(ctx context.Context, event string, args Args, ack AckFunc) {
			switch {
			case event == "who":
				_ = ack(map[string]string{"from": name})
			case event == "slow" && name == "s1":
				late.Add(1)
				go func() {
					defer late.Done()
					time.Sleep(20 * time.Millisecond)
					_ = ack(name)
				}()
			}
		})
		mu.Lock()
		roots = append(roots, root)
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answers, err := roots[0].Server().ServerSideEmitWithAck(ctx, "who")
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	for _, a := range answers {
		var v struct{ From string }
		if err := a.Decode(0, &v); err != nil {
			t.Fatal(err)
		}
		from = append(from, v.From)
	}
	if got := strings.Join(slices.Sorted(slices.Values(from)), ","); got != "s1,s2" {
		t.Errorf("answers from %q, want s1,s2", got)
	}

	// s1 answers late, s2 never: the wait ends with ctx.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	answers, err = roots[0].ServerSideEmitWithAck(short, "slow")
	if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want ErrAckTimeout and DeadlineExceeded", err)
	}
	if len(answers) != 1 || string(answers[0].Raw(0)) != `"s1"` {
		t.Errorf("answers before the timeout: %v", answers)
	}
}
