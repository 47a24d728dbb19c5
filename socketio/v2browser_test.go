package socketio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// v2Page runs socket.io-client 2.5's browser build over long-polling: in a browser it takes binary (XHR2), so
// binary messages travel in the binary payload framing both ways. window.result ends as "ok" or the error.
const v2Page = `<!doctype html><script src="/sio2.js"></script><script>
window.result = "";
const bytes = (b) => Array.from(new Uint8Array(b)).join(",");
const s = io({ transports: ["polling"], reconnection: false });
s.on("error", (e) => { window.result = "error: " + JSON.stringify(e); });
s.on("connect", async () => {
  try {
    if (!s.io.engine.transport.supportsBinary) throw new Error("the transport does not take binary");
    const echoed = new Promise((r) => s.once("echo", (...a) => r(a)));
    s.emit("echo", new Uint8Array([1, 2, 3]).buffer, { nested: new Uint8Array([4, 5]).buffer }, "text é😀");
    const [b, obj, t] = await echoed;
    if (bytes(b) !== "1,2,3" || bytes(obj.nested) !== "4,5" || t !== "text é😀") throw new Error("echo: " + bytes(b) + " " + t);
    const ack = await new Promise((r) => s.emit("echo-ack", new Uint8Array([9, 8]).buffer, (a) => r(a)));
    if (bytes(ack) !== "9,8") throw new Error("ack: " + bytes(ack));
    const answer = new Promise((r) => s.once("answer", (a) => r(a)));
    s.on("question", (n, cb) => cb(new Uint8Array([n, 255]).buffer));
    s.emit("ask-client", 7);
    if (bytes(await answer) !== "7,255") throw new Error("answer");
    window.result = "ok";
  } catch (e) {
    window.result = "failed: " + e.message;
  }
});
</script>`

// TestBrowserClientV2 runs socket.io-client 2.5 in headless Chromium against the server with AllowEIO3: the
// XHR2 binary long-polling payloads, which socket.io-client 2 in Node never uses (it asks for base64).
func TestBrowserClientV2(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := fastHeartbeat()
	cfg.Engine.AllowEIO3 = true
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var reasons sync.Map
	suiteHandlers(&reasons)(nil, srv)
	var binaryPosts, binaryAnswers atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/octet-stream" {
			binaryPosts.Add(1)
		}
		srv.ServeHTTP(w, r)
		if w.Header().Get("Content-Type") == "application/octet-stream" {
			binaryAnswers.Add(1)
		}
	}))
	script := filepath.Join(testenv.NodePeersDir(t), "node_modules", "socket.io-client-v2", "dist", "socket.io.js")
	mux.HandleFunc("/sio2.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, script) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(v2Page))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	defer func() {
		_ = srv.Shutdown(context.Background())
		_ = hs.Shutdown(context.Background())
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()

	b := testenv.StartChromium(t)
	defer b.Close()
	page := b.Open(ctx, "http://"+ln.Addr().String()+"/")
	for ctx.Err() == nil {
		if r := page.Eval(ctx, `window.result || ""`); r != "" {
			if r != "ok" {
				t.Fatalf("page: %s", r)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if binaryPosts.Load() == 0 || binaryAnswers.Load() == 0 {
		t.Errorf("binary long-polling payloads: %d POSTs, %d answers; want both", binaryPosts.Load(), binaryAnswers.Load())
	}
}
