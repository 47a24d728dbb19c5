package sioclient

import (
	"net/http"
	"net/http/httptest"
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
