package jsvalue

import (
	"unicode/utf8"

	"github.com/sioredis/sioredis/internal/jsonstr"
)

// CheckJSONText reports, with ErrInvalidText, JSON text that encoding/json would accept but not keep as
// written: bytes that are not UTF-8, or an escaped UTF-16 surrogate (\uD800 to \uDFFF) that is not part of a
// high-low pair. Both decode to U+FFFD, so the text stored or published would differ from the text sent.
// CheckJSONText does not check the JSON syntax itself; it reads escapes in strings only.
func CheckJSONText(data []byte) error {
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return errorf(ErrInvalidText, "byte %d is not UTF-8", i)
	}
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			if i+1 >= len(data) {
				return nil
			}
			if data[i+1] != 'u' {
				i++ // \" \\ \n ...
				continue
			}
			u, ok := hex4(data, i+2)
			if !ok {
				i++
				continue
			}
			switch {
			case u >= 0xD800 && u <= 0xDBFF: // high surrogate: a low one must follow
				if low, ok := escapedUnit(data, i+6); ok && low >= 0xDC00 && low <= 0xDFFF {
					i += 11
					continue
				}
				return errorf(ErrInvalidText, "lone surrogate \\u%04x at byte %d", u, i)
			case u >= 0xDC00 && u <= 0xDFFF:
				return errorf(ErrInvalidText, "lone surrogate \\u%04x at byte %d", u, i)
			}
			i += 5
		}
	}
	return nil
}

// escapedUnit reads a \uXXXX escape at data[i:].
func escapedUnit(data []byte, i int) (rune, bool) {
	if i+1 >= len(data) || data[i] != '\\' || data[i+1] != 'u' {
		return 0, false
	}
	return hex4(data, i+2)
}

func hex4(data []byte, i int) (rune, bool) {
	if i > len(data) {
		return 0, false
	}
	r := jsonstr.Hex4(data[i:])
	return r, r >= 0
}
