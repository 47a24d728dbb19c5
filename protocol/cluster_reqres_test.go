package protocol

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sioredis/sioredis/jsvalue"
)

// Each ClusterAdapter request and response decodes back (DecodeClusterMessage) to what was written, in both
// encodings.
func TestClusterReqResRoundTrip(t *testing.T) {
	op := &Op{Kind: OpBroadcast, Nsp: "/chat", Rooms: []string{"r1"}, Except: []string{"x"}, Event: "ev", Args: []any{"a", int64(1)}}
	bin := &Op{Kind: OpServerSideEmit, Nsp: "/chat", Event: "ev", Args: []any{[]byte{1, 2}}}
	for _, enc := range []ClusterEncoding{ClusterJSONUnlessBinary, ClusterMsgpack} {
		type tc struct {
			name string
			body []byte
			err  error
			want func(m *Message) bool
		}
		var cases []tc
		add := func(name string, body []byte, err error, want func(m *Message) bool) {
			cases = append(cases, tc{name, body, err, want})
		}
		b, err := AppendClusterBroadcastWithAck(nil, enc, "u1", "req1", op)
		add("broadcast with ack", b, err, func(m *Message) bool {
			return m.Kind == KindBroadcastWithAck && m.RequestID == "req1" && m.Event == "ev" &&
				reflect.DeepEqual(m.Rooms, []string{"r1"}) && reflect.DeepEqual(m.Except, []string{"x"}) && len(m.Args) == 2
		})
		b, err = AppendClusterServerSideEmitWithAck(nil, enc, "u1", "req2", bin)
		add("server-side emit with ack, binary", b, err, func(m *Message) bool {
			return m.Kind == KindServerSideEmit && m.RequestID == "req2" && reflect.DeepEqual(m.Args, []any{[]byte{1, 2}})
		})
		b, err = AppendClusterServerSideEmit(nil, enc, "u1", &Op{Kind: OpServerSideEmit, Nsp: "/chat", Event: "hi"})
		add("server-side emit", b, err, func(m *Message) bool { return m.Kind == KindServerSideEmit && m.RequestID == "" && m.Event == "hi" })
		b, err = AppendClusterFetchSockets(nil, enc, "u1", "/chat", "req3", []string{"r"}, nil)
		add("fetch sockets", b, err, func(m *Message) bool {
			return m.Kind == KindFetchSockets && m.RequestID == "req3" && reflect.DeepEqual(m.Rooms, []string{"r"})
		})
		b, err = AppendClusterFetchSocketsResponse(nil, enc, "u2", "/chat", "req3", []FetchedSocket{{ID: "s1", Rooms: []string{"s1", "r"}, Data: "d"}})
		add("fetch sockets response", b, err, func(m *Message) bool {
			list, _ := m.Data.([]any)
			if m.Kind != KindFetchSocketsResponse || m.RequestID != "req3" || len(list) != 1 {
				return false
			}
			fs, ok := FetchedSocketOf(list[0])
			return ok && fs.ID == "s1" && fs.Data == "d"
		})
		b, err = AppendClusterPacketResponse(nil, enc, "u2", "/chat", ClusterServerSideEmitResponse, "req2", []any{"answer"})
		add("server-side emit response", b, err, func(m *Message) bool {
			return m.Kind == KindServerSideEmitResponse && m.RequestID == "req2" && m.Data == "answer"
		})
		b, err = AppendClusterPacketResponse(nil, enc, "u2", "/chat", ClusterBroadcastAck, "req1", []any{[]byte{7}})
		add("broadcast ack, binary", b, err, func(m *Message) bool {
			return m.Kind == KindBroadcastAck && m.RequestID == "req1" && reflect.DeepEqual(m.Args, []any{[]byte{7}})
		})
		b, err = AppendClusterClientCount(nil, enc, "u2", "/chat", "req1", 3)
		add("client count", b, err, func(m *Message) bool {
			return m.Kind == KindBroadcastClientCount && m.RequestID == "req1" && m.Data == int64(3)
		})
		for _, c := range cases {
			if c.err != nil {
				t.Fatalf("%v %s: %v", enc, c.name, c.err)
			}
			if enc == ClusterMsgpack && len(c.body) > 0 && c.body[0] == '{' {
				t.Errorf("%s: JSON with ClusterMsgpack", c.name)
			}
			m, err := DecodeClusterMessage(c.body)
			if err != nil {
				t.Fatalf("%v %s: %v", enc, c.name, err)
			}
			if m.UID == "" || m.Nsp != "/chat" || !c.want(m) {
				t.Errorf("%v %s: decoded %+v", enc, c.name, m)
			}
		}
	}
}

