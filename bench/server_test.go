package bench

// Server benchmarks: the Socket.IO server of package socketio (internal/benchserver, a process of its own)
// against a plain Node socket.io 4.8 server (testpeers/bench-server.js) and the other Go server,
// github.com/zishang520/socket.io v3 (bench/zishang, a module of its own), measured by the same Go load client
// (internal/loadclient, WebSocket only) in the same run, on loopback. Run them with
//
//	go test -run '^$' -bench Server -benchtime 1x -timeout 60m ./bench/
//
// Sizes: BENCH_IDLE_CONNS (default 10000), BENCH_FANOUT_CONNS (10000), BENCH_FANOUT_MSGS (20),
// BENCH_FANOUT_PAYLOAD (bytes per message, 100), BENCH_ECHO_CONNS (1000), BENCH_ECHO_ROUNDS (20 per connection).
// BENCH_HEAP_PROFILE=FILE makes the Go server write a heap profile with its idle connections open. BENCH_SERVERS
// (e.g. "go" or "go,zishang") runs only some of the servers; with BENCH_GO_BASE=BINARY (a benchserver built from
// another commit), BENCH_SERVERS may name "go-base" too, for a before/after comparison in the same run.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/loadclient"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// dialParallel bounds the handshakes in flight, for every server.
const dialParallel = 64

// raiseNoFile raises the soft limit of open files to the hard limit; the server processes inherit it.
func raiseNoFile(b *testing.B, need int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if want := uint64(need) + 4096; lim.Max < want {
		// Raising the hard limit needs privileges (CAP_SYS_RESOURCE); without them the check below explains.
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatal(err)
		}
	}
	if lim.Cur < uint64(need)+256 {
		b.Fatalf("open files limit %d is below the %d connections asked for (raise the hard limit: ulimit -Hn)", lim.Cur, need)
	}
}

// syncBuffer keeps the end of a process's standard error.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len() > 64<<10 {
		s.buf.Reset()
	}
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// serverProc is one server under test, a child process.
type serverProc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer
	pid    int
	url    string
	done   chan struct{}
}

// goServerBinary builds internal/benchserver once per test process.
func goServerBinary(b *testing.B) string {
	return testenv.BuildBinary(b, ".", "./internal/testtools/benchserver")
}

// zishangBinary builds bench/zishang, the main package of a nested module (its own go.mod and dependencies),
// once per test process.
func zishangBinary(b *testing.B) string { return testenv.BuildBinary(b, "bench/zishang", ".") }

