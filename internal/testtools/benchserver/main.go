// Command benchserver is the Go side of the server benchmarks (bench/server_test.go): a Socket.IO server of
// package socketio with the events of testpeers/bench-server.js, its Node counterpart. It listens on a loopback
// port, prints {"type":"ready","port":N,"pid":P} on standard output, and exits when its standard input closes.
//
// Events, all in the main namespace:
//
//	echo       acknowledges with its own arguments
//	broadcast  [n, size]: emits "msg" [i, "x"×size] to every socket n times, then acknowledges with n
//	gc         runs the garbage collector and returns memory to the OS, then acknowledges
//	heap-profile  [path]: writes a heap profile to path, then acknowledges with the error text ("<nil>")
//	stats      acknowledges with the goroutine count and the runtime's memory statistics (Go only)
//	cluster-broadcast  [n, size, intervalMs]: emits "tick" [sentMicros, "x"×size] to every socket of the cluster n
//	           times, intervalMs apart (0: back to back), sentMicros being the Unix time in microseconds, then
//	           acknowledges with n
//
// BENCH_REDIS=host:port joins the server to a cluster on that Redis, in the format BENCH_FORMAT names: classic
// (default), sharded or streams.
//
// BENCH_SERVER_CPUPROFILE=FILE writes a CPU profile of the whole run to FILE, BENCH_SERVER_ALLOCPROFILE=FILE the
// allocations of the whole run (go tool pprof -sample_index=alloc_objects) when it ends.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

func main() {
	if err := run(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	if path := os.Getenv("BENCH_SERVER_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	if path := os.Getenv("BENCH_SERVER_ALLOCPROFILE"); path != "" {
		defer func() {
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
		}()
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := socketio.Config{Logger: logger}
	var waitReady func(context.Context) error
	if addr := os.Getenv("BENCH_REDIS"); addr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		switch os.Getenv("BENCH_FORMAT") {
		case "", "classic":
			a := redisadapter.New(rdb, redisadapter.Config{Logger: logger})
			cfg.Cluster, waitReady = a, a.WaitReady
		case "streams":
			a := redisadapter.NewStreams(rdb, redisadapter.StreamsConfig{Logger: logger})
			cfg.Cluster, waitReady = a, a.WaitReady
		case "sharded":
			a := redisadapter.NewSharded(rdb, redisadapter.ShardedConfig{Logger: logger})
			cfg.Cluster, waitReady = a, a.WaitReady
		default:
			return fmt.Errorf("unknown BENCH_FORMAT %q", os.Getenv("BENCH_FORMAT"))
		}
	}
	srv, err := socketio.NewServer(cfg)
	if err != nil {
		return err
	}
	if waitReady != nil {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := waitReady(wctx)
		cancel()
		if err != nil {
			return err
		}
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		s.On("echo", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			vals, err := args.Values()
			if err != nil || ack == nil {
				return
			}
			_ = ack(vals...)
		})
		s.On("broadcast", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var n, size int
			if err := args.DecodeAll(&n, &size); err != nil {
				return
			}
			body := strings.Repeat("x", size)
			for i := range n {
				if err := srv.Emit(ctx, "msg", i, body); err != nil {
					logger.Error("broadcast", "err", err)
					return
				}
			}
			if ack != nil {
				_ = ack(n)
			}
		})
		s.On("cluster-broadcast", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var n, size, interval int
			if err := args.DecodeAll(&n, &size, &interval); err != nil {
				return
			}
			body := strings.Repeat("x", size)
			for i := range n {
				if interval > 0 && i > 0 {
					time.Sleep(time.Duration(interval) * time.Millisecond)
				}
				if err := srv.Emit(ctx, "tick", time.Now().UnixMicro(), body); err != nil {
					logger.Error("cluster-broadcast", "err", err)
					return
				}
			}
			if ack != nil {
				_ = ack(n)
			}
		})
		s.On("stats", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if ack != nil {
				_ = ack(map[string]any{"goroutines": runtime.NumGoroutine(), "heapInuse": m.HeapInuse,
					"stackInuse": m.StackInuse, "sys": m.Sys})
			}
		})
		s.On("heap-profile", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var path string
			if err := args.Decode(0, &path); err != nil || path == "" {
				return
			}
			f, err := os.Create(path)
			if err == nil {
				err = errors.Join(pprof.Lookup("heap").WriteTo(f, 0), f.Close())
			}
			if ack != nil {
				_ = ack(fmt.Sprint(err))
			}
		})
		s.On("gc", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			runtime.GC()
			debug.FreeOSMemory()
			if ack != nil {
				_ = ack()
			}
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	ready, _ := json.Marshal(map[string]any{"type": "ready", "port": ln.Addr().(*net.TCPAddr).Port, "pid": os.Getpid()})
	if _, err := fmt.Fprintf(stdout, "%s\n", ready); err != nil {
		return err
	}
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(stdinClosed)
	}()
	select {
	case err := <-errc:
		return err
	case <-stdinClosed:
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = errors.Join(srv.Shutdown(sctx), hs.Shutdown(sctx))
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
