package protocol

import (
	"errors"
	"testing"
)

func TestClusterRequests(t *testing.T) {
	bc := &Op{Kind: OpBroadcast, Nsp: "/", Rooms: []string{"a"}, Event: "ev", Args: []any{1}}
	b, err := AppendClusterRequest(nil, "u", "r1", bc)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"uid":"u","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["ev",1],"nsp":"/"},"requestId":"r1","opts":{"rooms":["a"],"except":[],"flags":{}}}}`; string(b) != want {
		t.Errorf("broadcast with ack\n%s\nwant\n%s", b, want)
	}
	m, err := DecodeClusterMessage(b)
	if err != nil || m.Kind != KindBroadcastWithAck || m.RequestID != "r1" || m.Event != "ev" || len(m.Rooms) != 1 {
		t.Errorf("decoded %+v %v", m, err)
	}
	sse := &Op{Kind: OpServerSideEmit, Nsp: "/x", Event: "hi", Args: []any{[]byte{1}}}
	b, err = AppendClusterRequest(nil, "u", "r2", sse)
	if err != nil || b[0] == '{' {
		t.Fatalf("binary serverSideEmit: %q %v, want msgpack", b, err)
	}
	m, err = DecodeClusterMessage(b)
	if err != nil || m.Kind != KindServerSideEmit || m.RequestID != "r2" || m.Nsp != "/x" || m.Event != "hi" || len(m.Args) != 1 {
		t.Errorf("decoded %+v %v", m, err)
	}
	if _, err := AppendClusterRequest(nil, "u", "", sse); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("no request id: %v", err)
	}
	if _, err := AppendClusterRequest(nil, "u", "r", &Op{Kind: OpSocketsJoin}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("socketsJoin: %v", err)
	}
	b = AppendClusterFetchSockets(nil, "u", "/", "r3", []string{"a"}, []string{"b"})
	if want := `{"uid":"u","nsp":"/","type":7,"data":{"opts":{"rooms":["a"],"except":["b"],"flags":{}},"requestId":"r3"}}`; string(b) != want {
		t.Errorf("fetchSockets\n%s\nwant\n%s", b, want)
	}
	if m, err := DecodeClusterMessage(b); err != nil || m.Kind != KindFetchSockets || m.RequestID != "r3" || m.Except[0] != "b" {
		t.Errorf("decoded %+v %v", m, err)
	}
}

func TestClusterResponses(t *testing.T) {
	for _, tc := range []struct {
		r    ClusterResponse
		want string // "" for msgpack
		kind Kind
	}{
		{ClusterResponse{Type: ClusterBroadcastClientCount, RequestID: "r", ClientCount: 3},
			`{"uid":"u","nsp":"/","type":11,"data":{"requestId":"r","clientCount":3}}`, KindBroadcastClientCount},
		{ClusterResponse{Type: ClusterBroadcastAck, RequestID: "r", Packet: []any{Object{{Key: "z", Value: 1}, {Key: "a", Value: 2}}}},
			`{"uid":"u","nsp":"/","type":12,"data":{"requestId":"r","packet":{"z":1,"a":2}}}`, KindBroadcastAck},
		{ClusterResponse{Type: ClusterServerSideEmitResponse, RequestID: "r"},
			`{"uid":"u","nsp":"/","type":10,"data":{"requestId":"r"}}`, KindServerSideEmitResponse},
		{ClusterResponse{Type: ClusterServerSideEmitResponse, RequestID: "r", Packet: []any{[]byte{9}}}, "", KindServerSideEmitResponse},
		{ClusterResponse{Type: ClusterFetchSocketsResponse, RequestID: "r", Sockets: []FetchedSocket{{ID: "s1", Rooms: []string{"s1", "a"}, Data: nil}}},
			"", KindFetchSocketsResponse},
	} {
		b, err := AppendClusterResponse(nil, "u", "/", &tc.r)
		if err != nil {
			t.Fatal(err)
		}
		if tc.want != "" && string(b) != tc.want {
			t.Errorf("got\n%s\nwant\n%s", b, tc.want)
		}
		if tc.want == "" && tc.r.Type != ClusterFetchSocketsResponse && b[0] == '{' {
			t.Errorf("binary response written as JSON: %s", b)
		}
		m, err := DecodeClusterMessage(b)
		if err != nil || m.Kind != tc.kind || m.RequestID != "r" || m.UID != "u" || m.Nsp != "/" {
			t.Errorf("decoded %+v %v", m, err)
		}
		v, ok := ClusterResponsePacket(b)
		if ok != (len(tc.r.Packet) > 0) {
			t.Errorf("%s: packet %v %v", b, v, ok)
		}
		if o, isObj := v.(Object); isObj && (o[0].Key != "z" || o[1].Key != "a") {
			t.Errorf("packet order %v", o)
		}
		if tc.r.Type == ClusterFetchSocketsResponse {
			list, _ := m.Data.([]any)
			if fs, ok := FetchedSocketOf(list[0]); len(list) != 1 || !ok || fs.ID != "s1" {
				t.Errorf("sockets %v", m.Data)
			}
		}
	}
	if _, err := AppendClusterResponse(nil, "u", "/", &ClusterResponse{Type: ClusterBroadcast}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("a broadcast as response: %v", err)
	}
	if _, ok := ClusterResponsePacket([]byte("{nope")); ok {
		t.Error("packet of garbage")
	}
}
