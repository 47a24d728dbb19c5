package protocol

import (
	"errors"
	"testing"
	"time"

	"github.com/sioredis/sioredis/jsvalue"
)

func TestClassicRequestsAndResponses(t *testing.T) {
	req := AppendFetchSocketsRequest(nil, "abc", "r1", []string{"room"}, nil)
	if want := `{"uid":"abc","requestId":"r1","type":5,"opts":{"rooms":["room"],"except":[]}}`; string(req) != want {
		t.Errorf("fetch request\n got %s\nwant %s", req, want)
	}
	m, err := DecodeClassicRequest(req)
	if err != nil || m.Kind != KindFetchSockets || m.RequestID != "r1" || m.UID != "abc" || len(m.Rooms) != 1 {
		t.Errorf("decoded %+v, %v", m, err)
	}
	hs := Handshake{Headers: map[string]string{"user-agent": "ua", "cookie": "c=1"}, Time: time.UnixMilli(1700000000123).UTC(),
		Address: "127.0.0.1", URL: "/socket.io/?EIO=4", Query: map[string]string{"EIO": "4"}, Auth: jsvalue.Object{{Key: "token", Value: "t"}}}
	resp, err := AppendFetchSocketsResponse(nil, "r1", []FetchedSocket{{ID: "s1", Handshake: hs, Rooms: []string{"s1", "room"}, Data: map[string]int{"n": 1}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"requestId":"r1","sockets":[{"id":"s1","handshake":{"headers":{"cookie":"c=1","user-agent":"ua"},` +
		`"time":"Tue Nov 14 2023 22:13:20 GMT+0000 (UTC)","address":"127.0.0.1","xdomain":false,"secure":false,` +
		`"issued":1700000000123,"url":"/socket.io/?EIO=4","query":{"EIO":"4"},"auth":{"token":"t"}},"rooms":["s1","room"],"data":{"n":1}}]}`
	if string(resp) != want {
		t.Errorf("fetch response\n got %s\nwant %s", resp, want)
	}
	m, err = DecodeClassicResponse(resp)
	if err != nil || m.Kind != KindFetchSocketsResponse || m.RequestID != "r1" {
		t.Fatalf("decoded %+v, %v", m, err)
	}
	got, ok := FetchedSocketOf(m.Data.([]any)[0])
	if !ok || got.ID != "s1" || len(got.Rooms) != 2 || got.Handshake.Headers["cookie"] != "c=1" || got.Handshake.URL != hs.URL ||
		!got.Handshake.Time.Equal(hs.Time) || got.Handshake.Query["EIO"] != "4" {
		t.Errorf("read back %+v", got)
	}
	if _, err := AppendFetchSocketsResponse(nil, "r1", []FetchedSocket{{ID: "s1", Data: []byte{1}}}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("binary data: %v", err)
	}
	if got := string(AppendSocketsResponse(nil, "r2", []string{"a", "b"})); got != `{"requestId":"r2","sockets":["a","b"]}` {
		t.Errorf("sockets response %s", got)
	}
	if got := string(AppendAllRoomsResponse(nil, "r3", nil)); got != `{"requestId":"r3","rooms":[]}` {
		t.Errorf("rooms response %s", got)
	}
}

func TestBroadcastWithAckMessages(t *testing.T) {
	op := &Op{Nsp: "/", Rooms: []string{"r"}, Event: "ask", Args: []any{jsvalue.Object{{Key: "b", Value: 1}, {Key: "a", Value: []byte{7}}}},
		Flags: Flags{Volatile: true}}
	req, err := AppendBroadcastWithAckRequest(nil, "u1", "q1", op)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeClassicRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindBroadcastWithAck || m.UID != "u1" || m.RequestID != "q1" || m.Event != "ask" || len(m.Args) != 1 ||
		len(m.Rooms) != 1 || m.Flags["volatile"] != true {
		t.Errorf("decoded %+v", m)
	}
	if args := m.Args; len(args) == 0 || args[0].(jsvalue.Object)[0].Key != "b" {
		t.Errorf("arguments in order: %v", args)
	}
	cc := AppendBroadcastClientCountResponse(nil, "q1", 3)
	if string(cc) != `{"type":8,"requestId":"q1","clientCount":3}` {
		t.Errorf("client count %s", cc)
	}
	if m, err := DecodeClassicResponse(cc); err != nil || m.Kind != KindBroadcastClientCount || m.Data != int64(3) {
		t.Errorf("decoded client count %+v %v", m, err)
	}
	ack, err := AppendBroadcastAckResponse(nil, "q1", []any{"x", 2})
	if err != nil {
		t.Fatal(err)
	}
	m, err = DecodeClassicResponse(ack)
	if err != nil || m.Kind != KindBroadcastAck || m.RequestID != "q1" {
		t.Fatalf("decoded ack %+v %v", m, err)
	}
	if list, ok := m.Data.([]any); !ok || len(list) != 2 || list[0] != "x" {
		t.Errorf("ack packet kept as sent: %#v", m.Data)
	}
}

func TestServerSideEmitWithAckMessages(t *testing.T) {
	op := &Op{Kind: OpServerSideEmit, Nsp: "/", Event: "ping", Args: []any{"x", jsvalue.Object{{Key: "b", Value: 1}, {Key: "a", Value: true}}}}
	req, err := AppendServerSideEmitWithAckRequest(nil, "u1", "q1", op)
	if err != nil {
		t.Fatal(err)
	}
	// JSON.stringify({uid, requestId, type, data}) in the reference adapter's serverSideEmitWithAck.
	if want := `{"uid":"u1","requestId":"q1","type":6,"data":["ping","x",{"b":1,"a":true}]}`; string(req) != want {
		t.Errorf("request\n got %s\nwant %s", req, want)
	}
	m, err := DecodeClassicRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindServerSideEmit || m.UID != "u1" || m.RequestID != "q1" || m.Event != "ping" || len(m.Args) != 2 || m.Encoding != EncodingJSON {
		t.Errorf("decoded request %+v", m)
	}
	if args := m.Args; len(args) < 2 || args[1].(jsvalue.Object)[0].Key != "b" {
		t.Errorf("arguments in order: %v", args)
	}
	// Without a request id (no acknowledgement wanted) the request is AppendClassicRequest's, decoded without one.
	plain, err := AppendClassicRequest(nil, "u1", op)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := DecodeClassicRequest(plain); err != nil || m.RequestID != "" || m.Kind != KindServerSideEmit {
		t.Errorf("request without acknowledgement: %+v %v", m, err)
	}

	// Binary arguments: msgpack, as AppendClassicRequest.
	bin := &Op{Kind: OpServerSideEmit, Nsp: "/", Event: "blob", Args: []any{[]byte{1, 2}}}
	req, err = AppendServerSideEmitWithAckRequest(nil, "u2", "q2", bin)
	if err != nil {
		t.Fatal(err)
	}
	m, err = DecodeClassicRequest(req)
	if err != nil || m.Encoding != EncodingMsgpack || m.RequestID != "q2" || m.Event != "blob" || len(m.Args) != 1 {
		t.Fatalf("decoded binary request %+v %v", m, err)
	}
	if b, ok := m.Args[0].([]byte); !ok || len(b) != 2 || b[1] != 2 {
		t.Errorf("binary argument %#v", m.Args[0])
	}
	if _, err := AppendServerSideEmitWithAckRequest(nil, "u", "q", &Op{Kind: OpBroadcast}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("a broadcast as serverSideEmit: %v", err)
	}
	if _, err := AppendServerSideEmitWithAckRequest(nil, "u", "", &Op{Kind: OpServerSideEmit, Event: "e"}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("no request id: %v", err)
	}
	if _, err := AppendServerSideEmitWithAckRequest(nil, "u", "q", &Op{Kind: OpServerSideEmit, Event: "e", Args: []any{make(chan int)}}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("unencodable argument: %v", err)
	}

	// The answer: the first argument only, keys in order.
	resp, err := AppendServerSideEmitResponse(nil, "q1", []any{jsvalue.Object{{Key: "z", Value: "pong"}, {Key: "a", Value: []any{1.5, nil}}}, "dropped"})
	if err != nil {
		t.Fatal(err)
	}
	// JSON.stringify({type, requestId, data: arg}) in the reference adapter's callback.
	if want := `{"type":6,"requestId":"q1","data":{"z":"pong","a":[1.5,null]}}`; string(resp) != want {
		t.Errorf("response\n got %s\nwant %s", resp, want)
	}
	m, err = DecodeClassicResponse(resp)
	if err != nil || m.Kind != KindServerSideEmitResponse || m.RequestID != "q1" {
		t.Fatalf("decoded response %+v %v", m, err)
	}
	ack := m.Args
	if len(ack) != 1 {
		t.Fatalf("acknowledgement %#v", ack)
	}
	if o, ok := ack[0].(jsvalue.Object); !ok || len(o) != 2 || o[0].Key != "z" || o[0].Value != "pong" {
		t.Errorf("acknowledgement in order: %#v", ack[0])
	}
	if o, ok := m.Data.(jsvalue.Object); !ok || len(o) != 2 || o[0].Value != "pong" {
		t.Errorf("acknowledgement as Data: %#v", m.Data)
	}

	// No argument: no "data" (JSON.stringify drops undefined), and no value read back; null is a value.
	resp, err = AppendServerSideEmitResponse(nil, "q3", nil)
	if err != nil || string(resp) != `{"type":6,"requestId":"q3"}` {
		t.Errorf("response without argument: %s %v", resp, err)
	}
	if m, err := DecodeClassicResponse(resp); err != nil || m.Kind != KindServerSideEmitResponse || m.Args != nil {
		t.Errorf("decoded response without argument: %+v %v", m, err)
	}
	resp, err = AppendServerSideEmitResponse(nil, "q4", []any{nil})
	if err != nil || string(resp) != `{"type":6,"requestId":"q4","data":null}` {
		t.Errorf("null response: %s %v", resp, err)
	}
	if m, err := DecodeClassicResponse(resp); err != nil || len(m.Args) != 1 || m.Args[0] != nil {
		t.Errorf("decoded null response: %+v %v", m, err)
	}

	// Binary: msgpack, which the reference adapter decodes with its parser.
	resp, err = AppendServerSideEmitResponse(nil, "q5", []any{jsvalue.Object{{Key: "blob", Value: []byte{9}}}})
	if err != nil || resp[0] == '{' {
		t.Fatalf("binary response: %q %v", resp, err)
	}
	m, err = DecodeClassicResponse(resp)
	if err != nil || m.Kind != KindServerSideEmitResponse || m.RequestID != "q5" || m.Encoding != EncodingMsgpack {
		t.Fatalf("decoded binary response %+v %v", m, err)
	}
	ack = m.Args
	if o, ok := ack[0].(jsvalue.Object); !ok || o[0].Key != "blob" || string(o[0].Value.([]byte)) != "\x09" {
		t.Errorf("binary acknowledgement %#v", ack)
	}
	if _, err := AppendServerSideEmitResponse(nil, "q6", []any{func() {}}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("unencodable acknowledgement: %v", err)
	}
}
