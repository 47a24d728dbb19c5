package msgpackparser_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/jsvalue"
	"github.com/sioredis/sioredis/socketio"
	"github.com/sioredis/sioredis/socketio/msgpackparser"
)

// refPacket is what refDecode makes of a message: the decoder as it was before it wrote the payload's JSON
// straight from the msgpack (it built the value with DecodeNotepack2, made it what JSON.stringify sees, and wrote
// it), kept as the reference of the one-pass decoder.
type refPacket struct {
	typ   socketio.PacketType
	nsp   string
	id    int64
	event string
	args  []json.RawMessage
	bufs  [][]byte
	auth  []byte
}

func refDecode(b []byte) (refPacket, bool) {
	r := refPacket{id: socketio.NoAckID}
	v, err := jsvalue.DecodeNotepack2(b)
	if err != nil {
		return r, false
	}
	obj, _ := v.(jsvalue.Object)
	var typ, nsp, id, data any
	hasID, hasData := false, false
	for _, m := range obj {
		switch m.Key {
		case "type":
			typ = m.Value
		case "nsp":
			nsp = m.Value
		case "data":
			data, hasData = m.Value, true
		case "id":
			id, hasID = m.Value, true
		}
	}
	t, ok := refInteger(typ)
	if !ok || t < 0 || t > 4 {
		return r, false
	}
	r.typ = socketio.PacketType(t)
	if r.nsp, ok = nsp.(string); !ok {
		return r, false
	}
	if _, undef := data.(jsvalue.Undefined); undef {
		data, hasData = nil, false
	}
	if _, undef := id.(jsvalue.Undefined); hasID && !undef {
		if r.id, ok = refInteger(id); !ok || r.id < 0 || r.id > math.MaxInt32*2 {
			return r, false
		}
	}
	_, isObj := data.(jsvalue.Object)
	arr, isArr := data.([]any)
	switch r.typ {
	case socketio.PacketConnect:
		if !(data == nil && !hasData || isObj) {
			return r, false
		}
		if data != nil {
			raws, bufs, ok := refJSON([]any{data})
			if !ok || len(bufs) > 0 {
				return r, false
			}
			r.auth = raws[0]
		}
	case socketio.PacketDisconnect:
		if hasData {
			return r, false
		}
	case socketio.PacketConnectError:
		return r, false
	case socketio.PacketEvent:
		if !isArr || len(arr) == 0 {
			return r, false
		}
		if r.event, ok = arr[0].(string); !ok || siopacket.ValidateEvent(r.event) != nil {
			return r, false
		}
		if r.args, r.bufs, ok = refJSON(arr[1:]); !ok {
			return r, false
		}
	case socketio.PacketAck:
		if !isArr || r.id < 0 {
			return r, false
		}
		if r.args, r.bufs, ok = refJSON(arr); !ok {
			return r, false
		}
	}
	return r, true
}

func refInteger(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) && x >= -(1<<63) && x < 1<<63 {
			return int64(x), true
		}
	case uint64:
		return math.MaxInt64, true
	}
	return 0, false
}

func refJSON(vals []any) ([]json.RawMessage, [][]byte, bool) {
	for i, v := range vals {
		vals[i] = refPlain(v)
	}
	buf, bufs, err := siopacket.AppendAckData(nil, vals, nil)
	if err != nil {
		return nil, nil, false
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(buf, &raws); err != nil {
		return nil, nil, false
	}
	return raws, bufs, true
}

func refPlain(v any) any {
	switch x := v.(type) {
	case jsvalue.Undefined:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case jsvalue.Ext:
		return []any{int64(x.Type), x.Data}
	case []any:
		for i, e := range x {
			x[i] = refPlain(e)
		}
	case jsvalue.Object:
		out := x[:0]
		for _, m := range x {
			if _, undef := m.Value.(jsvalue.Undefined); undef {
				continue
			}
			m.Value = refPlain(m.Value)
			out = append(out, m)
		}
		return out
	}
	return v
}

// checkAsReference holds Decode to refDecode: the same packets accepted, with the same fields and the same JSON
// of each argument, and the same values decoded.
func checkAsReference(t *testing.T, b []byte) {
	t.Helper()
	want, ok := refDecode(bytes.Clone(b))
	p, err := msgpackparser.Decode(engineio.Message{Data: b, Binary: true})
	if ok != (err == nil) {
		t.Fatalf("%x: Decode %v, reference accepts: %v", b, err, ok)
	}
	if !ok {
		return
	}
	if p.Type != want.typ || p.Nsp != want.nsp || p.ID != want.id || p.Event != want.event || !bytes.Equal(p.Auth, want.auth) {
		t.Fatalf("%x: %+v, reference %+v", b, p, want)
	}
	if p.Args.Len() != len(want.args) {
		t.Fatalf("%x: %d arguments, reference %d", b, p.Args.Len(), len(want.args))
	}
	for i := range want.args {
		if !bytes.Equal(p.Args.Raw(i), want.args[i]) {
			t.Fatalf("%x: argument %d is %s, reference %s", b, i, p.Args.Raw(i), want.args[i])
		}
	}
	got, err := p.Args.Values()
	ref, rerr := socketio.NewArgs(want.args, want.bufs).Values()
	if (err == nil) != (rerr == nil) || !reflect.DeepEqual(got, ref) {
		t.Fatalf("%x: values %#v (%v), reference %#v (%v)", b, got, err, ref, rerr)
	}
}
