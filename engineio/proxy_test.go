package engineio

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestFromTrustedProxy(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	tests := []struct {
		name       string
		remote     string
		header     http.Header
		host, addr string
		family     ProxyHeader // "": the default, XForwardedFor
	}{
		{"untrusted peer: headers ignored", "192.0.2.9:5000",
			http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Host": {"evil.example"}}, "backend:8080", "192.0.2.9:5000", ""},
		{"trusted X-Forwarded-*", "127.0.0.1:5000",
			http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Host": {"chat.example"}}, "chat.example", "203.0.113.7:0", ""},
		{"spoofed left entries skipped", "10.1.1.1:5000",
			http.Header{"X-Forwarded-For": {"1.2.3.4, 203.0.113.7, 10.2.2.2"}}, "backend:8080", "203.0.113.7:0", ""},
		{"a client's own Forwarded is not believed", "127.0.0.1:5000",
			http.Header{"Forwarded": {`for=198.51.100.1;host=evil.example`}, "X-Forwarded-For": {"203.0.113.7"}}, "backend:8080", "203.0.113.7:0", ""},
		{"a client's own Forwarded, no X-Forwarded-For", "127.0.0.1:5000",
			http.Header{"Forwarded": {`for=198.51.100.1`}}, "backend:8080", "127.0.0.1:5000", ""},
		{"Forwarded", "127.0.0.1:5000",
			http.Header{"Forwarded": {`for="[2001:db8::1]:4711";host=chat.example;proto=https`}}, "chat.example", "[2001:db8::1]:4711", Forwarded},
		{"Forwarded unknown", "127.0.0.1:5000",
			http.Header{"Forwarded": {`for=unknown;host=chat.example`}}, "chat.example", "127.0.0.1:5000", Forwarded},
		{"Forwarded: a client's own X-Forwarded-* not believed", "127.0.0.1:5000",
			http.Header{"Forwarded": {`for=203.0.113.7`}, "X-Forwarded-For": {"198.51.100.1"}, "X-Forwarded-Host": {"evil.example"}},
			"backend:8080", "203.0.113.7:0", Forwarded},
		{"Forwarded: spoofed left entries skipped", "10.1.1.1:5000",
			http.Header{"Forwarded": {"for=1.2.3.4, for=203.0.113.7", "for=10.2.2.2"}}, "backend:8080", "203.0.113.7:0", Forwarded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://backend:8080/socket.io/", nil)
			r.RemoteAddr, r.Header = tc.remote, tc.header
			got := FromTrustedProxyHeader(r, trusted, tc.family)
			if got.Host != tc.host || got.RemoteAddr != tc.addr {
				t.Errorf("Host %q RemoteAddr %q, want %q %q", got.Host, got.RemoteAddr, tc.host, tc.addr)
			}
		})
	}
}
