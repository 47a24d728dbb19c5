package protocol

import (
	"errors"
	"testing"
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
	resp, err := AppendFetchSocketsResponse(nil, "r1", []FetchedSocket{{ID: "s1", Handshake: Object{{Key: "url", Value: "/x"}}, Rooms: []string{"s1", "room"}, Data: map[string]int{"n": 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"requestId":"r1","sockets":[{"id":"s1","handshake":{"url":"/x"},"rooms":["s1","room"],"data":{"n":1}}]}`; string(resp) != want {
		t.Errorf("fetch response\n got %s\nwant %s", resp, want)
	}
	if m, err := DecodeClassicResponse(resp); err != nil || m.Kind != KindFetchSocketsResponse || m.RequestID != "r1" {
		t.Errorf("decoded %+v, %v", m, err)
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
