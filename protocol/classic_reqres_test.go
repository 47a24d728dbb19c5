package protocol

import (
	"errors"
	"testing"
	"time"
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
		Address: "127.0.0.1", URL: "/socket.io/?EIO=4", Query: map[string]string{"EIO": "4"}, Auth: Object{{Key: "token", Value: "t"}}}
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
	op := &Op{Nsp: "/", Rooms: []string{"r"}, Event: "ask", Args: []any{Object{{Key: "b", Value: 1}, {Key: "a", Value: []byte{7}}}},
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
	if args, ok := ArgsInOrder(m, req); !ok || args[0].(Object)[0].Key != "b" {
		t.Errorf("arguments in order: %v %v", args, ok)
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
