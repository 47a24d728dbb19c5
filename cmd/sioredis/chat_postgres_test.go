package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

var (
	chatBinOnce sync.Once
	chatBin     string
	chatBinErr  error
)

// sioredisBinary builds this command once per test binary, for tests that need real processes (killed, or two
// of them on one file).
func sioredisBinary(t *testing.T) string {
	t.Helper()
	chatBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sioredis-bin-")
		if err != nil {
			chatBinErr = err
			return
		}
		chatBin = filepath.Join(dir, "sioredis")
		if out, err := exec.Command("go", "build", "-o", chatBin, ".").CombinedOutput(); err != nil {
			chatBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if chatBinErr != nil {
		t.Fatal(chatBinErr)
	}
	return chatBin
}

// chatProcess is a "sioredis chat" process of its own.
type chatProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *serveLog
	done   chan struct{}
}

var logURL = regexp.MustCompile(`url=(http://\S+)`)

// startChatProcess runs the built command with args and waits for the URL it serves; it is interrupted (or
// killed) at cleanup.
func startChatProcess(t *testing.T, args ...string) *chatProcess {
	t.Helper()
	p := &chatProcess{cmd: exec.Command(sioredisBinary(t), args...), stderr: &serveLog{}, done: make(chan struct{})}
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			_, _ = p.stderr.Write(append(sc.Bytes(), '\n'))
			if m := logURL.FindSubmatch(sc.Bytes()); m != nil {
				select {
				case found <- string(m[1]):
				default:
				}
			}
		}
	}()
	go func() { _ = p.cmd.Wait(); pw.Close(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.url = <-found:
	case <-p.done:
		t.Fatalf("sioredis %s exited:\n%s", args[0], p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("sioredis %s did not start:\n%s", args[0], p.stderr.String())
	}
	return p
}

func (p *chatProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// TestChatSQLiteSecondProcess: a second "sioredis chat" on the SQLite file of a running one exits with status 1
// and says why, instead of publishing every message a second time; so does one given the file by a symbolic or
// a hard link (SQLite would keep a second write-ahead log, and the file ends corrupt).
func TestChatSQLiteSecondProcess(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "chat.db")
	first := startChatProcess(t, "chat", "--addr", "127.0.0.1:0", "--db", db)
	symlink, hardlink := filepath.Join(dir, "symlink.db"), filepath.Join(dir, "hardlink.db")
	if err := os.Symlink(db, symlink); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(db, hardlink); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{db, symlink, hardlink} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, sioredisBinary(t), "chat", "--addr", "127.0.0.1:0", "--db", path).CombinedOutput()
		cancel()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		want := fmt.Sprintf("database in use by another process (pid %d)", first.cmd.Process.Pid)
		if code != 1 || !strings.Contains(string(out), want) {
			t.Errorf("second process on %s: exit %d (%v), output:\n%s\nwant exit status 1 and %q", filepath.Base(path), code, err, out, want)
		}
	}
}

