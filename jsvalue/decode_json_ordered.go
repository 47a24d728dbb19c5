package jsvalue

import (
	"strconv"
)

// DecodeJSONOrdered decodes exactly one JSON value like DecodeJSON, except
// that objects are Object values whose keys keep their order (a duplicate
// key keeps its first place and takes the last value, as in JavaScript).
// Errors wrap ErrMalformed.
//
// It reads the text in one pass with the parser of Writer.RawJSON, building
// the values as it goes: the Redis adapters' JSON messages are decoded with
// it.
func DecodeJSONOrdered(b []byte) (any, error) {
	p := jsonParser{data: b, decoding: true}
	p.skipSpace()
	v, err := p.build(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.fail("data after the value")
	}
	return v, nil
}

// build returns the value at p.pos: nil, bool, int64 (integral numbers that
// fit), uint64, float64, string, []any or Object.
func (p *jsonParser) build(depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, p.fail("nested too deep")
	}
	if p.pos >= len(p.data) {
		return nil, p.fail("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.buildObject(depth)
	case c == '[':
		return p.buildArray(depth)
	case c == '"':
		return p.str()
	case c == 't':
		if p.literal("true") {
			return true, nil
		}
	case c == 'f':
		if p.literal("false") {
			return false, nil
		}
	case c == 'n':
		if p.literal("null") {
			return nil, nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.buildNumber()
	}
	return nil, p.fail("unexpected character")
}

func (p *jsonParser) buildNumber() (any, error) {
	text, isInt, err := p.scanNumber()
	if err != nil {
		return nil, err
	}
	if isInt {
		if i, err := strconv.ParseInt(string(text), 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(string(text), 10, 64); err == nil {
			return u, nil
		}
	}
	// The syntax is checked: only range errors remain, ±Inf beyond the
	// float64 range as JSON.parse gives Infinity, 0 below it.
	f, _ := strconv.ParseFloat(string(text), 64)
	return f, nil
}

func (p *jsonParser) buildObject(depth int) (any, error) {
	p.pos++ // {
	o := objectBuilder{o: Object{}}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return o.o, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.fail("expected a string key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.fail("expected ':'")
		}
		p.pos++
		p.skipSpace()
		v, err := p.build(depth + 1)
		if err != nil {
			return nil, err
		}
		o.set(k, v)
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return o.o, nil
		}
		return nil, p.fail("expected ',' or '}'")
	}
}

func (p *jsonParser) buildArray(depth int) (any, error) {
	p.pos++ // [
	list := []any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return list, nil
	}
	for {
		p.skipSpace()
		v, err := p.build(depth + 1)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return list, nil
		}
		return nil, p.fail("expected ',' or ']'")
	}
}
