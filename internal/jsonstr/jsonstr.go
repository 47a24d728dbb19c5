// Package jsonstr reads a JSON string as encoding/json does: escapes unquoted, a surrogate pair joined, and
// each lone surrogate (\ud800) or byte of invalid UTF-8 replaced by U+FFFD, which is also what Node's decoders
// make of them. The project's two JSON readers, jsvalue's (JSON.parse's values) and eventargs' (encoding/json's),
// share it.
package jsonstr

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Unquote reads the JSON string whose opening quote is data[i]. It returns the string (sharing no memory with
// data) and the index just after the closing quote or, when the string is malformed, bad says what is wrong
// and next is where.
func Unquote(data []byte, i int) (s string, next int, bad string) {
	s, next, bad, _ = UnquoteEscaped(data, i)
	return s, next, bad
}

// UnquoteEscaped is Unquote, and also reports whether the string may hold escapes (false: it has none).
func UnquoteEscaped(data []byte, i int) (s string, next int, bad string, escaped bool) {
	start := i + 1
	for j := start; j < len(data); {
		switch c := data[j]; {
		case c == '"':
			return string(data[start:j]), j + 1, "", false
		case c == '\\' || c < ' ':
			s, next, bad = unquoteSlow(data, start, j)
			return s, next, bad, true
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(data[j:])
			if r == utf8.RuneError && size == 1 {
				s, next, bad = unquoteSlow(data, start, j)
				return s, next, bad, true
			}
			j += size
		}
	}
	return "", len(data), "unterminated string", false
}

// unquoteSlow goes on from data[j], data[start:j] being plain text.
func unquoteSlow(data []byte, start, j int) (string, int, string) {
	b := make([]byte, 0, j-start+64)
	b = append(b, data[start:j]...)
	for j < len(data) {
		c := data[j]
		switch {
		case c == '"':
			return string(b), j + 1, ""
		case c < ' ':
			return "", j, "control character in string"
		case c == '\\':
			if j+1 >= len(data) {
				return "", len(data), "unterminated string"
			}
			switch e := data[j+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := Hex4(data[j+2:])
				if r < 0 {
					return "", j + 2, "invalid \\u escape"
				}
				j += 6
				if utf16.IsSurrogate(r) {
					// A pair takes the next escape; anything else leaves a replacement character.
					if len(data)-j >= 6 && data[j] == '\\' && data[j+1] == 'u' {
						if dec := utf16.DecodeRune(r, Hex4(data[j+2:])); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							j += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				return "", j + 2, "invalid escape"
			}
			j += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			j++
		default:
			r, size := utf8.DecodeRune(data[j:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, r)
			} else {
				b = append(b, data[j:j+size]...)
			}
			j += size
		}
	}
	return "", len(data), "unterminated string"
}

// hex4 returns the value of the 4 hexadecimal digits that start d, or -1.
func Hex4(d []byte) rune {
	if len(d) < 4 {
		return -1
	}
	var r rune
	for _, c := range d[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
