// Package eventargs holds the arguments of a received Socket.IO event or acknowledgement (List: their JSON, with the
// binary placeholders {"_placeholder":true,"num":N}, and the attachments the placeholders name) and decodes one of
// them, placeholders replaced by their attachments. socketio.Args (the server) and client.Args (the client) are
// both built on it.
package eventargs

import (
	"encoding/json"
	"fmt"
)

// Decode decodes raw into v as json.Unmarshal does, with attachments bufs: binary decodes into []byte (directly,
// as []byte fields and elements of the target, and as []byte values in an any). Placeholders nested deeper than
// maxDepth, or naming no attachment, are errors wrapping malformed.
func Decode(raw json.RawMessage, bufs [][]byte, v any, maxDepth int, malformed error) error {
	// An empty any (what Values decodes into) takes the fast path; a non-empty one may hold a pointer, which
	// json.Unmarshal decodes into.
	p, toAny := v.(*any)
	toAny = toAny && p != nil && *p == nil
	if len(bufs) == 0 && !toAny {
		return json.Unmarshal(raw, v)
	}
	tree, ok := parseAny(raw)
	if !ok {
		var t any // apart from tree, which would otherwise escape on every call
		if err := json.Unmarshal(raw, &t); err != nil {
			return err
		}
		tree = t
	}
	if len(bufs) == 0 {
		*p = tree
		return nil
	}
	tree, err := replacePlaceholders(tree, bufs, 0, maxDepth, malformed)
	if err != nil {
		return err
	}
	switch p := v.(type) {
	case *any:
		*p = tree
		return nil
	case *[]byte:
		if b, ok := tree.([]byte); ok {
			*p = b
			return nil
		}
	}
	// json.Marshal writes []byte as base64, which json.Unmarshal reads back into []byte.
	b, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func replacePlaceholders(v any, bufs [][]byte, depth, maxDepth int, malformed error) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deep", malformed)
	}
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			r, err := replacePlaceholders(e, bufs, depth+1, maxDepth, malformed)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	case map[string]any:
		if ph, ok := x["_placeholder"].(bool); ok && ph {
			num, ok := x["num"].(float64)
			if !ok || num < 0 || int(num) >= len(bufs) || float64(int(num)) != num {
				return nil, fmt.Errorf("%w: bad binary placeholder", malformed)
			}
			return bufs[int(num)], nil
		}
		for k, e := range x {
			r, err := replacePlaceholders(e, bufs, depth+1, maxDepth, malformed)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	}
	return v, nil
}
