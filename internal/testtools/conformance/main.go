// Command conformance is the server the official Engine.IO v4 and Socket.IO v5 protocol test suites
// (../shared/conformance) are run against, configured exactly as their README asks: HTTP on port 3000 on every
// interface, pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1,000,000 bytes, connectTimeout 1000 ms, CORS for
// any origin; a Socket.IO server at /socket.io/ (namespaces "/" and "/custom") and a plain Engine.IO echo server at
// /engine.io/. It takes no flags: the suites hard-wire every one of these settings. scripts/conformance runs it.
//
// It stops on SIGINT or SIGTERM, closing both servers.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/socketio"
)

// addr is where the suites connect (http://localhost:3000): every interface, so that 127.0.0.1 and ::1 both work.
const addr = ":3000"

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(log); err != nil {
		log.Error("conformance server", "err", err)
		os.Exit(1)
	}
}

// engineConfig is the Engine.IO configuration the suites expect, for both servers.
func engineConfig(log *slog.Logger) engineio.Config {
	return engineio.Config{
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		MaxHTTPBufferSize: 1_000_000,
		AllowedOrigins:    []string{"*"},
		Logger:            log,
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	eio, err := engineio.NewServer(engineConfig(log), echo{})
	if err != nil {
		return fmt.Errorf("engine.io server: %w", err)
	}
	sio, err := newSocketIO(log)
	if err != nil {
		return fmt.Errorf("socket.io server: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	mux.Handle("/socket.io/", sio)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("conformance server listening", "addr", ln.Addr().String()) // the runner waits for the port

	select {
	case err = <-served:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutErr := hs.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, shutErr, eio.Shutdown(sctx), sio.Shutdown(sctx))
}

// newSocketIO returns the Socket.IO server of the suite: "/" emits "auth" with the CONNECT payload, echoes
// "message" as "message-back" and acknowledges "message-with-ack" with its arguments; "/custom" emits "auth".
func newSocketIO(log *slog.Logger) (*socketio.Server, error) {
	srv, err := socketio.NewServer(socketio.Config{
		Engine:         engineConfig(log),
		ConnectTimeout: 1000 * time.Millisecond,
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		emitAuth(s, log)
		s.On("message", func(ctx context.Context, s *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
			vals, err := args.Values()
			if err != nil {
				log.Warn("undecodable message", "sid", s.ID(), "err", err)
				return
			}
			if err := s.Emit("message-back", vals...); err != nil {
				log.Warn("emit message-back", "sid", s.ID(), "err", err)
			}
		})
		s.On("message-with-ack", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			vals, err := args.Values()
			if err != nil || ack == nil {
				log.Warn("message-with-ack without ack or undecodable", "sid", s.ID(), "err", err)
				return
			}
			if err := ack(vals...); err != nil {
				log.Warn("ack message-with-ack", "sid", s.ID(), "err", err)
			}
		})
	})
	srv.Of("/custom").OnConnection(func(ctx context.Context, s *socketio.Socket) { emitAuth(s, log) })
	return srv, nil
}

// emitAuth emits "auth" with the CONNECT payload, an empty object without one (as Node's handshake.auth).
func emitAuth(s *socketio.Socket, log *slog.Logger) {
	var auth any = map[string]any{}
	if a := s.Handshake().Auth; a != nil {
		auth = a
	}
	if err := s.Emit("auth", auth); err != nil {
		log.Warn("emit auth", "sid", s.ID(), "err", err)
	}
}

// echo is the Engine.IO handler of /engine.io/: every message goes straight back, text as text, binary as binary.
type echo struct{}

func (echo) OnOpen(*engineio.Conn) {}

func (echo) OnMessage(c *engineio.Conn, msg engineio.Message) {
	_ = c.Send(engineio.Queued, msg) // a closed connection needs no answer
}

func (echo) OnClose(*engineio.Conn, engineio.CloseReason) {}
