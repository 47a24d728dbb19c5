package jsvalue

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sioredis/sioredis/internal/jsonstr"
)

// rawJSON writes JSON text (a json.RawMessage or a MarshalJSON result) as the
// value JSON.parse would produce: object key order is kept, numbers follow
// the JavaScript number rules, strings are unescaped. It accepts exactly one
// JSON value surrounded by optional white space.
func (w *Writer) rawJSON(data []byte, depth int) error {
	p := jsonParser{data: data, w: w}
	p.skipSpace()
	if err := p.value(depth); err != nil {
		return err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return p.fail("trailing data")
	}
	return nil
}

// jsonParser reads JSON text, either into a Writer (rawJSON) or into values
// (decodeJSONOrdered); the syntax, the strings and the numbers are read by the
// same code for both.
type jsonParser struct {
	data []byte
	pos  int
	w    *Writer
	// decoding selects the sentinel of the parser's errors: ErrMalformed for
	// a decoder's input, ErrUnsupportedValue for JSON inside a value being
	// encoded. (A flag, not the error itself: a pointer field read for an
	// error would make the escape analysis move the caller's Writer to the
	// heap.)
	decoding bool
}

func (p *jsonParser) fail(what string) error {
	bad := ErrUnsupportedValue
	if p.decoding {
		bad = ErrMalformed
	}
	return errorf(bad, "invalid JSON at offset %d: %s", p.pos, what)
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) literal(lit string) bool {
	if len(p.data)-p.pos >= len(lit) && string(p.data[p.pos:p.pos+len(lit)]) == lit {
		p.pos += len(lit)
		return true
	}
	return false
}

func (p *jsonParser) value(depth int) error {
	if depth >= MaxDepth {
		return errDepth()
	}
	if p.pos >= len(p.data) {
		return p.fail("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		start := p.pos
		s, escaped, err := p.strEscaped()
		if err != nil {
			return err
		}
		if escaped && p.w.json && hasLoneSurrogate(p.data[start:p.pos]) {
			p.w.sep()
			p.w.buf = appendKeepingSurrogates(p.w.buf, p.data[start:p.pos])
			p.w.needComma = true
			return nil
		}
		p.w.Str(s)
		return nil
	case c == 't':
		if p.literal("true") {
			p.w.Bool(true)
			return nil
		}
	case c == 'f':
		if p.literal("false") {
			p.w.Bool(false)
			return nil
		}
	case c == 'n':
		if p.literal("null") {
			p.w.Null()
			return nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return p.fail("unexpected character")
}

func (p *jsonParser) object(depth int) error {
	p.pos++ // {
	start := len(p.w.buf)
	if p.w.json {
		p.w.BeginObject(0)
	}
	n := 0
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
	} else {
		for {
			p.skipSpace()
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return p.fail("expected a string key")
			}
			keyStart := p.pos
			k, escaped, err := p.strEscaped()
			if err != nil {
				return err
			}
			key := p.data[keyStart:p.pos]
			p.skipSpace()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return p.fail("expected ':'")
			}
			p.pos++
			p.skipSpace()
			if escaped && p.w.json && hasLoneSurrogate(key) {
				p.w.sep()
				p.w.buf = append(appendKeepingSurrogates(p.w.buf, key), ':')
				p.w.needComma = false
			} else {
				p.w.Key(k)
			}
			if err := p.value(depth + 1); err != nil {
				return err
			}
			n++
			p.skipSpace()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == '}' {
				p.pos++
				break
			}
			return p.fail("expected ',' or '}'")
		}
	}
	if p.w.json {
		p.w.EndObject()
		return nil
	}
	// JSON.parse keeps the last of duplicate keys; a msgpack map with
	// duplicates decodes the same way in notepack, so nothing to do here.
	var hdr [5]byte
	p.w.buf = insertHeader(p.w.buf, start, appendMapHeader(hdr[:0], n))
	return nil
}

func (p *jsonParser) array(depth int) error {
	p.pos++ // [
	start := len(p.w.buf)
	if p.w.json {
		p.w.BeginArray(0)
	}
	n := 0
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
	} else {
		for {
			p.skipSpace()
			if err := p.value(depth + 1); err != nil {
				return err
			}
			n++
			p.skipSpace()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == ']' {
				p.pos++
				break
			}
			return p.fail("expected ',' or ']'")
		}
	}
	if p.w.json {
		p.w.EndArray()
		return nil
	}
	var hdr [5]byte
	p.w.buf = insertHeader(p.w.buf, start, appendArrayHeader(hdr[:0], n))
	return nil
}

