package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sioredis/sioredis/socketio"
)

func ExampleSocket_Use() {
	srv, _ := socketio.NewServer(socketio.Config{})
	defer srv.Shutdown(context.Background())
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		// Every event the client sends passes here before its handler.
		s.Use(func(ctx context.Context, s *socketio.Socket, event string, args socketio.Args) error {
			if event == "delete-everything" {
				return errors.New("unauthorized event")
			}
			return nil
		})
		// The error of a middleware stops the event and comes here.
		s.OnError(func(err error) {
			slog.Warn("event refused", "sid", s.ID(), "err", err)
			s.Disconnect(false)
		})
	})
	fmt.Println("ok")
	// Output: ok
}

func ExampleSocket_OnAnyOutgoing() {
	srv, _ := socketio.NewServer(socketio.Config{})
	defer srv.Shutdown(context.Background())
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		// Sees s.Emit and every broadcast reaching s; the returned function removes the handler.
		stop := s.OnAnyOutgoing(func(s *socketio.Socket, event string, args []any) {
			slog.Debug("sent", "sid", s.ID(), "event", event, "args", len(args))
		})
		s.Once("quiet", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) { stop() })
	})
	fmt.Println("ok")
	// Output: ok
}
