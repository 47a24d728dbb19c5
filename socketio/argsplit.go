package socketio

import (
	"encoding/json"
	"unicode/utf8"
)

// eventName returns the event name of an EVENT payload's first element, a JSON string: without escapes and in
// valid UTF-8 (the usual case) it is the text between the quotes, else it is decoded by encoding/json.
func eventName(raw json.RawMessage) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		plain := true
		for _, c := range raw[1 : len(raw)-1] {
			if c == '\\' || c == '"' || c < 0x20 {
				plain = false
				break
			}
		}
		if plain && utf8.Valid(raw) {
			return string(raw[1 : len(raw)-1]), nil
		}
	}
	var name string
	err := json.Unmarshal(raw, &name)
	return name, err
}
