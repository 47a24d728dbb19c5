package socketio

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// browserPage loads the client the server serves and talks to it: an event with an acknowledgement from the page,
// then an event from the server shown in the title.
const browserPage = `<!doctype html><title>loading</title>
<script src="/socket.io/socket.io.js"></script>
<script>
const s = io();
s.on("connect", () => s.emit("hello", navigator.userAgent.includes("Chrome"), (reply) => { document.title = "ack:" + reply; }));
s.on("news", (text) => { document.title += " news:" + text; });
</script>`

// TestServeClientInChromium: real headless Chromium loads /socket.io/socket.io.js from the Go server
// (Config.ServeClient) and connects with it.
func TestServeClientInChromium(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := NewServer(Config{ServeClient: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *Socket) {
		s.On("hello", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
			var chrome bool
			_ = args.Decode(0, &chrome)
			if chrome {
				_ = ack("from-go")
			}
			_ = s.Emit("news", "hi")
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(browserPage))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = srv.Shutdown(cctx)
		_ = hs.Close()
	}()

	b := testenv.StartChromium(t)
	defer b.Close()
	page := b.Open(ctx, "http://"+ln.Addr().String()+"/")
	page.WaitEval(ctx, `document.title`, "ack:from-go news:hi")
	page.WaitEval(ctx, `s.io.engine.transport.name`, "websocket") // and the upgrade
	// The script came from the server as the reference server sends it.
	page.WaitEval(ctx, `(() => { const e = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/socket.io/socket.io.js")); return e ? e.responseStatus + " " + e.contentType : ""; })()`,
		"200 text/javascript") // Chromium reports JavaScript types by their essence, as the HTML spec names it
}
