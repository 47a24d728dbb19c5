// Package msgpackpacket reads the packets of socket.io-msgpack-parser 3 (a msgpack map {type, data, nsp, id} as
// notepack.io 2 writes it) with the checks of that parser's decoder, and turns their values into the JSON, binary
// as placeholders, that socketio.Args and client.Args hold. socketio/msgpackparser (the server) and package
// client share it.
package msgpackpacket

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/sioredis/sioredis/internal/siopacket"
	"github.com/sioredis/sioredis/jsvalue"
)

// ErrBad is wrapped by every error of Decode and ToJSON.
var ErrBad = errors.New("msgpack parser")

// Packet is a decoded packet, checked as socket.io-msgpack-parser's Decoder checks it.
type Packet struct {
	Type int
	Nsp  string
	// ID is the ack id; HasID says whether there is one (it may be negative: the parser accepts any integer).
	ID    int64
	HasID bool
	// Data is the payload (jsvalue.Object, []any or string), nil when absent or undefined.
	Data any
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBad}, args...)...)
}

// Decode decodes one binary message: an integer type from 0 to 4, a string namespace, a payload of the type's
// shape (CONNECT: none or an object; DISCONNECT: none; CONNECT_ERROR: a string or an object; EVENT, ACK: an
// array), an integer id or none.
func Decode(b []byte) (Packet, error) {
	var p Packet
	v, err := jsvalue.DecodeNotepack2(b)
	if err != nil {
		return p, bad("%w", err)
	}
	obj, _ := v.(jsvalue.Object)
	var typ, nsp, id any
	hasID := false
	for _, m := range obj {
		switch m.Key {
		case "type":
			typ = m.Value
		case "nsp":
			nsp = m.Value
		case "data":
			p.Data = m.Value
		case "id":
			id, hasID = m.Value, true
		}
	}
	t, ok := integer(typ)
	if !ok || t < 0 || t > 4 {
		return p, bad("invalid packet type")
	}
	p.Type = int(t)
	if p.Nsp, ok = nsp.(string); !ok {
		return p, bad("invalid namespace")
	}
	if _, undef := p.Data.(jsvalue.Undefined); undef {
		p.Data = nil
	}
	if _, undef := id.(jsvalue.Undefined); hasID && !undef {
		if p.ID, ok = integer(id); !ok {
			return p, bad("invalid packet id")
		}
		p.HasID = true
	}
	valid := false
	switch p.Type {
	case 0:
		_, isObj := p.Data.(jsvalue.Object)
		valid = p.Data == nil && !hasKeyData(obj) || isObj
	case 1:
		valid = !hasKeyData(obj)
	case 4:
		_, isObj := p.Data.(jsvalue.Object)
		_, isStr := p.Data.(string)
		valid = isObj || isStr
	default:
		_, valid = p.Data.([]any)
	}
	if !valid {
		return p, bad("invalid payload")
	}
	return p, nil
}

// hasKeyData reports whether o has a "data" key whose value is not undefined (null is no object).
func hasKeyData(o jsvalue.Object) bool {
	for _, m := range o {
		if m.Key == "data" {
			_, undef := m.Value.(jsvalue.Undefined)
			return !undef
		}
	}
	return false
}

// integer returns v as an integer when it is one: JavaScript's Number.isInteger.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) && x >= -(1<<63) && x < 1<<63 {
			return int64(x), true
		}
	case uint64:
		return math.MaxInt64, true // an integer, too large for any field
	}
	return 0, false
}

// ToJSON returns the JSON of each value as JSON.stringify writes what notepack 2 decodes (binary as
// placeholders numbering bufs, undefined as null in arrays and absent in objects, NaN and infinities as null,
// another extension (type T, data D) as [T, D]). The values are changed in place.
func ToJSON(vals []any) ([]json.RawMessage, [][]byte, error) {
	for i, v := range vals {
		vals[i] = plain(v)
	}
	buf, bufs, err := siopacket.AppendAckData(nil, vals, nil)
	if err != nil {
		return nil, nil, bad("%w", err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(buf, &raws); err != nil {
		return nil, nil, bad("%w", err)
	}
	return raws, bufs, nil
}

func plain(v any) any {
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
			x[i] = plain(e)
		}
	case jsvalue.Object:
		out := x[:0]
		for _, m := range x {
			if _, undef := m.Value.(jsvalue.Undefined); undef {
				continue // JSON.stringify leaves undefined properties out
			}
			m.Value = plain(m.Value)
			out = append(out, m)
		}
		return out
	}
	return v
}
