package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sioredis/sioredis/admin"
	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestAdminUIInChromium serves the official admin UI (@socket.io/admin-ui 0.5.1, from testpeers) as "sioredis
// serve --admin" does and drives it in real headless Chromium: it logs in with the password, lists the Go
// server's sockets and rooms, and disconnects a socket with its button.
func TestAdminUIInChromium(t *testing.T) {
	defer leakcheck.Check(t)()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	uiDir := filepath.Join(testenv.NodePeersDir(t), "node_modules", "@socket.io", "admin-ui", "ui", "dist")
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	_, addr, stop := runDemo(t, ctx, Config{TickInterval: -1, Admin: &AdminConfig{
		Options: admin.Options{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: string(hash)}, ServerID: "go-demo"},
		UIDir:   uiDir,
	}})
	defer stop()
	base := "http://" + addr

	// A Go client in a room, to be seen and disconnected.
	app, err := client.Dial(ctx, base+"/", client.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.EmitWithAck(ctx, "join", "gophers"); err != nil {
		t.Fatal(err)
	}
	disconnected := make(chan string, 1)
	app.OnDisconnect(func(reason string) { disconnected <- reason })

	b := testenv.StartChromium(t)
	defer b.Close()
	page := b.Open(ctx, base+"/admin/")
	page.WaitEval(ctx, `document.querySelectorAll(".v-dialog input").length >= 3 ? "form" : ""`, "form")
	fill := func(sel, v string) {
		page.Eval(ctx, fmt.Sprintf(`(() => { const i = document.querySelector(%q); i.value = %q;
			i.dispatchEvent(new Event("input", {bubbles: true})); return ""; })()`, sel, v))
	}
	fill(`.v-dialog input[type=text][required]`, base)
	fill(`.v-dialog input[type=text]:not([required])`, "admin")
	fill(`.v-dialog input[type=password]`, "s3cret")
	page.Eval(ctx, `document.querySelector(".v-dialog button[type=submit]").click(); ""`)
	page.WaitEval(ctx, `document.body.innerText.includes("CONNECTED") && !document.body.innerText.includes("DISCONNECTED") ? "yes" : ""`, "yes")
	// The sockets of "/": the Go client's, on WebSocket.
	page.Eval(ctx, `location.hash = "#/sockets/"; ""`)
	row := fmt.Sprintf(`[...document.querySelectorAll("tbody tr")].find(tr => tr.innerText.includes(%q))`, app.ID())
	page.WaitEval(ctx, fmt.Sprintf(`(() => { const r = %s; return r ? r.innerText.replace(/\s+/g, " ").trim() : ""; })()`, row),
		app.ID()+" 127.0.0.1 WebSocket")
	// Its room, on the rooms page.
	page.Eval(ctx, `location.hash = "#/rooms/"; ""`)
	page.WaitEval(ctx, `[...document.querySelectorAll("tbody tr")].some(tr => tr.innerText.includes("gophers")) ? "yes" : ""`, "yes")
	if path := os.Getenv("SIOREDIS_SCREENSHOT"); path != "" {
		page.Screenshot(ctx, path)
	}
	// The disconnect button of its row disconnects it, and the row goes.
	page.Eval(ctx, `location.hash = "#/sockets/"; ""`)
	page.WaitEval(ctx, fmt.Sprintf(`(() => { const r = %s; const b = r && r.querySelector("button");
		if (!b) return ""; b.click(); return "clicked"; })()`, row), "clicked")
	select {
	case reason := <-disconnected:
		if reason != "io server disconnect" {
			t.Errorf("disconnected: %q, want io server disconnect", reason)
		}
	case <-ctx.Done():
		t.Fatal("the UI's disconnect button did not disconnect the socket")
	}
	// The click reaches the row too, which opens the socket's page: it says the socket is disconnected.
	page.WaitEval(ctx, `document.body.innerText.replace(/\s+/g, " ").includes("Status DISCONNECTED") ? "yes" : ""`, "yes")
	page.Eval(ctx, `location.hash = "#/sockets/"; ""`)
	page.WaitEval(ctx, `document.body.innerText.includes("Select namespace") ? "yes" : ""`, "yes")
	page.WaitEval(ctx, fmt.Sprintf(`%s ? "still listed" : "gone"`, row), "gone")
}
