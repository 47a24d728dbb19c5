package workpool

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
)

// goid returns the id of the calling goroutine, from its stack trace's first line ("goroutine N [running]:").
// taskFunc is a function as a Task.
type taskFunc func()

func (f taskFunc) Run() { f() }

func goid() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	for i := len("goroutine "); i < len(buf); i++ {
		if buf[i] == ' ' {
			return string(buf[len("goroutine "):i])
		}
	}
	return ""
}

func TestReusesIdleGoroutine(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	var wg sync.WaitGroup
	p := New(&wg, time.Minute)
	ids := make(chan string, 1)
	p.Go(taskFunc(func() { ids <- goid() }))
	first := <-ids
	// The first task has returned; wait until its goroutine waits for work again.
	deadline := time.Now().Add(5 * time.Second)
	var second string
	for time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		p.Go(taskFunc(func() { ids <- goid() }))
		if second = <-ids; second == first {
			break
		}
	}
	if second != first {
		t.Errorf("second task ran on goroutine %s, not on the idle one (%s)", second, first)
	}
	p.Close()
	wg.Wait()
}

func TestBlockedTaskDoesNotBlockOthers(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	var wg sync.WaitGroup
	p := New(&wg, time.Minute)
	release := make(chan struct{})
	p.Go(taskFunc(func() { <-release }))
	done := make(chan struct{})
	p.Go(taskFunc(func() { close(done) }))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a task waited for a blocked one")
	}
	close(release)
	p.Close()
	wg.Wait()
}

func TestIdleGoroutinesExit(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	var wg sync.WaitGroup
	p := New(&wg, 20*time.Millisecond)
	var ran atomic.Int32
	for range 8 {
		p.Go(taskFunc(func() { ran.Add(1) }))
	}
	exited := make(chan struct{})
	go func() {
		wg.Wait() // without Close: only the idle timeout ends the goroutines
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("idle goroutines still running 5 s after their last task (idle 20 ms)")
	}
	if ran.Load() != 8 {
		t.Errorf("%d tasks ran, want 8", ran.Load())
	}
	p.Close()
}

func TestCloseEndsIdleGoroutines(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	var wg sync.WaitGroup
	p := New(&wg, time.Hour)
	for range 4 {
		p.Go(taskFunc(func() {}))
	}
	p.Close()
	p.Close() // twice is fine
	exited := make(chan struct{})
	go func() {
		wg.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("idle goroutines still running 5 s after Close")
	}
	// Go after Close still runs the task, on a goroutine that then exits.
	ran := make(chan struct{})
	p.Go(taskFunc(func() { close(ran) }))
	<-ran
	wg.Wait()
}

// TestBusyGoroutineStays: a goroutine that gets a task more often than the idle time stays, the same one, while
// one that gets none exits; a task goes to the goroutine that finished last.
func TestBusyGoroutineStays(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	var wg sync.WaitGroup
	p := New(&wg, 50*time.Millisecond)
	ids := make(chan string, 1)
	release := make(chan struct{})
	p.Go(taskFunc(func() { <-release }))     // a second goroutine, busy until released
	p.Go(taskFunc(func() { ids <- goid() })) // the first one to finish
	first := <-ids
	time.Sleep(10 * time.Millisecond) // waiting again
	close(release)                    // now the other finishes, last
	time.Sleep(10 * time.Millisecond)
	var last string
	p.Go(taskFunc(func() { ids <- goid() }))
	last = <-ids
	if last == first {
		t.Errorf("task ran on goroutine %s, which finished first, not on the one that finished last", first)
	}
	// Keep one goroutine busy for 6 idle times; the other must exit meanwhile.
	for range 30 {
		time.Sleep(10 * time.Millisecond)
		p.Go(taskFunc(func() { ids <- goid() }))
		if id := <-ids; id != last {
			t.Fatalf("a task ran on goroutine %s, not on the busy one (%s)", id, last)
		}
	}
	p.mu.Lock()
	n := len(p.waiting)
	p.mu.Unlock()
	if n != 1 {
		t.Errorf("%d goroutines waiting, want 1 (the busy one; the other idle for 300 ms)", n)
	}
	p.Close()
	wg.Wait()
}

// TestQueuesPastLimit: past the limit, tasks wait and run in order on the goroutine that finishes, not on new
// ones.
func TestQueuesPastLimit(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	var wg sync.WaitGroup
	p := New(&wg, time.Minute)
	p.limit, p.stall = 1, time.Hour
	release := make(chan struct{})
	first := make(chan string, 1)
	p.Go(taskFunc(func() { first <- goid(); <-release }))
	blocked := <-first
	ran := make(chan string, 3)
	for i := range 3 {
		p.Go(taskFunc(func() { ran <- strconv.Itoa(i) + " " + goid() }))
	}
	select {
	case r := <-ran:
		t.Fatalf("task %s ran past the limit of 1 while the first task ran", r)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	for i := range 3 {
		if got, want := <-ran, strconv.Itoa(i)+" "+blocked; got != want {
			t.Errorf("task (number goroutine) %q, want %q", got, want)
		}
	}
	p.Close()
	wg.Wait()
}

// TestBlockedTasksDoNotSerialize: when the running tasks block and none ends, the waiting ones all start, so
// that however many block, all of them run at once soon, not the limit's worth per stall time (1000 tasks,
// limit 2, stall 5 ms: that would take 2.5 s).
func TestBlockedTasksDoNotSerialize(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	var wg sync.WaitGroup
	p := New(&wg, time.Minute)
	p.limit, p.stall = 2, 5*time.Millisecond
	const n = 1000
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		p.Go(taskFunc(func() { started.Done(); <-release }))
	}
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(time.Second):
		t.Fatalf("%d tasks that block, limit 2, stall 5 ms: not all of them started within 1 s", n)
	}
	close(release)
	p.Close()
	wg.Wait()
}

// TestCloseStartsWaitingTasks: Close starts the tasks that wait, even while the running ones block.
func TestCloseStartsWaitingTasks(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	var wg sync.WaitGroup
	p := New(&wg, time.Minute)
	p.limit, p.stall = 1, time.Hour
	release := make(chan struct{})
	p.Go(taskFunc(func() { <-release }))
	ran := make(chan struct{})
	p.Go(taskFunc(func() { close(ran) }))
	p.Close()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting task did not run after Close")
	}
	close(release)
	wg.Wait()
}

// TestOneBlockedTaskIsReplaced: while other tasks end (here: as the check is told), a task that has run for
// the stall time stops counting against the limit, and a waiting task starts in its place.
func TestOneBlockedTaskIsReplaced(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	var wg sync.WaitGroup
	p := New(&wg, time.Minute)
	p.limit, p.stall = 1, time.Hour // the pool's own check does not come during the test
	release := make(chan struct{})
	p.Go(taskFunc(func() { <-release }))
	ran := make(chan struct{})
	p.Go(taskFunc(func() { close(ran) }))
	time.Sleep(20 * time.Millisecond)
	p.mu.Lock()
	p.stall = 10 * time.Millisecond // the first task has now run for longer
	p.seen = p.finished + 1         // as if tasks had ended since the last check
	p.mu.Unlock()
	p.unstall()
	p.mu.Lock()
	waiting, stuck := p.queue.Len(), p.stuck
	p.mu.Unlock()
	if waiting != 0 || stuck != 1 {
		t.Fatalf("after the check: %d tasks waiting, %d counted as blocked; want 0 and 1", waiting, stuck)
	}
	<-ran
	close(release)
	p.Close()
	wg.Wait()
}
