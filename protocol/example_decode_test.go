package protocol_test

import (
	"encoding/json"
	"fmt"

	"github.com/sioredis/sioredis/protocol"
)

func ExampleDecodePubSub() {
	// What @socket.io/redis-emitter publishes for
	// io.to("room_777").emit("my_event_name", {foo: "bar"}).
	op := &protocol.Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{map[string]string{"foo": "bar"}}}
	payload, _ := protocol.AppendClassicBroadcast(nil, protocol.EmitterUID, op, false)

	m, err := protocol.DecodePubSub("socket.io", "socket.io#/#room_777#", payload)
	if err != nil {
		panic(err)
	}
	args, _ := json.Marshal(m.Args) // objects are jsvalue.Object: their keys in wire order
	fmt.Println(m.Kind, m.Format, m.UID, m.Nsp, m.Rooms, m.Event, string(args))

	m, _ = protocol.DecodePubSub("socket.io", "socket.io-request#/#",
		[]byte(`{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room3"]}`))
	fmt.Println(m.Kind, m.Encoding, m.Nsp, m.Rooms, m.TargetRooms)
	// Output:
	// broadcast classic emitter / [room_777] my_event_name [{"foo":"bar"}]
	// socketsJoin json / [room1] [room3]
}
