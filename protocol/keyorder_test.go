package protocol

import (
	"encoding/base64"
	"encoding/json"
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

// Decoded messages keep the keys of the objects they carry in wire order, as a
// JavaScript receiver sees them, whatever the format and encoding.
func TestDecodedArgsKeepKeyOrder(t *testing.T) {
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
			got := m.Args
			if len(got) == 0 {
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
		got := m.Args
		if len(got) == 0 || orderedJSONText(t, got[:1]) != `[{"z":1,"a":{"y":[{"k2":true,"k1":null}],"b":"x"},"m":2}]` {
			t.Errorf("stream (binary %v): %v", bin, got)
		}
	}
}
