package engineio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sioredis/sioredis/engineio"
)

type nopHandler struct{}

func (nopHandler) OnOpen(*engineio.Conn)                        {}
func (nopHandler) OnMessage(*engineio.Conn, engineio.Message)   {}
func (nopHandler) OnClose(*engineio.Conn, engineio.CloseReason) {}

func ExampleConfig_hooks() {
	srv, _ := engineio.NewServer(engineio.Config{
		// A cookie on the response that opens each session (sticky sessions behind a load balancer, say).
		InitialHeaders: func(h http.Header, r *http.Request) { h.Set("Set-Cookie", "lb=node-1; Path=/") },
		// Every refused request, with the reference server's code.
		OnConnectionError: func(e *engineio.ConnectionError) {
			fmt.Println("refused:", int(e.Code), e.Message, e.Context)
		},
	}, nopHandler{})
	defer srv.Shutdown(context.Background())
	hs := httptest.NewServer(srv)
	defer hs.Close()

	res, _ := http.Get(hs.URL + "/engine.io/?EIO=4&transport=polling")
	res.Body.Close()
	fmt.Println(res.Header.Get("Set-Cookie"))
	res, _ = http.Get(hs.URL + "/engine.io/?EIO=4&transport=smoke-signals")
	res.Body.Close()
	// Output:
	// lb=node-1; Path=/
	// refused: 0 Transport unknown map[transport:smoke-signals]
}
