package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"

	"github.com/sioredis/sioredis/socketio"
)

type ChatMessage struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

func Example() {
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		log.Fatal(err)
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		// Typed handler: the first argument is decoded into a ChatMessage.
		socketio.Handle(s, "chat", func(ctx context.Context, s *socketio.Socket, m ChatMessage) {
			_ = s.To(m.Room).Emit(ctx, "chat", m) // everyone in the room but the sender
		})
		// The returned value is the acknowledgement.
		socketio.HandleAck(s, "join", func(ctx context.Context, s *socketio.Socket, room string) []string {
			s.Join(room)
			return s.Rooms()
		})
	})
	// Reserved event names are refused.
	err = srv.Emit(context.Background(), "disconnect")
	fmt.Println(errors.Is(err, socketio.ErrReservedEvent))

	http.Handle("/socket.io/", srv)
	// http.ListenAndServe(":8080", nil)
	_ = srv.Shutdown(context.Background())
	// Output: true
}

func ExampleNamespace_Use() {
	srv, _ := socketio.NewServer(socketio.Config{})
	defer srv.Shutdown(context.Background())
	srv.Of("/admin").Use(func(ctx context.Context, s *socketio.Socket) error {
		if string(s.Handshake().Auth) != `{"token":"secret"}` {
			// The client's connect_error has err.message "not authorized" and err.data {"code":401}.
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]int{"code": 401}}
		}
		return nil
	})
	fmt.Println(srv.Of("/admin").Name())
	// Output: /admin
}

func ExampleSocket_EmitWithAck() {
	srv, _ := socketio.NewServer(socketio.Config{})
	defer srv.Shutdown(context.Background())
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		s.On("ready", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			// Handlers may wait: the client's packets are still read meanwhile.
			answer, err := socketio.EmitWithAckAs[int](ctx, s, "question", 21)
			if err == nil {
				_ = s.Emit("answer", answer)
			}
		})
	})
	fmt.Println("ok")
	// Output: ok
}

// The default parser writes socket.io-parser's packets: a text message, then one binary message per attachment.
func ExampleJSONParser() {
	msgs, _ := socketio.JSONParser{}.Encode(socketio.Packet{
		Type: socketio.PacketEvent, Nsp: "/admin", ID: 7, Event: "file", Args: []any{"a.bin", []byte{1, 2}},
	})
	for _, m := range msgs {
		fmt.Printf("binary %v: %q\n", m.Binary, m.Data)
	}
	// Output:
	// binary false: "51-/admin,7[\"file\",\"a.bin\",{\"_placeholder\":true,\"num\":0}]"
	// binary true: "\x01\x02"
}
