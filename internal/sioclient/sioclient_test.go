package sioclient

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestServe(t *testing.T) {
	tests := []struct {
		path, wantType, wantPrefix string
		served                     bool
	}{
		{"/socket.io.min.js", "text/javascript; charset=utf-8", "/*!\n * Socket.IO v" + Version, true},
		{"/static/socket.io-client.LICENSE", "text/plain; charset=utf-8", "The MIT License (MIT)", true},
		{"/index.html", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if got := Serve(rec, httptest.NewRequest(http.MethodGet, tt.path, nil)); got != tt.served {
				t.Fatalf("Serve = %v, want %v", got, tt.served)
			}
			if !tt.served {
				if rec.Body.Len() != 0 {
					t.Fatalf("wrote %d bytes for a path it does not serve", rec.Body.Len())
				}
				return
			}
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != tt.wantType ||
				!strings.HasPrefix(rec.Body.String(), tt.wantPrefix) {
				t.Fatalf("got %d %q %.40q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"gzip, deflate, br"}, true},
		{[]string{"br", "GZIP"}, true},
		{[]string{"deflate, gzip;q=0.5"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.0"}, false},
		{[]string{"gzip;q=0.001"}, true},
		{[]string{"x-gzip"}, false},
		{[]string{"identity"}, false},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.values); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.values, got, tt.want)
		}
	}
}

// TestBundleFiles: every file of socket.io-client's dist/ is there, decompressible, and of the embedded release.
func TestBundleFiles(t *testing.T) {
	want := []string{"socket.io.esm.min.js", "socket.io.esm.min.js.map", "socket.io.js", "socket.io.js.map",
		"socket.io.min.js", "socket.io.min.js.map", "socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map"}
	got := BundleFiles()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("files %q, want %q", got, want)
	}
	rec := httptest.NewRecorder()
	ServeBundle(rec, httptest.NewRequest(http.MethodGet, "/socket.io/socket.io.min.js", nil))
	if !bytes.Equal(rec.Body.Bytes(), script) {
		t.Fatalf("socket.io.min.js of the bundle (%d bytes) is not the embedded script (%d bytes)", rec.Body.Len(), len(script))
	}
}
