package client

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	stdlog "log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/socketio"
)

// testCert makes a self-signed certificate for 127.0.0.1 and returns it, a pool trusting it, and PEM files of the
// certificate and its key (for the Node server).
func testCert(tb testing.TB) (tls.Certificate, *x509.CertPool, string, string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sioredis client test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, certFile, keyFile
}

// protoRecorder records the HTTP version of each transport's requests.
type protoRecorder struct {
	next http.Handler
	mu   sync.Mutex
	seen map[string]map[string]bool // transport → r.Proto
}

func (p *protoRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	tr := r.URL.Query().Get("transport")
	if p.seen[tr] == nil {
		p.seen[tr] = map[string]bool{}
	}
	p.seen[tr][r.Proto] = true
	p.mu.Unlock()
	p.next.ServeHTTP(w, r)
}

func (p *protoRecorder) protos(tr string) map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]bool{}
	for k := range p.seen[tr] {
		out[k] = true
	}
	return out
}

// checkEcho checks a round trip (binary included) and that the socket ends on transport want.
func checkEcho(t *testing.T, s *Socket, want string) {
	t.Helper()
	in := msg{Text: "over tls", Bin: []byte{0, 1, 254}}
	got, err := EmitWithAckAs[msg](tctx(t), s, "echo", in)
	if err != nil || got.Text != in.Text || !bytes.Equal(got.Bin, in.Bin) {
		t.Fatalf("ack = %+v, %v", got, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Manager().Transport() != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if tr := s.Manager().Transport(); tr != want {
		t.Fatalf("transport %q, want %q", tr, want)
	}
	if _, err := EmitWithAckAs[msg](tctx(t), s, "echo", in); err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}
}

// TestTLS connects over https and wss to the Go server (which also speaks HTTP/2, so polling uses it and the
// WebSocket must ask for http/1.1) and to Node's socket.io 4.8 over https, the server's self-signed certificate
// trusted through Options.TLSConfig, or through Options.HTTPClient alone; and checks that an untrusted
// certificate is refused on both transports.
func TestTLS(t *testing.T) {
	t.Parallel()
	cert, pool, certFile, keyFile := testCert(t)

	t.Run("go", func(t *testing.T) {
		t.Parallel()
		srv, err := socketio.NewServer(socketio.Config{Engine: engineio.Config{PingInterval: 300 * time.Millisecond, PingTimeout: 300 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		echoServer(srv)
		rec := &protoRecorder{next: srv, seen: map[string]map[string]bool{}}
		ts := httptest.NewUnstartedServer(rec)
		ts.EnableHTTP2 = true
		ts.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the untrusted subtests' handshake errors
		ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
		ts.StartTLS()
		t.Cleanup(func() {
			ts.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		})
		for _, tc := range transportCases {
			t.Run("TLSConfig/"+tc.name, func(t *testing.T) {
				t.Parallel()
				opts := fastOpts(tc.tr...)
				opts.TLSConfig = &tls.Config{RootCAs: pool}
				checkEcho(t, dial(t, ts.URL, opts, nil), tc.want)
			})
		}
		t.Run("HTTPClient/upgrade", func(t *testing.T) {
			t.Parallel()
			opts := fastOpts()
			opts.HTTPClient = ts.Client()
			checkEcho(t, dial(t, ts.URL, opts, nil), "websocket")
		})
		for _, tr := range []Transport{Polling, WebSocket} {
			t.Run("untrusted/"+string(tr), func(t *testing.T) {
				t.Parallel()
				opts := fastOpts(tr)
				opts.ReconnectionAttempts = 1
				_, err := Dial(tctx(t), ts.URL, opts, nil)
				var unknown x509.UnknownAuthorityError
				if !errors.Is(err, ErrReconnectFailed) || !errors.As(err, &unknown) {
					t.Fatalf("Dial = %v, want ErrReconnectFailed with an x509.UnknownAuthorityError", err)
				}
			})
		}
		t.Cleanup(func() {
			if p := rec.protos("polling"); !p["HTTP/2.0"] {
				t.Errorf("polling used %v, want HTTP/2.0 too", p)
			}
			if p := rec.protos("websocket"); len(p) != 1 || !p["HTTP/1.1"] {
				t.Errorf("websocket used %v, want HTTP/1.1", p)
			}
		})
	})

	t.Run("node", func(t *testing.T) {
		t.Parallel()
		n := &nodeServer{tb: t, tlsCert: certFile, tlsKey: keyFile}
		n.start()
		t.Cleanup(n.stop)
		for _, tc := range transportCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				opts := fastOpts(tc.tr...)
				opts.TLSConfig = &tls.Config{RootCAs: pool}
				checkEcho(t, dial(t, n.URL(), opts, nil), tc.want)
			})
		}
	})
}
