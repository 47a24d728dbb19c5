package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/sioredis/sioredis/engineio"
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

// A server that socket.io-client 2.x clients can join too (Engine.IO v3), as Node's allowEIO3: such a client is
// connected to "/" at once, and the query of a namespace it opens (io("/admin?token=x")) is its socket's auth.
func ExampleConfig_allowEIO3() {
	srv, err := socketio.NewServer(socketio.Config{Engine: engineio.Config{AllowEIO3: true}})
	if err != nil {
		log.Fatal(err)
	}
	srv.Of("/admin").Use(func(ctx context.Context, s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(s.Handshake().Auth, &auth) // {"token":"x"} from io("/admin?token=x")
		if auth.Token != "x" {
			// A 2.x client gets it as an "error" event with the Data, or else the message.
			return &socketio.ConnectError{Message: "not authorized"}
		}
		return nil
	})
	defer srv.Shutdown(context.Background())

	// The v3 handshake, answered in the v3 long-polling framing: "<length>:<open packet>".
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/socket.io/?EIO=3&transport=polling", nil))
	n, packet, _ := strings.Cut(rec.Body.String(), ":")
	conn := srv.Engine().Conn(packet[len(`0{"sid":"`) : len(`0{"sid":"`)+20])
	fmt.Println(rec.Code, n == strconv.Itoa(len(packet)), packet[:8], conn.Protocol())
	// Output: 200 true 0{"sid": 3
}
