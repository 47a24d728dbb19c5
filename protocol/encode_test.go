package protocol

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/sioredis/sioredis/jsvalue"
)

// Byte dumps recorded from the official Node libraries (notepack.io 3,
// @socket.io/redis-emitter 5.1, socket.io-emitter 3.1.2, the sharded and
// streams adapters); see ../shared/docs/socketio-redis-protocol.md §2.
func TestMessagesMatchRecordedDumps(t *testing.T) {
	fooBar := map[string]any{"foo": "bar"}
	tests := []struct {
		name string
		enc  func() ([]byte, error)
		want string
	}{
		{"classic to one room", func() ([]byte, error) {
			return AppendClassicBroadcast(nil, EmitterUID, &Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{fooBar}}, false)
		}, "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 ad 6d 79 5f 65 76 65 6e 74 5f 6e 61 6d 65 81 a3 66 6f 6f a3 62 61 72 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a8 72 6f 6f 6d 5f 37 37 37 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90"},
		{"classic to all", func() ([]byte, error) {
			return AppendClassicBroadcast(nil, EmitterUID, &Op{Nsp: "/", Event: "hello", Args: []any{"world"}}, false)
		}, "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f a5 77 6f 72 6c 64 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90"},
		{"classic except volatile compress", func() ([]byte, error) {
			return AppendClassicBroadcast(nil, EmitterUID, &Op{Nsp: "/admin", Except: []string{"r1"}, Flags: Flags{Volatile: true, Compress: CompressFalse}, Event: "x", Args: []any{1}}, false)
		}, "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a1 78 01 a3 6e 73 70 a6 2f 61 64 6d 69 6e 83 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 82 a8 76 6f 6c 61 74 69 6c 65 c3 a8 63 6f 6d 70 72 65 73 73 c2 a6 65 78 63 65 70 74 91 a2 72 31"},
		{"legacy binary is type 5", func() ([]byte, error) {
			return AppendClassicBroadcast(nil, EmitterUID, &Op{Nsp: "/", Event: "bin", Args: []any{[]byte{1, 2, 3}}}, true)
		}, "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 05 a4 64 61 74 61 92 a3 62 69 6e c4 03 01 02 03 a3 6e 73 70 a1 2f 82 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 80"},
		{"sharded binary broadcast is msgpack", func() ([]byte, error) {
			return AppendClusterMessage(nil, EmitterUID, &Op{Nsp: "/", Event: "bin", Args: []any{[]byte{1, 2, 3}}})
		}, "84 a3 75 69 64 a7 65 6d 69 74 74 65 72 a3 6e 73 70 a1 2f a4 74 79 70 65 03 a4 64 61 74 61 82 a6 70 61 63 6b 65 74 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a3 62 69 6e c4 03 01 02 03 a3 6e 73 70 a1 2f a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.enc()
			if err != nil {
				t.Fatal(err)
			}
			if want := hex.EncodeToString(unhex(tt.want)); hex.EncodeToString(got) != want {
				t.Fatalf("got  %x\nwant %s", got, want)
			}
		})
	}
}

