package protocol_test

import (
	"fmt"

	"github.com/sioredis/sioredis/protocol"
)

func ExampleBroadcastChannel() {
	fmt.Println(protocol.BroadcastChannel("socket.io", "/", []string{"room_777"}))
	fmt.Println(protocol.BroadcastChannel("socket.io", "/", []string{"room_777", "room_888"}))
	fmt.Println(protocol.RequestChannel("socket.io", "/admin"))
	// Output:
	// socket.io#/#room_777#
	// socket.io#/#
	// socket.io-request#/admin#
}

func ExampleAppendClassicBroadcast() {
	op := &protocol.Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name",
		Args: []any{map[string]string{"foo": "bar"}}}
	msg, err := protocol.AppendClassicBroadcast(nil, protocol.EmitterUID, op, false)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", msg)
	// Output:
	// 93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 ad 6d 79 5f 65 76 65 6e 74 5f 6e 61 6d 65 81 a3 66 6f 6f a3 62 61 72 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a8 72 6f 6f 6d 5f 37 37 37 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90
}

func ExampleAppendClusterMessage() {
	op := &protocol.Op{Kind: protocol.OpSocketsJoin, Nsp: "/", Rooms: []string{"room1"}, JoinRooms: []string{"room3"}}
	msg, _ := protocol.AppendClusterMessage(nil, protocol.EmitterUID, op)
	fmt.Println(string(msg))
	// Output:
	// {"uid":"emitter","nsp":"/","type":4,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"rooms":["room3"]}}
}
