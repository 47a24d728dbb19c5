package socketio

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestServeClient: with Config.ServeClient the server answers for the client's files as the reference server's
// serveClient does (types, ETag, Cache-Control, 304, gzip), byte for byte the files of socket.io-client 4.8.4 in
// testpeers; without it, those paths are Engine.IO's (400).
func TestServeClient(t *testing.T) {
	srv, err := NewServer(Config{ServeClient: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	off, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Shutdown(t.Context())
	dist := filepath.Join(testenv.NodePeersDir(t), "node_modules", "socket.io-client", "dist")
	const js, jsonType = "application/javascript; charset=utf-8", "application/json; charset=utf-8"
	tests := []struct {
		name, method, path string
		header             []string
		handler            http.Handler
		status             int
		ctype              string
		file               string // in dist, the body expected (decoded)
		gzip               bool
	}{
		{"socket.io.js", "GET", "/socket.io/socket.io.js", nil, srv, 200, js, "socket.io.js", false},
		{"min.js gzip", "GET", "/socket.io/socket.io.min.js", []string{"Accept-Encoding", "gzip, deflate, br"}, srv, 200, js, "socket.io.min.js", true},
		{"js.map", "GET", "/socket.io/socket.io.js.map", nil, srv, 200, jsonType, "socket.io.js.map", false},
		{"min.js.map", "GET", "/socket.io/socket.io.min.js.map", []string{"Accept-Encoding", "gzip"}, srv, 200, jsonType, "socket.io.min.js.map", true},
		{"esm", "GET", "/socket.io/socket.io.esm.min.js", nil, srv, 200, js, "socket.io.esm.min.js", false},
		{"msgpack", "GET", "/socket.io/socket.io.msgpack.min.js", nil, srv, 200, js, "socket.io.msgpack.min.js", false},
		{"gzip refused", "GET", "/socket.io/socket.io.js", []string{"Accept-Encoding", "gzip;q=0"}, srv, 200, js, "socket.io.js", false},
		{"query string", "GET", "/socket.io/socket.io.js?v=1", nil, srv, 200, js, "socket.io.js", false},
		{"etag", "GET", "/socket.io/socket.io.js", []string{"If-None-Match", `"4.8.4"`}, srv, 304, "", "", false},
		{"weak etag", "GET", "/socket.io/socket.io.min.js", []string{"If-None-Match", `W/"4.8.4"`}, srv, 304, "", "", false},
		{"other etag", "GET", "/socket.io/socket.io.js", []string{"If-None-Match", `"4.8.3"`}, srv, 200, js, "socket.io.js", false},
		{"HEAD", "HEAD", "/socket.io/socket.io.js", nil, srv, 200, js, "", false},
		{"POST", "POST", "/socket.io/socket.io.js", nil, srv, 400, "application/json", "", false},
		{"unknown file", "GET", "/socket.io/socket.io.debug.js", nil, srv, 400, "application/json", "", false},
		{"off", "GET", "/socket.io/socket.io.js", nil, off, 400, "application/json", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tt.status || res.Header.Get("Content-Type") != tt.ctype {
				t.Fatalf("got %d %q, want %d %q", res.StatusCode, res.Header.Get("Content-Type"), tt.status, tt.ctype)
			}
			if tt.status == 400 {
				return
			}
			if res.Header.Get("ETag") != `"4.8.4"` {
				t.Errorf("ETag %q", res.Header.Get("ETag"))
			}
			if tt.status == 304 {
				return
			}
			if res.Header.Get("Cache-Control") != "public, max-age=0" {
				t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
			}
			if got := res.Header.Get("Content-Encoding") == "gzip"; got != tt.gzip {
				t.Errorf("gzip-encoded: %v, want %v", got, tt.gzip)
			}
			if tt.file == "" {
				if rec.Body.Len() != 0 {
					t.Errorf("HEAD with a body of %d bytes", rec.Body.Len())
				}
				return
			}
			body := rec.Body.Bytes()
			if tt.gzip {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(filepath.Join(dist, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, want) {
				t.Errorf("body: %d bytes, not those of %s (%d bytes)", len(body), tt.file, len(want))
			}
		})
	}
}

// TestRemoteIP: Handshake.Address is the bare IP of the connection's address, as the reference server gives
// it, also when a trusted proxy forwarded it (with or without a port).
func TestRemoteIP(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:54321", "127.0.0.1"},
		{"[::1]:54321", "::1"},
		{"[::ffff:127.0.0.1]:1", "::ffff:127.0.0.1"}, // as given: Go's listeners unmap IPv4 clients themselves
		{"[fe80::1%eth0]:80", "fe80::1%eth0"},
		{"10.0.0.7", "10.0.0.7"},
		{"2001:db8::1", "2001:db8::1"},
		{"@", "@"}, // a Unix socket: kept as it is
		{"", ""},
	}
	for _, tt := range tests {
		if got := remoteIP(tt.in); got != tt.want {
			t.Errorf("remoteIP(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	for _, fwd := range []struct{ header, value, want string }{
		{"X-Forwarded-For", "203.0.113.9", "203.0.113.9"},
		{"X-Forwarded-For", "2001:db8::9", "2001:db8::9"},
		{"Forwarded", `for="[2001:db8::9]:4711"`, "2001:db8::9"},
		{"Forwarded", "for=203.0.113.9:4711", "203.0.113.9"},
	} {
		r := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil)
		r.RemoteAddr = "10.0.0.1:999"
		r.Header.Set(fwd.header, fwd.value)
		if got := remoteIP(engineio.FromTrustedProxyHeader(r, trusted, engineio.ProxyHeader(fwd.header)).RemoteAddr); got != fwd.want {
			t.Errorf("%s: %s: Address %q, want %q", fwd.header, fwd.value, got, fwd.want)
		}
	}
}
