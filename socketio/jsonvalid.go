package socketio

// maxJSONDepth is encoding/json's nesting limit, which validJSON keeps so that it accepts what json.Valid accepts.
const maxJSONDepth = 10000

// validJSON reports whether data is one JSON value, exactly as json.Valid does (FuzzValidJSON compares them),
// without allocating for up to 64 levels of nesting. It is the one validating scan of a packet's payload: a
// profile of the echo put json.Valid at 6 % of the server's CPU, this scan at about a quarter of that.
func validJSON(data []byte) bool {
	var stackBuf [64]byte
	stack := stackBuf[:0] // the open containers, '[' or '{'
	i := skipSpace(data, 0)
	for {
		// A value starts at i.
		if i >= len(data) {
			return false
		}
		switch c := data[i]; c {
		case '[', '{':
			if len(stack) >= maxJSONDepth {
				return false
			}
			end := byte(']')
			if c == '{' {
				end = '}'
			}
			i = skipSpace(data, i+1)
			if i < len(data) && data[i] == end {
				i++
				break // an empty container is a whole value
			}
			stack = append(stack, c)
			if c == '{' {
				if i = memberKey(data, i); i < 0 {
					return false
				}
			}
			continue // its first value
		case '"':
			if i = jsonStringEnd(data, i); i < 0 {
				return false
			}
		case 't':
			if i = literalEnd(data, i, "true"); i < 0 {
				return false
			}
		case 'f':
			if i = literalEnd(data, i, "false"); i < 0 {
				return false
			}
		case 'n':
			if i = literalEnd(data, i, "null"); i < 0 {
				return false
			}
		default:
			if i = numberEnd(data, i); i < 0 {
				return false
			}
		}
		// A value ended at i: close containers until one expects another value.
		for {
			i = skipSpace(data, i)
			if len(stack) == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			top := stack[len(stack)-1]
			c := data[i]
			if c == ',' {
				i = skipSpace(data, i+1)
				if top == '{' {
					if i = memberKey(data, i); i < 0 {
						return false
					}
				}
				break
			}
			if (top == '[' && c != ']') || (top == '{' && c != '}') {
				return false
			}
			stack = stack[:len(stack)-1]
			i++
		}
	}
}

// memberKey reads an object member's key and colon at data[i:] and returns where its value starts, or -1.
func memberKey(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	if i = jsonStringEnd(data, i); i < 0 {
		return -1
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return skipSpace(data, i+1)
}

// jsonStringEnd returns the offset past the valid JSON string at data[i] (a quote), or -1. Like json.Valid, it
// takes any byte from 0x20 up, valid UTF-8 or not.
func jsonStringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(data) {
				return -1
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) {
					return -1
				}
				for _, h := range data[i+1 : i+5] {
					if !isHex(h) {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// literalEnd returns the offset past lit at data[i:], or -1.
func literalEnd(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// numberEnd returns the offset past the JSON number at data[i:], or -1.
func numberEnd(data []byte, i int) int {
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = digitsEnd(data, i)
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		j := digitsEnd(data, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digitsEnd(data, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digitsEnd(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}
