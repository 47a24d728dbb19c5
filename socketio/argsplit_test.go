package socketio

import (
	"encoding/json"
	"testing"
)

func TestEventName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`"chat"`, "chat"},
		{`"a\"b"`, `a"b`},
		{`"\u00e9t\u00e9"`, "été"},
		{`"caf` + "\xff" + `"`, "caf\ufffd"}, // invalid UTF-8 replaced, as encoding/json does
		{`""`, ""},
	} {
		got, err := eventName(json.RawMessage(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("eventName(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := eventName(json.RawMessage(`1`)); err == nil {
		t.Error("eventName(1): no error")
	}
}
