package demo

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestPageInChromium loads the live page in real headless Chromium, joins a room from the page, emits an event
// to that room from Go and waits for the page to show it.
func TestPageInChromium(t *testing.T) {
	defer leakcheck.Check(t)()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	d, addr, stop := runDemo(t, ctx, Config{TickInterval: -1})
	defer stop()

	b := testenv.StartChromium(t)
	defer b.Close()
	page := b.Open(ctx, fmt.Sprintf("http://%s/?room=gophers", addr))

	page.WaitEval(ctx, `document.body.dataset.room || ""`, "gophers")
	if err := d.IO().To("gophers").Emit(ctx, "news", map[string]string{"text": "hello from Go"}); err != nil {
		t.Fatal(err)
	}
	page.WaitEval(ctx, `(() => { const li = document.querySelector('#log li[data-event="news"]'); return li ? li.querySelector(".ev").textContent + li.lastChild.textContent : ""; })()`,
		`news {"text":"hello from Go"}`)
	// A message typed in the page goes through the server back to the room.
	page.Eval(ctx, `document.getElementById("text-input").value = "typed"; document.querySelector("#say button").click(); ""`)
	page.WaitEval(ctx, `document.querySelector('#log li[data-event="message"]') ? "yes" : ""`, "yes")
	if path := os.Getenv("SIOREDIS_SCREENSHOT"); path != "" {
		page.Screenshot(ctx, path)
	}
	// With no ?room=, the page joins the room its field shows, lobby, on load: "sioredis emit --to lobby" shows up.
	lobby := b.Open(ctx, fmt.Sprintf("http://%s/", addr))
	lobby.WaitEval(ctx, `document.body.dataset.room || ""`, "lobby")
	if err := d.IO().To("lobby").Emit(ctx, "news", "to the lobby"); err != nil {
		t.Fatal(err)
	}
	lobby.WaitEval(ctx, `(() => { const li = document.querySelector('#log li[data-event="news"]'); return li ? li.lastChild.textContent : ""; })()`,
		`"to the lobby"`)
}

// runDemo runs a demo server with cfg on a loopback port until stop is called, and returns it and its address;
// stop reports an error of Run. (Not a t.Cleanup: the tests' leak checks run before their cleanups.)
func runDemo(t *testing.T, ctx context.Context, cfg Config) (d *Demo, addr string, stop func()) {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(runCtx, ln) }()
	return d, ln.Addr().String(), func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}
