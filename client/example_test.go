package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/socketio"
	"github.com/sioredis/sioredis/socketio/msgpackparser"
)

type Greeting struct {
	Name string `json:"name"`
}

// A Go server to talk to, for the examples.
func exampleServer() (*httptest.Server, *socketio.Server) {
	srv, _ := socketio.NewServer(socketio.Config{})
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		socketio.HandleAck(s, "hello", func(ctx context.Context, s *socketio.Socket, g Greeting) string {
			_ = s.Emit("welcome", Greeting{Name: g.Name})
			return "hello, " + g.Name
		})
	})
	return httptest.NewServer(srv), srv
}

func Example() {
	hs, srv := exampleServer()
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, hs.URL, client.Options{}, map[string]string{"token": "secret"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	welcome := make(chan string, 1)
	client.Handle(s, "welcome", func(ctx context.Context, s *client.Socket, g Greeting) { welcome <- g.Name })

	answer, err := client.EmitWithAckAs[string](ctx, s, "hello", Greeting{Name: "gopher"})
	fmt.Println(answer, err)
	fmt.Println("welcome", <-welcome)
	// Output:
	// hello, gopher <nil>
	// welcome gopher
}

func ExampleManager() {
	hs, srv := exampleServer()
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	srv.Of("/admin").OnConnection(func(ctx context.Context, s *socketio.Socket) {})

	m, _ := client.NewManager(hs.URL, client.Options{Transports: []client.Transport{client.WebSocket}})
	defer m.Close()
	ctx := context.Background()
	for _, nsp := range []string{"/", "/admin"} {
		if err := m.Socket(nsp, nil).Connect(ctx); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println(m.Transport(), m.Socket("/admin", nil).Connected())
	// Output: websocket true
}

// A server with a certificate of its own (here httptest's), trusted through Options.TLSConfig for polling and
// the wss upgrade alike.
func ExampleOptions_tls() {
	srv, _ := socketio.NewServer(socketio.Config{})
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		socketio.HandleAck(s, "hello", func(ctx context.Context, s *socketio.Socket, _ any) string { return "hello over tls" })
	})
	hs := httptest.NewTLSServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	roots := x509.NewCertPool()
	roots.AddCert(hs.Certificate())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, hs.URL, client.Options{TLSConfig: &tls.Config{RootCAs: roots}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	answer, err := client.EmitWithAckAs[string](ctx, s, "hello")
	for s.Manager().Transport() != "websocket" && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println(answer, err, s.Manager().Transport())
	// Output: hello over tls <nil> websocket
}

func ExampleConnectError() {
	hs, srv := exampleServer()
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	_, err := client.Dial(context.Background(), hs.URL+"/missing", client.Options{}, nil)
	var ce *client.ConnectError
	fmt.Println(errors.As(err, &ce), ce.Message)
	// Output: true Invalid namespace
}

// A server and a client both using socket.io-msgpack-parser's packets (a Node server given
// parser: require("socket.io-msgpack-parser") works the same).
func ExampleParser() {
	srv, _ := socketio.NewServer(socketio.Config{Parser: msgpackparser.Parser{}})
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		socketio.HandleAck(s, "size", func(ctx context.Context, s *socketio.Socket, b []byte) int { return len(b) })
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, hs.URL, client.Options{Parser: client.ParserMsgpack}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	n, err := client.EmitWithAckAs[int](ctx, s, "size", []byte{1, 2, 3})
	fmt.Println(n, err)
	// Output: 3 <nil>
}
