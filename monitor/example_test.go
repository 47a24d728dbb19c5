package monitor_test

import (
	"context"
	"fmt"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/monitor"
)

// Watch the broadcasts to room_777 of a classic cluster and print them as JSON lines until ctx is done.
func ExampleWatch() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	err := monitor.Watch(ctx, rdb, monitor.Config{Mode: monitor.ModeClassic, Room: "room_777"}, func(e *monitor.Event) error {
		if e.Message != nil {
			fmt.Println(e.Message.Kind, e.Message.Event, e.Message.Args)
		}
		_, err := os.Stdout.Write(e.AppendJSON(nil))
		return err
	})
	if err != nil {
		fmt.Println(err)
	}
}

func ExampleConfig_Plan() {
	plan, err := monitor.Config{Mode: monitor.ModeStreams, Namespace: "/chat"}.Plan()
	fmt.Println(plan, err)
	// Output: PSUBSCRIBE socket.io#/chat#*; XREAD socket.io <nil>
}
