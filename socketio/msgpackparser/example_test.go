package msgpackparser_test

import (
	"fmt"
	"net/http"

	"github.com/sioredis/sioredis/socketio"
	"github.com/sioredis/sioredis/socketio/msgpackparser"
)

// A server for clients created with io(url, {parser: require("socket.io-msgpack-parser")}).
func Example() {
	srv, err := socketio.NewServer(socketio.Config{Parser: msgpackparser.Parser{}})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv) // then http.ListenAndServe(addr, mux)
	// One packet is one binary message: a msgpack map {type, data, nsp}, binary as msgpack bin.
	msgs, _ := msgpackparser.Parser{}.Encode(socketio.Packet{
		Type: socketio.PacketEvent, Nsp: "/", ID: socketio.NoAckID, Event: "hi", Args: []any{[]byte{1}},
	})
	fmt.Printf("%d message, binary %v: % x\n", len(msgs), msgs[0].Binary, msgs[0].Data)
	// Output:
	// 1 message, binary true: 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a2 68 69 c4 01 01 a3 6e 73 70 a1 2f
}
