package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// startProxy runs a reverse proxy on loopback in front of backend that, like nginx's default
// "proxy_set_header Host $proxy_host", sends the backend's own host as Host, and adds X-Forwarded-For,
// X-Forwarded-Host and X-Forwarded-Proto.
func startProxy(t *testing.T, backend string) string {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	p := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.SetXForwarded()
	}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTrustedProxy: a browser page served through the proxy opens Socket.IO through it. Without
// --trusted-proxy the Origin (the proxy's host) differs from Host (the backend's) and the handshake is refused
// with 403, as every browser saw behind nginx; with the proxy trusted it succeeds, for serve and for the
// chat's handshake and its cross-site-checked POST.
func TestTrustedProxy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		trust bool
	}{
		{"serve untrusted", []string{"serve", "--addr", "127.0.0.1:0"}, false},
		{"serve trusted", []string{"serve", "--addr", "127.0.0.1:0", "--trusted-proxy", "127.0.0.0/8"}, true},
		{"chat untrusted", []string{"chat", "--addr", "127.0.0.1:0", "--db", t.TempDir() + "/c.db"}, false},
		{"chat trusted", []string{"chat", "--addr", "127.0.0.1:0", "--db", t.TempDir() + "/c.db", "--trusted-proxy", "127.0.0.1"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend, _ := startServing(t, tc.args...)
			front := startProxy(t, backend)
			want := http.StatusForbidden
			if tc.trust {
				want = http.StatusOK
			}
			req, _ := http.NewRequest(http.MethodGet, front+"/socket.io/?EIO=4&transport=polling", nil)
			req.Header.Set("Origin", front)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("handshake through the proxy: %d, want %d", resp.StatusCode, want)
			}
			if tc.args[0] != "chat" {
				return
			}
			req, _ = http.NewRequest(http.MethodPost, front+"/api/messages", strings.NewReader(`{"room":"r","body":"hi"}`))
			req.Header.Set("Origin", front)
			req.Header.Set("Content-Type", "application/json")
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.trust != (resp.StatusCode < 300) {
				t.Errorf("POST through the proxy: %d (trusted %v)", resp.StatusCode, tc.trust)
			}
		})
	}
}