// scanNumber reads the number at p.pos and returns its text, and whether it
// is written as an integer (no fraction, no exponent).
func (p *jsonParser) scanNumber() (text []byte, isInt bool, err error) {
	start := p.pos
	isInt = true
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		s := p.pos
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
		}
		return p.pos - s
	}
	intStart := p.pos
	nd := digits()
	if nd == 0 || (nd > 1 && p.data[intStart] == '0') {
		return nil, false, p.fail("invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		isInt = false
		p.pos++
		if digits() == 0 {
			return nil, false, p.fail("invalid number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		isInt = false
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, false, p.fail("invalid number")
		}
	}
	return p.data[start:p.pos], isInt, nil
}

func (p *jsonParser) number() error {
	text, isInt, err := p.scanNumber()
	if err != nil {
		return err
	}
	if isInt {
		// Exact for every integer that fits 64 bits; JavaScript would round
		// beyond 2^53, but the value on the wire stays the one written.
		if i, err := strconv.ParseInt(string(text), 10, 64); err == nil {
			p.w.Int(i)
			return nil
		}
		if u, err := strconv.ParseUint(string(text), 10, 64); err == nil {
			p.w.Uint(u)
			return nil
		}
	}
	// The syntax is checked above, so only range errors remain: underflow
	// gives 0 as in JavaScript; overflow gives ±Inf (Infinity in JavaScript),
	// which JSON cannot carry.
	f, _ := strconv.ParseFloat(string(text), 64)
	// Out-of-range literals parse to ±Inf in Go and to Infinity in
	// JavaScript, which JSON cannot carry.
	if e := p.w.Float(f); e != nil {
		return p.fail("number out of range")
	}
	return nil
}

// str parses a JSON string at p.pos (jsonstr's rules: invalid UTF-8 and lone surrogates become U+FFFD). The
// string shares no memory with the input.
func (p *jsonParser) str() (string, error) {
	s, _, err := p.strEscaped()
	return s, err
}

// strEscaped is str, and also reports whether the string may hold escapes (false: it has none).
func (p *jsonParser) strEscaped() (string, bool, error) {
	s, next, bad, escaped := jsonstr.UnquoteEscaped(p.data, p.pos)
	p.pos = next
	if bad != "" {
		return "", false, p.fail(bad)
	}
	return s, escaped, nil
}

// hasLoneSurrogate reports whether the JSON string tok (quotes included, valid) holds an escaped surrogate that
// is not half of a pair ("\ud800" alone): JSON.parse keeps it in its string, a Go string cannot.
func hasLoneSurrogate(tok []byte) bool {
	for i := 1; i < len(tok)-1; i++ {
		if tok[i] != '\\' {
			j := bytes.IndexByte(tok[i:], '\\')
			if j < 0 {
				return false
			}
			i += j
		}
		if tok[i+1] == 'u' {
			if r := jsonstr.Hex4(tok[i+2:]); utf16.IsSurrogate(r) && !pairAt(tok, i, r) {
				return true
			} else if utf16.IsSurrogate(r) {
				i += 6 // the low half
			}
			i += 5
			continue
		}
		i++ // the escaped character
	}
	return false
}

// pairAt reports whether the escaped surrogate r at tok[i] is the high half of a pair with the escape after it.
func pairAt(tok []byte, i int, r rune) bool {
	j := i + 6
	return r < 0xdc00 && j+6 <= len(tok) && tok[j] == '\\' && tok[j+1] == 'u' &&
		utf16.DecodeRune(r, jsonstr.Hex4(tok[j+2:])) != utf8.RuneError
}

// appendKeepingSurrogates appends the JSON string tok (quotes included, valid) as JSON.stringify writes the string
// JSON.parse reads from it: as Str writes its text, except that a lone surrogate is written as its escape
// ("\ud800", lowercase as JSON.stringify writes it) where Str would write U+FFFD. The text between two lone
// surrogates is read by jsonstr, as any string.
func appendKeepingSurrogates(b, tok []byte) []byte {
	b = append(b, '"')
	seg := make([]byte, 0, len(tok)+2)
	flush := func(end int, from int) {
		seg = append(append(append(seg[:0], '"'), tok[from:end]...), '"')
		text, _, _ := jsonstr.Unquote(seg, 0)
		start := len(b)
		b = appendJSONString(b, text)
		copy(b[start:], b[start+1:len(b)-1]) // without its quotes
		b = b[:len(b)-2]
	}
	from := 1
	for i := 1; i < len(tok)-1; i++ {
		if tok[i] != '\\' {
			continue
		}
		if tok[i+1] != 'u' {
			i++
			continue
		}
		r := jsonstr.Hex4(tok[i+2:])
		switch {
		case !utf16.IsSurrogate(r):
			i += 5
		case pairAt(tok, i, r):
			i += 11
		default:
			flush(i, from)
			b = append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
			i += 5
			from = i + 1
		}
	}
	flush(len(tok)-1, from)
	return append(b, '"')
}
