package protocol

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"
)

// orderedJSONText writes ordered args as JSON (Object's MarshalJSON keeps
// the order).
func orderedJSONText(t *testing.T, args []any) string {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestArgsInOrder(t *testing.T) {
	arg := json.RawMessage(`{"z":1,"a":{"y":[{"k2":true,"k1":null}],"b":"x"},"m":2}`)
	const want = `[{"z":1,"a":{"y":[{"k2":true,"k1":null}],"b":"x"},"m":2},"tail"]`
	args := []any{arg, "tail"}
	binArgs := []any{arg, []byte{1}}
	type encoded struct {
		name   string
		body   []byte
		decode func([]byte) (*Message, error)
		want   string
	}
	var cases []encoded
	add := func(name string, body []byte, err error, decode func([]byte) (*Message, error), want string) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cases = append(cases, encoded{name, body, decode, want})
	}
	b, err := AppendClassicBroadcast(nil, EmitterUID, &Op{Nsp: "/", Event: "e", Args: args}, false)
	add("classic broadcast", b, err, DecodeClassicBroadcast, want)
	b, err = AppendClassicRequest(nil, EmitterUID, &Op{Kind: OpServerSideEmit, Nsp: "/", Event: "e", Args: args})
	add("classic serverSideEmit (JSON)", b, err, DecodeClassicRequest, want)
	b, err = AppendClassicRequest(nil, EmitterUID, &Op{Kind: OpServerSideEmit, Nsp: "/", Event: "e", Args: binArgs})
	add("classic serverSideEmit (msgpack)", b, err, DecodeClassicRequest, "")
	b, err = AppendClusterMessage(nil, EmitterUID, &Op{Nsp: "/", Event: "e", Args: args})
	add("cluster broadcast (JSON)", b, err, DecodeClusterMessage, want)
	b, err = AppendClusterMessage(nil, EmitterUID, &Op{Nsp: "/", Event: "e", Args: binArgs})
	add("cluster broadcast (msgpack)", b, err, DecodeClusterMessage, "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := c.decode(c.body)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := ArgsInOrder(m, c.body)
			if !ok {
				t.Fatal("arguments not found")
			}
			text := orderedJSONText(t, got[:1])
			if text != `[{"z":1,"a":{"y":[{"k2":true,"k1":null}],"b":"x"},"m":2}]` {
				t.Errorf("got %s", text)
			}
			if c.want != "" && orderedJSONText(t, got) != c.want {
				t.Errorf("got %s, want %s", orderedJSONText(t, got), c.want)
			}
		})
	}
	// Stream entries: JSON data, and base64 msgpack data.
	for _, bin := range []bool{false, true} {
		a := args
		if bin {
			a = binArgs
		}
		data, isBin, err := AppendStreamData(nil, &Op{Nsp: "/", Event: "e", Args: a})
		if err != nil || isBin != bin {
			t.Fatalf("stream data: %v %v", isBin, err)
		}
		field := string(data)
		if isBin {
			field = base64.StdEncoding.EncodeToString(data)
		}
		m, err := DecodeStreamEntry(map[string]any{"uid": "emitter", "nsp": "/", "type": "3", "data": field})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := ArgsInOrder(m, []byte(field))
		if !ok || orderedJSONText(t, got[:1]) != `[{"z":1,"a":{"y":[{"k2":true,"k1":null}],"b":"x"},"m":2}]` {
			t.Errorf("stream (binary %v): %v %v", bin, got, ok)
		}
	}
	// Nothing to find.
	if _, ok := ArgsInOrder(&Message{}, []byte("{}")); ok {
		t.Error("found arguments in a message without any")
	}
	if _, ok := ArgsInOrder(&Message{Event: "e", Args: []any{int64(1)}}, []byte("\xc1")); ok {
		t.Error("found arguments in malformed input")
	}
}

// FuzzArgsInOrder checks that re-decoding any decodable payload in order
// never panics and, when it finds the arguments, finds the same values.
func FuzzArgsInOrder(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, decode := range []func([]byte) (*Message, error){DecodeClassicBroadcast, DecodeClassicRequest, DecodeClusterMessage} {
			m, err := decode(data)
			if err != nil {
				continue
			}
			if got, ok := ArgsInOrder(m, data); ok && !reflect.DeepEqual(plain(got), m.Args) {
				t.Fatalf("ordered args %v differ from %v", got, m.Args)
			}
		}
	})
}
