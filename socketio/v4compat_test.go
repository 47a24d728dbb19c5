package socketio

import (
	"net/url"
	"reflect"
	"testing"
)

func TestSplitNamespaceQuery(t *testing.T) {
	tests := []struct {
		nsp, name, auth string
	}{
		{"/", "/", ""},
		{"/admin", "/admin", ""},
		{"/admin?token=x", "/admin", `{"token":"x"}`},
		{"/admin?a=1&a=2&b=%C3%A9", "/admin", `{"a":["1","2"],"b":"é"}`},
		{"/admin?", "/admin", `{}`},
		{"?token=x", "/", `{"token":"x"}`},
		{"/admin?bad=%zz&ok=1", "/admin", `{"ok":"1"}`},
	}
	for _, tt := range tests {
		name, auth := splitNamespaceQuery(tt.nsp)
		if name != tt.name || string(auth) != tt.auth {
			t.Errorf("splitNamespaceQuery(%q) = %q, %s; want %q, %s", tt.nsp, name, auth, tt.name, tt.auth)
		}
	}
}

func TestMergeNamespaceQuery(t *testing.T) {
	q := url.Values{"EIO": {"3"}, "token": {"from-handshake"}}
	mergeNamespaceQuery(q, `{"token":"x","a":["1","2"],"n":5}`)
	want := url.Values{"EIO": {"3"}, "token": {"x"}, "a": {"1", "2"}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("got %v, want %v", q, want)
	}
}