// The JSON the sharded adapter reads, exactly (key order aside from Node's, which JSON.parse ignores), and the
// refusals.
func TestClusterReqResJSON(t *testing.T) {
	const enc = ClusterJSONUnlessBinary
	b, err := AppendClusterFetchSockets(nil, enc, "u", "/", "r3", []string{"a"}, []string{"b"})
	if want := `{"uid":"u","nsp":"/","type":7,"data":{"opts":{"rooms":["a"],"except":["b"],"flags":{}},"requestId":"r3"}}`; err != nil || string(b) != want {
		t.Errorf("fetchSockets\n%s %v\nwant\n%s", b, err, want)
	}
	b, err = AppendClusterClientCount(nil, enc, "u", "/", "r", 3)
	if want := `{"uid":"u","nsp":"/","type":11,"data":{"requestId":"r","clientCount":3}}`; err != nil || string(b) != want {
		t.Errorf("client count\n%s %v\nwant\n%s", b, err, want)
	}
	b, err = AppendClusterPacketResponse(nil, enc, "u", "/", ClusterBroadcastAck, "r", []any{jsvalue.Object{{Key: "z", Value: 1}, {Key: "a", Value: 2}}})
	if want := `{"uid":"u","nsp":"/","type":12,"data":{"requestId":"r","packet":{"z":1,"a":2}}}`; err != nil || string(b) != want {
		t.Errorf("broadcast ack\n%s %v\nwant\n%s", b, err, want)
	}
	if m, err := DecodeClusterMessage(b); err != nil || m.Kind != KindBroadcastAck {
		t.Errorf("broadcast ack decoded: %+v %v", m, err)
	} else if v, ok := m.Data.(jsvalue.Object); !ok || v[0].Key != "z" {
		t.Errorf("packet %#v: want the object with its key order", m.Data)
	}
	b, err = AppendClusterPacketResponse(nil, enc, "u", "/", ClusterServerSideEmitResponse, "r", nil)
	if want := `{"uid":"u","nsp":"/","type":10,"data":{"requestId":"r"}}`; err != nil || string(b) != want {
		t.Errorf("answer without a value\n%s %v\nwant\n%s", b, err, want)
	}
	if m, err := DecodeClusterMessage(b); err != nil || m.Kind != KindServerSideEmitResponse || m.Args != nil || m.Data != nil {
		t.Errorf("an answer without a value decoded as %+v %v", m, err)
	}
	op := &Op{Kind: OpServerSideEmit, Nsp: "/", Event: "e"}
	if _, err := AppendClusterServerSideEmitWithAck(nil, enc, "u", "", op); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("no request id: %v", err)
	}
	if _, err := AppendClusterBroadcastWithAck(nil, enc, "u", "", &Op{Kind: OpBroadcast, Nsp: "/", Event: "e"}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("no request id: %v", err)
	}
}

// A session as the streams adapter keeps it decodes back; garbage is refused.
func TestStreamSessionRoundTrip(t *testing.T) {
	in := StreamSession{SID: "s1", PID: "p1", Rooms: []string{"s1", "r"}, Data: jsvalue.Object{{Key: "user", Value: "ann"}}}
	v, err := AppendStreamSession(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeStreamSession(v)
	if err != nil || out.SID != "s1" || out.PID != "p1" || !reflect.DeepEqual(out.Rooms, in.Rooms) ||
		!reflect.DeepEqual(out.Data, map[string]any{"user": "ann"}) {
		t.Errorf("decoded %+v, %v", out, err)
	}
	for _, bad := range []string{"", "!!", "kQ==" /* [nil] */} {
		if _, err := DecodeStreamSession(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeStreamSession(%q): %v, want ErrMalformed", bad, err)
		}
	}
	if got := StreamEntry("u", "/", 3, ""); len(got) != 6 {
		t.Errorf("entry without data: %v", got)
	}
	if got := StreamData([]byte{0x81}); got != "gQ==" {
		t.Errorf("msgpack data: %q, want base64", got)
	}
}
