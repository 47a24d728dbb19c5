package redisadapter_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/redisadapter"
	"github.com/sioredis/sioredis/socketio"
)

// TestMalformedMessages: garbage on every channel a server listens to, and in its stream, is logged and skipped;
// the server keeps serving (a broadcast after it still reaches its client), in both the classic and the streams
// formats.
func TestMalformedMessages(t *testing.T) {
	garbage := [][]byte{
		nil, []byte("{"), []byte("{}"), []byte(`{"type":"x"}`), []byte("\x91\xc1"), []byte("\xde\xff\xff"),
		[]byte(`["emitter"]`), []byte(`{"uid":"u","nsp":"/","type":3,"data":{"packet":1}}`),
		[]byte("\x84\xa3uid\xa1u\xa3nsp\xa1/\xa4type\x03\xa4data\xc0"), bytes.Repeat([]byte{0xdc}, 64),
	}
	for _, format := range []string{"classic", "streams"} {
		t.Run(format, func(t *testing.T) {
			rs := testenv.StartRedis(t)
			rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
			t.Cleanup(func() { _ = rdb.Close() })
			logs := &testenv.Buffer{}
			logger := slog.New(slog.NewTextHandler(logs, nil))
			var g *goServer
			if format == "classic" {
				a := redisadapter.New(rdb, redisadapter.Config{Logger: logger})
				g = startGoServerOn(t, "g", socketio.Config{Cluster: a, Logger: logger}, a.WaitReady)
			} else {
				a := redisadapter.NewStreams(rdb, redisadapter.StreamsConfig{Logger: logger})
				g = startGoServerOn(t, "g", socketio.Config{Cluster: a, Logger: logger}, a.WaitReady)
			}
			clients := testenv.StartClients(t, 4, []testenv.ClientSpec{{Name: "c", URL: g.url, Rooms: []string{"r"}}})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			channels := []string{"socket.io#/#", "socket.io#/#r#", "socket.io-request#/#", "socket.io-response#/#",
				"socket.io#/#" + "nobody" + "#"}
			for _, b := range garbage {
				for _, ch := range channels {
					if err := rdb.Publish(ctx, ch, b).Err(); err != nil {
						t.Fatal(err)
					}
				}
				for _, fields := range []map[string]any{
					{"uid": "u", "nsp": "/", "type": "3", "data": string(b)},
					{"uid": "u", "nsp": "/", "type": "x"},
					{"nsp": "/", "type": "3", "data": "{" + string(b)},
					{"uid": "u", "nsp": "/", "type": "3", "data": "AAAA" + string(b)},
				} {
					if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "socket.io", Values: fields}).Err(); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Still serving: a broadcast through Redis (an emitter's, in the server's format) arrives.
			mode := emitter.Classic
			if format == "streams" {
				mode = emitter.Streams
			}
			em, err := emitter.New(rdb, emitter.WithMode(mode))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := em.To("r").Emit(ctx, "after", 1); err != nil {
				t.Fatal(err)
			}
			if _, err := clients.WaitEvent(ctx, "c", testenv.EventNamed("after")); err != nil {
				t.Fatal(err)
			}
			testenv.WaitFor(t, func() bool { return strings.Contains(logs.String(), "ignored") })
			clients.AssertNoEvent(t, "c", "")
		})
	}
}
