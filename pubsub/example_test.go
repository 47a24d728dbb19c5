package pubsub_test

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/pubsub"
)

// The classic pattern done right: a background listener keeps state up to
// date while the main goroutine works and reads it. Subscribe returns once
// Redis has confirmed the subscription, so the first PUBLISH cannot be
// missed; the listener ends on the application's "END" message or when the
// context is cancelled, and Close waits for it.
func ExampleSubscribe() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()

	sub, err := pubsub.Subscribe(ctx, rdb, pubsub.Channels("prices"))
	if err != nil {
		fmt.Println("subscribe:", err)
		return
	}
	defer sub.Close()

	var mu sync.Mutex
	prices := map[string]string{} // written by the listener, read by main
	listenerDone := make(chan struct{})
	go func() {
		defer close(listenerDone)
		for m := range sub.C() {
			if m.Kind == pubsub.KindGap {
				fmt.Println("missed updates while", m.Gap.Reason) // resync from the source here
				continue
			}
			if m.Payload == "END" {
				cancel() // stops the subscription; C is then closed
				continue
			}
			item, price, _ := strings.Cut(m.Payload, "=")
			mu.Lock()
			prices[item] = price
			mu.Unlock()
		}
	}()

	for _, p := range []string{"apple=1.10", "pear=2.05", "apple=1.20", "END"} {
		if err := rdb.Publish(ctx, "prices", p).Err(); err != nil {
			fmt.Println("publish:", err)
			return
		}
	}
	<-listenerDone // the main goroutine would do its own work meanwhile

	mu.Lock()
	fmt.Println("apple:", prices["apple"], "pear:", prices["pear"])
	mu.Unlock()
	fmt.Println("stopped by:", sub.Err())
	// Output:
	// apple: 1.20 pear: 2.05
	// stopped by: context canceled
}