func startServer(b *testing.B, name string, env ...string) *serverProc {
	b.Helper()
	var cmd *exec.Cmd
	switch name {
	case "go":
		cmd = exec.Command(goServerBinary(b))
	case "zishang":
		cmd = exec.Command(zishangBinary(b))
	case "go-base":
		cmd = exec.Command(os.Getenv("BENCH_GO_BASE"))
	case "node":
		node, err := exec.LookPath("node")
		if err != nil {
			b.Fatal("node not found in PATH")
		}
		cmd = exec.Command(node, "--expose-gc", "bench-server.js")
		cmd.Dir = testenv.NodePeersDir(b)
	}
	cmd.Env = append(os.Environ(), env...)
	s := &serverProc{name: name, cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	cmd.WaitDelay = 5 * time.Second
	var err error
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.stop)
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() {
			ready <- fmt.Errorf("%s server printed nothing: %v", name, sc.Err())
			return
		}
		var r struct {
			Port int `json:"port"`
			PID  int `json:"pid"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Port == 0 {
			ready <- fmt.Errorf("%s server: ready line %q: %v", name, sc.Bytes(), err)
			return
		}
		s.url, s.pid = "http://127.0.0.1:"+strconv.Itoa(r.Port), r.PID
		ready <- nil
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case err := <-ready:
		if err != nil {
			b.Fatalf("%v\nstderr:\n%s", err, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		b.Fatalf("%s server not ready after 30 s\nstderr:\n%s", name, s.stderr.String())
	}
	return s
}

// stop closes the server's stdin, which makes it exit; it is killed after 15 s.
func (s *serverProc) stop() {
	_ = s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *serverProc) alive(b *testing.B) {
	b.Helper()
	select {
	case <-s.done:
		b.Fatalf("%s server exited\nstderr:\n%s", s.name, s.stderr.String())
	default:
	}
}

// rssKiB reads the resident set size of the server process.
func (s *serverProc) rssKiB(b *testing.B) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS %q: %v", rest, err)
			}
			return v
		}
	}
	b.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// cpu returns the CPU time (user + system) the server process has used so far.
func (s *serverProc) cpu(b *testing.B) time.Duration { return procCPU(b, s.pid) }

// procCPU returns the CPU time (user and system) a process has used so far.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses: utime and stime are fields 14 and 15.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, data)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every Linux architecture Go supports.
const clockTicks = 100

// selfCPU returns the CPU time of this process (the load client).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gc asks the server to collect its garbage, then lets it settle.
func gc(b *testing.B, ctl *loadclient.Pool) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := ctl.Conn(0).Call(ctx, "gc"); err != nil {
		b.Fatal(err)
	}
	time.Sleep(time.Second)
}

func dial(b *testing.B, s *serverProc, n int) (*loadclient.Pool, time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	p, err := loadclient.Dial(ctx, s.url, n, dialParallel)
	if err != nil {
		s.alive(b)
		b.Fatalf("%s server: %v", s.name, err)
	}
	return p, time.Since(start)
}

// servers are the servers compared, in this order: BENCH_SERVERS (a comma-separated subset, e.g. "go" for a
// profile of the Go server alone) or all of them.
var servers = serverList(os.Getenv("BENCH_SERVERS"), []string{"go", "node", "zishang", "go-base"})

// reportRatio reports the Go server's figure over each other server's measured in the same run (unit prefix,
// e.g. "go/node" or "CPU-go/zishang").
func reportRatio(b *testing.B, figures map[string]float64, prefix string) {
	g, ok := figures["go"]
	if !ok {
		return
	}
	for name, v := range figures {
		if name != "go" && v != 0 {
			b.ReportMetric(g/v, prefix+"go/"+name)
		}
	}
}

func serverList(env string, all []string) []string {
	if env == "" {
		return all[:3]
	}
	var out []string
	for name := range strings.SplitSeq(env, ",") {
		if name = strings.TrimSpace(name); slices.Contains(all, name) {
			out = append(out, name)
		}
	}
	return out
}

// BenchmarkServer_IdleMemory measures the resident memory of each server process per idle WebSocket connection
// joined to the main namespace: (RSS with the connections − RSS before them) / connections, after each server's
// garbage collection (runtime.GC + FreeOSMemory in Go, global.gc() in Node) and a one-second pause.
func BenchmarkServer_IdleMemory(b *testing.B) {
	n := envInt("BENCH_IDLE_CONNS", 10000)
	raiseNoFile(b, n)
	for b.Loop() {
		perConn := map[string]float64{}
		for _, name := range servers {
			s := startServer(b, name)
			ctl, _ := dial(b, s, 1)
			gc(b, ctl)
			before := s.rssKiB(b)
			p, took := dial(b, s, n)
			time.Sleep(2 * time.Second)
			settled := s.rssKiB(b)
			gc(b, ctl)
			after := s.rssKiB(b)
			s.alive(b)
			if name == "go" {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				stats, err := ctl.Conn(0).Call(ctx, "stats")
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("go runtime: %s", stats)
				if path := os.Getenv("BENCH_HEAP_PROFILE"); path != "" {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					res, err := ctl.Conn(0).Call(ctx, "heap-profile", json.RawMessage(strconv.Quote(path)))
					cancel()
					b.Logf("heap profile written to %s: %s %v", path, res, err)
				}
			}
			perConn[name] = float64(after-before) / float64(n)
			b.Logf("%s: %d connections dialed in %v (%.0f/s); RSS %d KiB before, %d KiB with them (%d KiB after GC): %.1f KiB/conn (%.1f before GC)",
				name, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), before, settled, after,
				perConn[name], float64(settled-before)/float64(n))
			p.Close()
			ctl.Close()
			s.stop()
		}
		for _, name := range servers {
			b.ReportMetric(perConn[name], name+"-KiB/conn")
		}
		reportRatio(b, perConn, "")
	}
}

// BenchmarkServer_Broadcast measures the fan-out of io.emit: a control connection asks the server for M
// broadcasts of "msg" [i, "x"×size] to every socket, and the clock runs until the N measured connections have
// received all N×M packets. The load client runs on the same machine, so it competes with the server for CPU.
func BenchmarkServer_Broadcast(b *testing.B) {
	n := envInt("BENCH_FANOUT_CONNS", 10000)
	m := envInt("BENCH_FANOUT_MSGS", 20)
	size := envInt("BENCH_FANOUT_PAYLOAD", 100)
	raiseNoFile(b, n)
	for b.Loop() {
		rate, cpuPer := map[string]float64{}, map[string]float64{}
		for _, name := range servers {
			s := startServer(b, name)
			p, _ := dial(b, s, n)
			ctl, _ := dial(b, s, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			// Warm-up: one broadcast, fully delivered.
			if _, err := ctl.Conn(0).Call(ctx, "broadcast", json.RawMessage("1"), json.RawMessage(strconv.Itoa(size))); err != nil {
				b.Fatal(err)
			}
			if err := p.WaitEvents(ctx, int64(n)); err != nil {
				s.alive(b)
				b.Fatal(err)
			}
			base := p.Events()
			cpu0, self0 := s.cpu(b), selfCPU()
			start := time.Now()
			if _, err := ctl.Conn(0).Call(ctx, "broadcast", json.RawMessage(strconv.Itoa(m)), json.RawMessage(strconv.Itoa(size))); err != nil {
				b.Fatal(err)
			}
			emitted := time.Since(start)
			if err := p.WaitEvents(ctx, base+int64(n*m)); err != nil {
				s.alive(b)
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			cpu, self := s.cpu(b)-cpu0, selfCPU()-self0
			cancel()
			s.alive(b)
			rate[name] = float64(n*m) / elapsed.Seconds()
			cpuPer[name] = float64(cpu.Nanoseconds()) / float64(n*m) / 1e3
			b.Logf("%s: %d broadcasts × %d connections = %d packets in %v (%.0f delivered/s; emit loop returned after %v); server CPU %v (%.2f µs/packet), load client CPU %v",
				name, m, n, n*m, elapsed.Round(time.Millisecond), rate[name], emitted.Round(time.Millisecond),
				cpu, cpuPer[name], self.Round(10*time.Millisecond))
			p.Close()
			ctl.Close()
			s.stop()
		}
		for _, name := range servers {
			b.ReportMetric(rate[name], name+"-delivered/s")
			b.ReportMetric(cpuPer[name], name+"-server-CPU-µs/packet")
		}
		reportRatio(b, rate, "")
	}
}

// BenchmarkServer_Echo measures the round trip of an event acknowledged by the server with its own arguments
// (a ~100-byte object), with N connections each doing R echoes one after the other, all at the same time.
func BenchmarkServer_Echo(b *testing.B) {
	n := envInt("BENCH_ECHO_CONNS", 1000)
	rounds := envInt("BENCH_ECHO_ROUNDS", 20)
	raiseNoFile(b, n)
	arg := json.RawMessage(`{"seq":1,"user":"bench","text":"` + strings.Repeat("x", 64) + `"}`)
	for b.Loop() {
		type result struct {
			p50, p99, max time.Duration
			cpuPerEcho    float64 // µs of server CPU
		}
		res := map[string]result{}
		for _, name := range servers {
			s := startServer(b, name)
			p, _ := dial(b, s, n)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			// Warm-up: one echo per connection.
			if _, err := echoAll(ctx, p, 1, arg); err != nil {
				b.Fatal(err)
			}
			cpu0, self0 := s.cpu(b), selfCPU()
			start := time.Now()
			rtts, err := echoAll(ctx, p, rounds, arg)
			if err != nil {
				s.alive(b)
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			cpu, self := s.cpu(b)-cpu0, selfCPU()-self0
			cancel()
			slices.Sort(rtts)
			r := result{rtts[len(rtts)/2], rtts[len(rtts)*99/100], rtts[len(rtts)-1],
				float64(cpu.Nanoseconds()) / float64(len(rtts)) / 1e3}
			res[name] = r
			b.Logf("%s: %d echoes on %d connections in %v (%.0f/s): p50 %v, p99 %v, max %v; server CPU %v (%.1f µs/echo), load client CPU %v",
				name, len(rtts), n, elapsed.Round(time.Millisecond), float64(len(rtts))/elapsed.Seconds(), r.p50, r.p99, r.max,
				cpu, r.cpuPerEcho, self.Round(10*time.Millisecond))
			p.Close()
			s.stop()
		}
		cpuPer := map[string]float64{}
		for _, name := range servers {
			b.ReportMetric(float64(res[name].p50.Microseconds()), name+"-p50-µs")
			b.ReportMetric(float64(res[name].p99.Microseconds()), name+"-p99-µs")
			b.ReportMetric(res[name].cpuPerEcho, name+"-server-CPU-µs/echo")
			cpuPer[name] = res[name].cpuPerEcho
		}
		reportRatio(b, cpuPer, "CPU-")
	}
}

// echoAll runs rounds echoes on every connection of p at once, each connection waiting for one acknowledgement
// before sending the next, and returns every round-trip time.
func echoAll(ctx context.Context, p *loadclient.Pool, rounds int, arg json.RawMessage) ([]time.Duration, error) {
	all := make([][]time.Duration, p.Len())
	errs := make([]error, p.Len())
	var wg sync.WaitGroup
	for i := range p.Len() {
		wg.Go(func() {
			c := p.Conn(i)
			for range rounds {
				t := time.Now()
				if _, err := c.Call(ctx, "echo", arg); err != nil {
					errs[i] = err
					return
				}
				all[i] = append(all[i], time.Since(t))
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return slices.Concat(all...), nil
}

// BenchmarkServer_Scale opens BENCH_SCALE_CONNS idle WebSocket connections (opt-in: skipped unless set, e.g.
// 100000) to each server, from BENCH_SCALE_ADDRS loopback source addresses (127.0.0.2, 127.0.0.3, ...; default
// one per 25 000 connections, as one address's ephemeral ports reach ~28 000), and reports: the dial rate, the
// RSS per connection after GC, the server's CPU per second while the connections idle for
// BENCH_SCALE_IDLE_SECONDS (default 30: at least one ping of the default 25 s interval each), and the fan-out of
// BENCH_SCALE_MSGS broadcasts (default 5) of "msg" [i, "x"×100] to every connection. A server that cannot take
// them all (the dial fails) is reported as far as it got and the next one runs. It raises the open-files limit,
// the hard one too where it may (root).
//
//	BENCH_SCALE_CONNS=100000 go test -run '^$' -bench Server_Scale -benchtime 1x -timeout 120m ./bench/
func BenchmarkServer_Scale(b *testing.B) {
	n := envInt("BENCH_SCALE_CONNS", 0)
	if n == 0 {
		b.Skip("set BENCH_SCALE_CONNS (e.g. 100000) to run")
	}
	naddrs := envInt("BENCH_SCALE_ADDRS", n/25000+1)
	idle := time.Duration(envInt("BENCH_SCALE_IDLE_SECONDS", 30)) * time.Second
	m := envInt("BENCH_SCALE_MSGS", 5)
	raiseNoFile(b, n+1024)
	var addrs []net.IP
	for i := range naddrs {
		addrs = append(addrs, net.IPv4(127, 0, byte((2+i)>>8), byte((2+i)&0xff)))
	}
	for b.Loop() {
		for _, name := range servers {
			s := startServer(b, name)
			ctl, _ := dial(b, s, 1)
			gc(b, ctl)
			before := s.rssKiB(b)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			start := time.Now()
			p, err := loadclient.DialWith(ctx, s.url, n, dialParallel, loadclient.Options{LocalAddrs: addrs})
			took := time.Since(start)
			if err != nil {
				b.Logf("%s: %d connections not reached after %v: %v (RSS %d KiB)", name, n, took.Round(time.Millisecond), err, s.rssKiB(b))
				cancel()
				ctl.Close()
				s.stop()
				continue
			}
			gc(b, ctl)
			after := s.rssKiB(b)
			perConn := float64(after-before) / float64(n)
			cpu0 := s.cpu(b)
			time.Sleep(idle)
			idleCPU := s.cpu(b) - cpu0
			s.alive(b)
			base := p.Events()
			cpu1 := s.cpu(b)
			fstart := time.Now()
			if _, err := ctl.Conn(0).Call(ctx, "broadcast", json.RawMessage(strconv.Itoa(m)), json.RawMessage("100")); err != nil {
				b.Fatal(err)
			}
			if err := p.WaitEvents(ctx, base+int64(n*m)); err != nil {
				s.alive(b)
				b.Fatal(err)
			}
			felapsed := time.Since(fstart)
			fcpu := s.cpu(b) - cpu1
			cancel()
			rate := float64(n*m) / felapsed.Seconds()
			cpuPerSec := float64(idleCPU.Microseconds()) / 1e3 / idle.Seconds()
			b.Logf("%s: %d connections from %d addresses dialed in %v (%.0f/s); RSS %d KiB before, %d KiB after GC: %.2f KiB/conn; idle %v: server CPU %v (%.1f ms/s); fan-out %d × %d = %d packets in %v (%.0f delivered/s, %.2f µs server CPU/packet)",
				name, n, naddrs, took.Round(time.Millisecond), float64(n)/took.Seconds(), before, after, perConn,
				idle, idleCPU, cpuPerSec, m, n, n*m, felapsed.Round(time.Millisecond), rate,
				float64(fcpu.Nanoseconds())/float64(n*m)/1e3)
			b.ReportMetric(perConn, name+"-KiB/conn")
			b.ReportMetric(float64(n)/took.Seconds(), name+"-dials/s")
			b.ReportMetric(cpuPerSec, name+"-idle-CPU-ms/s")
			b.ReportMetric(rate, name+"-delivered/s")
			p.Close()
			ctl.Close()
			s.stop()
		}
	}
}
