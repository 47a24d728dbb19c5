package client

import (
	"context"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/socketio"
)

// TestBadAttachmentsCloseTheConnection: a binary packet from the server that announces no attachment, or whose
// placeholder names none of its attachments, closes the connection with "parse error", as socket.io-client (whose
// socket.io-parser 4.2.7 throws "Illegal attachments") does; a good one is delivered.
func TestBadAttachmentsCloseTheConnection(t *testing.T) {
	t.Parallel()
	g := startGoServer(t, socketio.Config{}, func(srv *socketio.Server) {
		srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
			// "send" makes the server write the packet text it names, then one attachment.
			s.On("send", func(ctx context.Context, s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
				var text string
				_ = args.Decode(0, &text)
				msgs := []engineio.Message{{Data: []byte(text)}}
				if text[1] != '0' { // "50-": no attachment
					msgs = append(msgs, engineio.Message{Data: []byte{7}, Binary: true})
				}
				_ = s.Conn().Send(engineio.Queued, msgs...)
			})
		})
	})
	tests := []struct {
		name, packet string
		ok           bool
	}{
		{"good", `51-["ev",{"_placeholder":true,"num":0}]`, true},
		{"no attachment", `50-["ev"]`, false},
		{"placeholder past the attachments", `51-["ev",{"_placeholder":true,"num":1}]`, false},
		{"nested placeholder past the attachments", `51-["ev",[{"k":{"_placeholder":true,"num":4}}]]`, false},
		{"placeholder without num", `51-["ev",{"_placeholder":true}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := fastOpts(WebSocket)
			opts.NoReconnection = true
			s := dial(t, g.URL(), opts, nil)
			got := recv[[]byte](s, "ev")
			reasons := make(chan string, 1)
			s.OnDisconnect(func(reason string) { reasons <- reason })
			if err := s.Emit("send", tt.packet); err != nil {
				t.Fatal(err)
			}
			select {
			case b := <-got:
				if !tt.ok || len(b) != 1 || b[0] != 7 {
					t.Errorf("delivered %v", b)
				}
			case r := <-reasons:
				if tt.ok || r != "parse error" {
					t.Errorf("disconnected: %q", r)
				}
			case <-time.After(5 * time.Second):
				t.Error("neither delivered nor disconnected")
			}
		})
	}
}
