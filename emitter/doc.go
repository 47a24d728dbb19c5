// Package emitter publishes Socket.IO events and cluster commands into
// Redis, in the exact format the Socket.IO Redis adapters expect, so that a
// Go program can reach the browsers connected to a Socket.IO cluster without
// being part of it.
//
// One Emitter writes one adapter format (see Mode): the classic pub/sub
// adapter (@socket.io/redis-adapter 7–8, socket.io-redis 6), the sharded
// pub/sub adapter (SPUBLISH, @socket.io/redis-adapter ≥ 8.2), the Redis
// Streams adapter (@socket.io/redis-streams-adapter 0.2–0.3), or socket.io 2
// with socket.io-redis 5 (Legacy).
//
// Emitters are immutable: Of, To, In, Except, Volatile and Compress return a
// new Emitter, so one Emitter can be shared by every goroutine of a program.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	e, err := emitter.New(rdb)
//	if err != nil { ... }
//	receipt, err := e.To("room_777").Emit(ctx, "my_event_name", Message{ID: "message_id", Body: "hello"})
//
// The Receipt is Redis' answer: in the pub/sub formats, how many subscribers
// received the message (0 when no server listens on its channel).
package emitter
