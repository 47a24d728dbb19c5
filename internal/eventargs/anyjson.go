package eventargs

import (
	"strconv"
	"unsafe"

	"github.com/sioredis/sioredis/internal/jsonstr"
)

// parseAny decodes data into the value json.Unmarshal gives an any: map[string]any, []any, string, float64,
// bool or nil, strings unquoted as encoding/json does (invalid UTF-8 and lone surrogates become U+FFFD). It
// reports false for anything else, JSON or not: invalid JSON, a number that does not fit a float64, nesting
// deeper than maxAnyDepth. The caller then asks encoding/json, whose answer (value or error) is the rule;
// FuzzParseAny holds the two to the same values. It exists for speed: one pass with no decoder state, 2.5×
// faster than json.Unmarshal on a small event (BenchmarkDecodeAny).
func parseAny(data []byte) (any, bool) {
	p := anyParser{data: data}
	p.space()
	v, ok := p.value(0)
	if !ok {
		return nil, false
	}
	p.space()
	return v, p.i == len(p.data)
}

// maxAnyDepth bounds the nesting parseAny follows; deeper values go to encoding/json (whose own bound is 10 000).
const maxAnyDepth = 1000

type anyParser struct {
	data []byte
	i    int
}

func (p *anyParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *anyParser) value(depth int) (any, bool) {
	if p.i >= len(p.data) {
		return nil, false
	}
	switch c := p.data[p.i]; c {
	case '{':
		return p.object(depth + 1)
	case '[':
		return p.array(depth + 1)
	case '"':
		s, ok := p.str()
		return s, ok
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	case 'n':
		return nil, p.literal("null")
	default:
		return p.number()
	}
}

func (p *anyParser) literal(word string) bool {
	if len(p.data)-p.i < len(word) || string(p.data[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

func (p *anyParser) object(depth int) (any, bool) {
	if depth > maxAnyDepth {
		return nil, false
	}
	p.i++ // '{'
	m := make(map[string]any)
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.space()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		m[k] = v
		if more, ok := p.more('}'); !ok {
			return nil, false
		} else if !more {
			return m, true
		}
	}
}

func (p *anyParser) array(depth int) (any, bool) {
	if depth > maxAnyDepth {
		return nil, false
	}
	p.i++ // '['
	a := make([]any, 0)
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return a, true
	}
	for {
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		if more, ok := p.more(']'); !ok {
			return nil, false
		} else if !more {
			return a, true
		}
	}
}

// more reads what follows a member or an element: a comma (more is true) or the closing character.
func (p *anyParser) more(closing byte) (more, ok bool) {
	p.space()
	if p.i >= len(p.data) {
		return false, false
	}
	switch p.data[p.i] {
	case ',':
		p.i++
		p.space()
		return true, true
	case closing:
		p.i++
		return false, true
	}
	return false, false
}

// number scans the JSON number grammar, then converts as encoding/json does (strconv.ParseFloat).
func (p *anyParser) number() (any, bool) {
	d, start := p.data, p.i
	i := start
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digits(d, i)
	default:
		return nil, false
	}
	if i < len(d) && d[i] == '.' {
		if i++; i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, false
		}
		i = digits(d, i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		if i++; i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, false
		}
		i = digits(d, i)
	}
	// ParseFloat keeps no reference to its argument once it returns (an error, which would, is dropped).
	f, err := strconv.ParseFloat(unsafe.String(&d[start], i-start), 64)
	if err != nil {
		return nil, false
	}
	p.i = i
	return f, true
}

func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// str reads the string at p.i (a '"').
func (p *anyParser) str() (string, bool) {
	s, next, bad := jsonstr.Unquote(p.data, p.i)
	if bad != "" {
		return "", false
	}
	p.i = next
	return s, true
}
