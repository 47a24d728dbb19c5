package protocol_test

import (
	"fmt"

	"github.com/sioredis/sioredis/protocol"
)

func ExampleDecodePubSub() {
	// What @socket.io/redis-emitter publishes for
	// io.to("room_777").emit("my_event_name", {foo: "bar"}).
	op := &protocol.Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{map[string]string{"foo": "bar"}}}
	payload, _ := protocol.AppendClassicBroadcast(nil, protocol.EmitterUID, op, false)

	m, err := protocol.DecodePubSub("socket.io", "socket.io#/#room_777#", false, payload)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Kind, m.Format, m.UID, m.Nsp, m.Rooms, m.Event, m.Args)

	m, _ = protocol.DecodePubSub("socket.io", "socket.io-request#/#", false,
		[]byte(`{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room3"]}`))
	fmt.Println(m.Kind, m.Encoding, m.Nsp, m.Rooms, m.TargetRooms)
	// Output:
	// broadcast classic emitter / [room_777] my_event_name [map[foo:bar]]
	// socketsJoin json / [room1] [room3]
}

func ExampleDecodeMsgpack() {
	// notepack.io's encoding of [1.5, {"1": "x"}, new Date(0), Buffer.from([1, 2])].
	v, err := protocol.DecodeMsgpack([]byte("\x94\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\x81\x01\xa1x\xd6\xff\x00\x00\x00\x00\xc4\x02\x01\x02"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v\n", v)
	_, err = protocol.DecodeMsgpack([]byte("\xdb\xff\xff\xff\xff"))
	fmt.Println(err)
	// Output:
	// [1.5 map[1:x] 1970-01-01 00:00:00 +0000 UTC [1 2]]
	// sioredis: malformed message: msgpack at offset 5: 4294967295 bytes announced, 0 left
}