func TestJSONMessages(t *testing.T) {
	fooBar := map[string]any{"foo": "bar"}
	tests := []struct {
		name string
		enc  func() ([]byte, error)
		want string
	}{
		{"classic socketsJoin", func() ([]byte, error) {
			return AppendClassicRequest(nil, EmitterUID, &Op{Kind: OpSocketsJoin, Nsp: "/", Rooms: []string{"room1"}, JoinRooms: []string{"room3"}})
		}, `{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room3"]}`},
		{"classic socketsLeave", func() ([]byte, error) {
			return AppendClassicRequest(nil, EmitterUID, &Op{Kind: OpSocketsLeave, Nsp: "/", Except: []string{"r9"}, JoinRooms: []string{"room1"}})
		}, `{"type":3,"opts":{"rooms":[],"except":["r9"]},"rooms":["room1"]}`},
		{"classic disconnectSockets", func() ([]byte, error) {
			return AppendClassicRequest(nil, EmitterUID, &Op{Kind: OpDisconnectSockets, Nsp: "/", Rooms: []string{"room2"}, Close: true})
		}, `{"type":4,"opts":{"rooms":["room2"],"except":[]},"close":true}`},
		{"classic serverSideEmit", func() ([]byte, error) {
			return AppendClassicRequest(nil, EmitterUID, &Op{Kind: OpServerSideEmit, Nsp: "/", Event: "hello", Args: []any{"world", 1, "2"}})
		}, `{"uid":"emitter","type":6,"data":["hello","world",1,"2"]}`},
		{"cluster broadcast", func() ([]byte, error) {
			return AppendClusterMessage(nil, EmitterUID, &Op{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{fooBar}})
		}, `{"uid":"emitter","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["my_event_name",{"foo":"bar"}],"nsp":"/"},"opts":{"rooms":["room_777"],"except":[],"flags":{}}}}`},
		{"cluster join", func() ([]byte, error) {
			return AppendClusterMessage(nil, EmitterUID, &Op{Kind: OpSocketsJoin, Nsp: "/", Rooms: []string{"room1"}, JoinRooms: []string{"room3"}})
		}, `{"uid":"emitter","nsp":"/","type":4,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"rooms":["room3"]}}`},
		{"cluster disconnect", func() ([]byte, error) {
			return AppendClusterMessage(nil, EmitterUID, &Op{Kind: OpDisconnectSockets, Nsp: "/"})
		}, `{"uid":"emitter","nsp":"/","type":6,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"close":false}}`},
		{"cluster serverSideEmit", func() ([]byte, error) {
			return AppendClusterMessage(nil, EmitterUID, &Op{Kind: OpServerSideEmit, Nsp: "/", Event: "hello", Args: []any{"world"}})
		}, `{"uid":"emitter","nsp":"/","type":9,"data":{"packet":["hello","world"]}}`},
		{"stream data", func() ([]byte, error) {
			b, bin, err := AppendStreamData(nil, &Op{Nsp: "/", Rooms: []string{"room_777"}, Flags: Flags{Volatile: true}, Event: "e", Args: []any{1}})
			if bin {
				t.Error("binary reported for a JSON entry")
			}
			return b, err
		}, `{"packet":{"type":2,"data":["e",1],"nsp":"/"},"opts":{"rooms":["room_777"],"except":[],"flags":{"volatile":true}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.enc()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestStreamBinaryData(t *testing.T) {
	// The streams adapter's own output for a binary broadcast (base64 of
	// @msgpack/msgpack), with the opts order of a v4 server.
	b, bin, err := AppendStreamData(nil, &Op{Nsp: "/", Event: "bin", Args: []any{[]byte{1, 2, 3}}})
	if err != nil || !bin {
		t.Fatalf("binary=%v err=%v", bin, err)
	}
	got := base64.StdEncoding.EncodeToString(b)
	want := "gqZwYWNrZXSDpHR5cGUCpGRhdGGSo2JpbsQDAQIDo25zcKEvpG9wdHODpXJvb21zkKZleGNlcHSQpWZsYWdzgA=="
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestClassicServerSideEmitWithBinaryIsMsgpack(t *testing.T) {
	b, err := AppendClassicRequest(nil, EmitterUID, &Op{Kind: OpServerSideEmit, Nsp: "/", Event: "e", Args: []any{[]byte{9}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "83a3756964a7656d6974746572a47479706506a4646174619 2a165c40109"
	if hex.EncodeToString(b) != hex.EncodeToString(unhex(want)) {
		t.Fatalf("got %x", b)
	}
}

func TestAttachmentLimit(t *testing.T) {
	args := make([]any, 11)
	for i := range args {
		args[i] = []byte{byte(i)}
	}
	op := &Op{Nsp: "/", Event: "e", Args: args, MaxAttachments: 10}
	for name, enc := range map[string]func() error{
		"classic": func() error { _, err := AppendClassicBroadcast(nil, EmitterUID, op, false); return err },
		"cluster": func() error { _, err := AppendClusterMessage(nil, EmitterUID, op); return err },
		"stream":  func() error { _, _, err := AppendStreamData(nil, op); return err },
	} {
		if err := enc(); !errors.Is(err, ErrTooManyAttachments) {
			t.Errorf("%s: got %v, want ErrTooManyAttachments", name, err)
		}
	}
	op.Args = args[:10]
	if _, err := AppendClassicBroadcast(nil, EmitterUID, op, false); err != nil {
		t.Fatalf("10 attachments: %v", err)
	}
}

func TestErrorLeavesBufferUnchanged(t *testing.T) {
	dst := []byte("prefix")
	out, err := AppendClassicBroadcast(dst, EmitterUID, &Op{Nsp: "/", Event: "e", Args: []any{1, make(chan int)}}, false)
	if !errors.Is(err, ErrUnsupportedValue) || string(out) != "prefix" {
		t.Fatalf("got %q, %v", out, err)
	}
}

func TestChannels(t *testing.T) {
	tests := []struct{ got, want string }{
		{BroadcastChannel("socket.io", "/", nil), "socket.io#/#"},
		{BroadcastChannel("socket.io", "/", []string{"room_777"}), "socket.io#/#room_777#"},
		{BroadcastChannel("socket.io", "/admin", []string{"a", "b"}), "socket.io#/admin#"},
		{RequestChannel("socket.io", "/"), "socket.io-request#/#"},
		{ResponseChannel("p", "/x"), "p-response#/x#"},
		{BroadcastPattern("socket.io", "/"), "socket.io#/#*"},
		{ShardedBroadcastChannel("socket.io", "/", ShardedStatic, []string{"r"}), "socket.io#/#"},
		{ShardedBroadcastChannel("socket.io", "/", ShardedDynamic, []string{"r"}), "socket.io#/#r#"},
		{ShardedBroadcastChannel("socket.io", "/", ShardedDynamic, []string{"abcdefghijklmnopqrst"}), "socket.io#/#"},
		{ShardedBroadcastChannel("socket.io", "/", ShardedDynamicPrivate, []string{"abcdefghijklmnopqrst"}), "socket.io#/#abcdefghijklmnopqrst#"},
		{ShardedChannel("socket.io", "/"), "socket.io#/#"},
		{ShardedBroadcastChannel("socket.io", "/", ShardedDynamic, []string{"r", "s"}), "socket.io#/#"},
		{StreamKey("socket.io", "/", 1), "socket.io"},
		{StreamKey("socket.io", "/", 4), "socket.io-3"},
		{StreamKey("socket.io", "/admin", 4), "socket.io-0"},
		{StreamKey("socket.io", "/a-very-long-namespace-name-xyz", 4), "socket.io--2"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
	b, q, r := ClassicPatterns("socket.io", "")
	if b != "socket.io#*" || q != "socket.io-request#*" || r != "socket.io-response#*" {
		t.Errorf("ClassicPatterns: %q %q %q", b, q, r)
	}
	b, q, r = ClassicPatterns("p", "/admin")
	if b != "p#/admin#*" || q != "p-request#/admin#*" || r != "p-response#/admin#*" {
		t.Errorf("ClassicPatterns /admin: %q %q %q", b, q, r)
	}
	if got := strings.Join(StreamKeys("s", 3), ","); got != "s--2,s--1,s-0,s-1,s-2" {
		t.Errorf("StreamKeys: %s", got)
	}
	if got := strings.Join(StreamKeys("s", 1), ","); got != "s" {
		t.Errorf("StreamKeys 1: %s", got)
	}
}

func TestValidation(t *testing.T) {
	for _, nsp := range []string{"", "/a*", "/a?", "/[a]", `/a\b`} {
		if _, err := NormalizeNamespace(nsp); !errors.Is(err, ErrInvalidNamespace) {
			t.Errorf("namespace %q: got %v", nsp, err)
		}
	}
	if n, err := NormalizeNamespace("admin"); err != nil || n != "/admin" {
		t.Errorf("admin: %q %v", n, err)
	}
	if err := ValidatePrefix("a*"); !errors.Is(err, ErrInvalidPrefix) {
		t.Errorf("prefix: %v", err)
	}
}

// A codec that encodes ClassicBroadcastValue as notepack does gives the
// bytes of AppendClassicBroadcast: the value is the same message.
func TestClassicBroadcastValueIsTheSameMessage(t *testing.T) {
	ops := []*Op{
		{Nsp: "/", Rooms: []string{"room_777"}, Event: "my_event_name", Args: []any{map[string]any{"foo": "bar"}}},
		{Nsp: "/admin", Except: []string{"r1"}, Flags: Flags{Volatile: true, Compress: CompressFalse}, Event: "x", Args: []any{1, []byte{1}}},
		{Nsp: "/", Flags: Flags{Volatile: true, Compress: CompressTrue, CompressFirst: true}, Event: "y"},
	}
	for i, op := range ops {
		want, err := AppendClassicBroadcast(nil, EmitterUID, op, false)
		if err != nil {
			t.Fatal(err)
		}
		w := jsvalue.MsgpackWriter(nil)
		if err := w.Value(ClassicBroadcastValue(EmitterUID, op)); err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(w.Bytes()) != hex.EncodeToString(want) {
			t.Errorf("op %d:\n got %x\nwant %x", i, w.Bytes(), want)
		}
	}
}