// TestChatSIGTERMHandsOver runs two "sioredis chat" processes on one PostgreSQL database, with --claim-poll at
// a minute, and stops the one publishing the outbox with SIGTERM, as a deployment does: the other announces
// that it took the outbox over well under a second later (it learns the outbox is free from the leaving one,
// instead of waiting for --claim-poll), and the leaving one exits with status 0.
func TestChatSIGTERMHandsOver(t *testing.T) {
	pg := testenv.StartPostgres(t)
	var procs []*chatProcess
	for range 2 {
		procs = append(procs, startChatProcess(t, "chat", "--addr", "127.0.0.1:0", "--db", pg.URL(), "--claim-poll", "1m"))
	}
	const leaderLog = "this instance publishes the outbox"
	leader := -1
	testenv.WaitFor(t, func() bool {
		for i, p := range procs {
			if strings.Contains(p.stderr.String(), leaderLog) {
				leader = i
				return true
			}
		}
		return false
	})
	other := procs[1-leader]
	// The other listens to the database once it has seen a message published.
	res, err := http.Post(other.url+"/api/messages", "application/json", strings.NewReader(`{"room":"r","body":"ready?"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST to the other instance: %d", res.StatusCode)
	}
	start := time.Now()
	if err := procs[leader].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(other.stderr.String(), leaderLog) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("the other instance did not take the outbox over 20 s after SIGTERM; its log:\n%s", other.stderr.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("SIGTERM to the publisher: the other instance publishes %v later", took.Round(100*time.Microsecond))
	if took > 500*time.Millisecond {
		t.Errorf("hand-over took %v after SIGTERM, want well under a second", took)
	}
	if !strings.Contains(other.stderr.String(), "an instance leaves the cluster") {
		t.Errorf("the other instance did not hear that the publisher leaves; its log:\n%s", other.stderr.String())
	}
	select {
	case <-procs[leader].done:
	case <-time.After(15 * time.Second):
		t.Fatal("the publisher did not exit 15 s after SIGTERM")
	}
	if code := procs[leader].cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the publisher exited with status %d after SIGTERM:\n%s", code, procs[leader].stderr.String())
	}
}

// delivered is what a client received: message ids with their room and sequence number, in arrival order.
type delivered struct {
	mu   sync.Mutex
	msgs []deliveredMsg
}

type deliveredMsg struct {
	ID   string `json:"id"`
	Seq  int64  `json:"seq"`
	Room string `json:"room"`
}

func (d *delivered) add(m deliveredMsg) {
	d.mu.Lock()
	d.msgs = append(d.msgs, m)
	d.mu.Unlock()
}

func (d *delivered) snapshot() []deliveredMsg {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]deliveredMsg(nil), d.msgs...)
}

// relayBatch is the relay's batch: a publisher killed between publishing a batch and marking it leaves at most
// that many messages to be published again by the next one (the at-least-once window).
const relayBatch = 256

// TestChatPostgresCluster runs three "sioredis chat" processes on one PostgreSQL database and one Redis, with a
// Node Socket.IO server in the cluster. POSTs are spread over the three while the instance publishing the outbox
// is killed (SIGKILL) mid-burst. Every answered (2xx) message must reach the room's clients on the Node server
// and on a surviving chat's Go server, each room's messages in order of first arrival, with repeats counted and
// within the at-least-once window (one relay batch per killed publisher).
func TestChatPostgresCluster(t *testing.T) {
	rs := testenv.StartRedis(t)
	pg := testenv.StartPostgres(t)
	node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()}})
	var procs []*chatProcess
	for range 3 {
		procs = append(procs, startChatProcess(t, "chat", "--addr", "127.0.0.1:0", "--db", pg.URL(), "--redis", rs.URL(),
			"--claim-poll", "200ms"))
	}
	const leaderLog = "this instance publishes the outbox"
	leader := -1
	testenv.WaitFor(t, func() bool {
		for i, p := range procs {
			if strings.Contains(p.stderr.String(), leaderLog) {
				leader = i
				return true
			}
		}
		return false
	})
	for i, p := range procs {
		if i != leader && strings.Contains(p.stderr.String(), leaderLog) {
			t.Fatalf("two instances publish the outbox: %d and %d", leader, i)
		}
	}
	survivor := procs[(leader+1)%3]

	rooms := []string{"r1", "r2"}
	nodeClients := testenv.StartClients(t, 4, []testenv.ClientSpec{node.Client("node", "/", rooms...)})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	goSock, err := client.Dial(ctx, survivor.url+"/", client.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer goSock.Close()
	var goGot delivered
	client.Handle(goSock, "message", func(ctx context.Context, s *client.Socket, m deliveredMsg) { goGot.add(m) })
	for _, room := range rooms {
		if _, err := client.EmitWithAckAs[map[string]string](ctx, goSock, "join", room); err != nil {
			t.Fatal(err)
		}
	}

	const total, inFlight = 600, 12
	httpc := &http.Client{Timeout: 30 * time.Second}
	var next, answered atomic.Int64
	var dead atomic.Int32
	dead.Store(-1)
	var mu sync.Mutex
	accepted := map[string]deliveredMsg{}
	var refused int
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > total {
					return
				}
				target := int(n % 3)
				if int(dead.Load()) == target {
					target = (target + 1) % 3
				}
				room := rooms[n%2]
				body := fmt.Sprintf(`{"room":%q,"author":"t","body":"m%d"}`, room, n)
				res, err := httpc.Post(procs[target].url+"/api/messages", "application/json", strings.NewReader(body))
				if err != nil {
					mu.Lock()
					refused++ // the killed instance: not answered, so not accepted (it may be delivered all the same)
					mu.Unlock()
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusAccepted {
					t.Errorf("POST to instance %d: %d %s", target, res.StatusCode, b)
					continue
				}
				var r struct{ Message deliveredMsg }
				if err := json.Unmarshal(b, &r); err != nil {
					t.Error(err)
					continue
				}
				mu.Lock()
				accepted[r.Message.ID] = r.Message
				mu.Unlock()
				if answered.Add(1) == total/3 { // mid-burst: the publishing instance dies
					dead.Store(int32(leader))
					procs[leader].kill()
				}
			}
		})
	}
	wg.Wait()
	if dead.Load() < 0 {
		t.Fatal("the publisher was not killed")
	}
	t.Logf("%d POSTs: %d accepted, %d unanswered (sent to the killed instance)", total, len(accepted), refused)

	nodeGot := func() []deliveredMsg {
		var out []deliveredMsg
		for _, ev := range nodeClients.Events("node") {
			if ev.Name != "message" {
				continue
			}
			var m deliveredMsg
			if err := ev.DecodeArg(0, &m); err == nil {
				out = append(out, m)
			}
		}
		return out
	}
	check := func(name string, got []deliveredMsg) (missing int) {
		seen := map[string]bool{}
		for _, m := range got {
			seen[m.ID] = true
		}
		for id := range accepted {
			if !seen[id] {
				missing++
			}
		}
		return missing
	}
	deadline := time.Now().Add(90 * time.Second)
	for check("node", nodeGot()) > 0 || check("go", goGot.snapshot()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("accepted messages never delivered: %d to the Node server's client, %d to the Go server's; the survivors said:\n%s\n%s",
				check("node", nodeGot()), check("go", goGot.snapshot()), procs[(leader+1)%3].stderr.String(), procs[(leader+2)%3].stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // repeats still on their way
	takeovers := 0
	for i, p := range procs {
		if i != leader && strings.Contains(p.stderr.String(), leaderLog) {
			takeovers++
		}
	}
	if takeovers != 1 {
		t.Errorf("%d surviving instances took the outbox over, want 1", takeovers)
	}
	for name, got := range map[string][]deliveredMsg{"node": nodeGot(), "go": goGot.snapshot()} {
		seen := map[string]bool{}
		last := map[string]int64{}
		dups := 0
		for _, m := range got {
			if seen[m.ID] {
				dups++
				continue
			}
			seen[m.ID] = true
			if m.Seq <= last[m.Room] {
				t.Errorf("%s: room %s: message %d arrived after %d", name, m.Room, m.Seq, last[m.Room])
			}
			last[m.Room] = m.Seq
		}
		t.Logf("%s: %d deliveries of %d messages, %d repeated", name, len(got), len(seen), dups)
		if dups > relayBatch {
			t.Errorf("%s: %d messages delivered twice, more than the at-least-once window (%d, one relay batch)", name, dups, relayBatch)
		}
	}
}
