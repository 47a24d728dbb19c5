package protocol

import (
	"errors"
	"testing"
)

// decodeSeeds are real payloads: recorded from the Node libraries (docs:
// protocol notes §2 and appendix A) and written by our encoders.
func decodeSeeds(tb testing.TB) [][]byte {
	seeds := [][]byte{
		unhex("93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 ad 6d 79 5f 65 76 65 6e 74 5f 6e 61 6d 65 81 a3 66 6f 6f a3 62 61 72 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a8 72 6f 6f 6d 5f 37 37 37 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90"),
		unhex("93 a6 41 62 43 31 32 33 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f a5 77 6f 72 6c 64 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80"),
		unhex("93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 05 a4 64 61 74 61 92 a3 62 69 6e c4 03 01 02 03 a3 6e 73 70 a1 2f 82 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 80"),
		unhex("92 83 a4 74 79 70 65 02 a4 64 61 74 61 92 ac 63 68 61 74 20 6d 65 73 73 61 67 65 a9 73 75 63 68 20 64 61 74 61 a3 6e 73 70 a1 2f 82 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 81 a9 62 72 6f 61 64 63 61 73 74 c3"),
		unhex("84 a3 75 69 64 a7 65 6d 69 74 74 65 72 a3 6e 73 70 a1 2f a4 74 79 70 65 03 a4 64 61 74 61 82 a6 70 61 63 6b 65 74 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a3 62 69 6e c4 03 01 02 03 a3 6e 73 70 a1 2f a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90"),
		[]byte(`{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room3"]}`),
		[]byte(`{"uid":"emitter","type":6,"data":["hello","world",1,"2"]}`),
		[]byte(`{"requestId":"q1","sockets":[{"id":"s1","handshake":{},"rooms":["s1"],"data":{}}]}`),
		[]byte(`{"type":8,"requestId":"q6","clientCount":3}`),
		[]byte(`{"requestid":"q4","type":6,"sid":"s","close":true}`),
		[]byte(`{"uid":"emitter","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["my_event_name",{"foo":"bar"}],"nsp":"/"},"opts":{"rooms":["room_777"],"flags":{},"except":[]}}}`),
		[]byte(`{"uid":"emitter","nsp":"/","type":9,"data":{"packet":["hello","world"]}}`),
	}
	args := []any{"x", 1, 1.5, []byte{1, 2}, map[string]any{"a": []any{nil, true}}}
	for _, op := range []Op{
		{Kind: OpBroadcast, Nsp: "/", Rooms: []string{"r"}, Except: []string{"e"}, Flags: Flags{Volatile: true}, Event: "ev", Args: args},
		{Kind: OpSocketsJoin, Nsp: "/a", Rooms: []string{"r"}, JoinRooms: []string{"j"}},
		{Kind: OpDisconnectSockets, Nsp: "/", Close: true},
		{Kind: OpServerSideEmit, Nsp: "/", Event: "ev", Args: args},
	} {
		if op.Kind == OpBroadcast {
			for _, legacy := range []bool{false, true} {
				b, err := AppendClassicBroadcast(nil, EmitterUID, &op, legacy)
				if err != nil {
					tb.Fatal(err)
				}
				seeds = append(seeds, b)
			}
		} else {
			b, err := AppendClassicRequest(nil, EmitterUID, &op)
			if err != nil {
				tb.Fatal(err)
			}
			seeds = append(seeds, b)
		}
		b, err := AppendClusterMessage(nil, EmitterUID, &op)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// checkDecoded fails on an error that does not wrap ErrMalformed, and on a
// message without a valid kind.
func checkDecoded(t *testing.T, m *Message, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		if m != nil {
			t.Fatalf("message %+v returned with error %v", m, err)
		}
		return
	}
	if m == nil || m.Kind.String() == "" || m.Format.String() == "unknown" {
		t.Fatalf("bad message %+v", m)
	}
}

func FuzzDecodeClassicBroadcast(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeClassicBroadcast(data)
		checkDecoded(t, m, err)
	})
}

func FuzzDecodeClassicRequest(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeClassicRequest(data)
		checkDecoded(t, m, err)
	})
}

func FuzzDecodeClassicResponse(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeClassicResponse(data)
		checkDecoded(t, m, err)
	})
}

func FuzzDecodeClusterMessage(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeClusterMessage(data)
		checkDecoded(t, m, err)
	})
}

func FuzzDecodePubSub(f *testing.F) {
	channels := []string{"socket.io#/#", "socket.io#/#room_777#", "socket.io-request#/#", "socket.io-response#/#u#", "socket.io#emitter"}
	for i, s := range decodeSeeds(f) {
		f.Add(channels[i%len(channels)], i%3 == 0, s)
	}
	f.Fuzz(func(t *testing.T, channel string, sharded bool, data []byte) {
		decode := DecodePubSub
		if sharded {
			decode = DecodeSharded
		}
		m, err := decode(DefaultPrefix, channel, data)
		checkDecoded(t, m, err)
	})
}

func FuzzDecodeStreamEntry(f *testing.F) {
	f.Add("emitter", "/", "3", `{"packet":{"type":2,"data":["my_event_name",{"foo":"bar"}],"nsp":"/"},"opts":{"rooms":["room_777"],"flags":{},"except":[]}}`)
	f.Add("emitter", "/", "3", "gqZwYWNrZXSDpHR5cGUCpGRhdGGSo2JpbsQDAQIDo25zcKEvpG9wdHODpXJvb21zkKVmbGFnc4CmZXhjZXB0kA==")
	f.Add("x", "/admin", "9", `{"packet":["e",1]}`)
	f.Add("x", "/", "2", "")
	f.Fuzz(func(t *testing.T, uid, nsp, typ, data string) {
		fields := map[string]any{"uid": uid, "nsp": nsp, "type": typ}
		if data != "" {
			fields["data"] = data
		}
		m, err := DecodeStreamEntry(fields)
		checkDecoded(t, m, err)
	})
}
