package chat

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// chatPage is the chat page open in a Chromium tab.
type chatPage struct {
	*testenv.Page
	ctx context.Context
}

func openChat(ctx context.Context, b *testenv.Browser, base, room, author string) *chatPage {
	p := &chatPage{Page: b.Open(ctx, base+"/?room="+room+"&author="+author), ctx: ctx}
	p.WaitEval(ctx, `document.body.dataset.room || ""`, room)
	return p
}

// send types a message and presses Enter, as a person would.
func (p *chatPage) send(body string) {
	p.Eval(p.ctx, fmt.Sprintf(`(() => {
		const t = document.getElementById("body");
		t.value = %s;
		t.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true}));
		return "";
	})()`, strconv.Quote(body)))
}

// state returns "delivered", "pending" or "" for the message with that body, and fails the test if it shows
// more than once.
func (p *chatPage) state(t *testing.T, body string) string {
	t.Helper()
	got := p.Eval(p.ctx, fmt.Sprintf(`(() => {
		const li = [...document.querySelectorAll("#log li[data-id]")].filter((li) => li.querySelector(".body").textContent === %s);
		return li.length > 1 ? "shown " + li.length + " times" : li.length ? li[0].dataset.state : "";
	})()`, strconv.Quote(body)))
	if got != "" && got != "delivered" && got != "pending" {
		t.Fatalf("message %q: %s", body, got)
	}
	return got
}

func (p *chatPage) waitState(t *testing.T, body, want string) {
	t.Helper()
	for p.state(t, body) != want {
		select {
		case <-p.ctx.Done():
			t.Fatalf("message %q never %q; page text:\n%s", body, want, p.Eval(context.Background(), "document.body.innerText"))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *chatPage) olderShown() bool {
	return p.Eval(p.ctx, `document.getElementById("older-item").hidden ? "hidden" : "shown"`) == "shown"
}

// ascending reports whether a comma-separated list of numbers increases strictly.
func ascending(list string) bool {
	prev := int64(-1)
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n <= prev {
			return false
		}
		prev = n
	}
	return true
}

func (p *chatPage) count() string {
	return p.Eval(p.ctx, `String(document.querySelectorAll("#log li[data-id]").length)`)
}

// TestPageInChromium drives the chat page in real headless Chromium: alone (no Redis), and as one server of a
// mixed cluster with a Node.js Socket.IO server, through a Redis outage.
func TestPageInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := testenv.StartChromium(t)
	defer b.Close()

	t.Run("alone", func(t *testing.T) {
		app := startApp(t, Config{Store: openTestStore(t)})
		ann := openChat(ctx, b, app.url, "room_777", "ann")
		bob := openChat(ctx, b, app.url, "room_777", "bob")
		eve := openChat(ctx, b, app.url, "room_778", "eve")

		ann.send("hello from the page")
		ann.waitState(t, "hello from the page", "delivered")
		bob.waitState(t, "hello from the page", "delivered")
		eve.send("sentinel in room_778")
		eve.waitState(t, "sentinel in room_778", "delivered")
		if eve.state(t, "hello from the page") != "" || ann.state(t, "sentinel in room_778") != "" {
			t.Fatal("a message reached another room")
		}
		// A page opened later shows the history from the database.
		late := openChat(ctx, b, app.url, "room_777", "late")
		late.waitState(t, "hello from the page", "delivered")
		if n := late.count(); n != "1" {
			t.Fatalf("history shows %s messages, want 1", n)
		}
		// A message posted by another backend (curl, a job...) appears too.
		post(t, app.url, Post{Room: "room_777", Author: "backend", Body: "from the API"}, http.StatusCreated)
		bob.waitState(t, "from the API", "delivered")
		if ann.olderShown() {
			t.Fatal("the button for older messages shows with 2 messages")
		}

		// A long history comes one page (100) at a time, the older pages on demand.
		for i := range 150 {
			post(t, app.url, Post{Room: "long", Body: fmt.Sprint("long ", i)}, http.StatusCreated)
		}
		long := openChat(ctx, b, app.url, "long", "reader")
		long.WaitEval(ctx, `String(document.querySelectorAll("#log li[data-id]").length)`, "100")
		if !long.olderShown() || long.state(t, "long 49") != "" || long.state(t, "long 50") != "delivered" {
			t.Fatal("the first page is not the newest 100 messages with the button for older ones")
		}
		long.Eval(ctx, `document.getElementById("older").click(); ""`)
		long.waitState(t, "long 0", "delivered")
		long.WaitEval(ctx, `String(document.querySelectorAll("#log li[data-id]").length)`, "150")
		if long.olderShown() {
			t.Fatal("the button for older messages still shows after the oldest page")
		}
		if order := long.Eval(ctx, `[...document.querySelectorAll("#log li[data-id]")].map((li) => li.dataset.seq).join(",")`); !ascending(order) {
			t.Fatalf("messages out of order: %s", order)
		}
	})

	t.Run("cluster", func(t *testing.T) {
		rs := startACLRedis(t, aclAll)
		rdb := rs.Client(t)
		node := testenv.StartNodeServer(t, testenv.NodeServerConfig{Flavor: testenv.FlavorV4Classic, RedisAddrs: []string{rs.Addr()}})
		app := startApp(t, Config{Store: openTestStore(t), Redis: rdb, PublishWait: 300 * time.Millisecond})
		if err := app.ClusterReady(ctx); err != nil {
			t.Fatal(err)
		}
		clients := testenv.StartClients(t, 4, []testenv.ClientSpec{node.Client("node", "/", "room_777")})
		ann := openChat(ctx, b, app.url, "room_777", "ann")

		ann.send("to the whole cluster")
		ann.waitState(t, "to the whole cluster", "delivered")
		ev, err := clients.WaitEvent(ctx, "node", testenv.EventNamed("message"))
		if err != nil {
			t.Fatal(err)
		}
		var got Message
		if err := ev.DecodeArg(0, &got); err != nil || got.Body != "to the whole cluster" || got.Author != "ann" || got.Room != "room_777" {
			t.Fatalf("the Node server's client got %s (%v)", ev.ArgsJSON(), err)
		}
		// The Node socket.io-client gets both times: created_at as before, created_at_rfc3339 with its zone.
		var times struct {
			CreatedAt        string `json:"created_at"`
			CreatedAtRFC3339 string `json:"created_at_rfc3339"`
		}
		if err := ev.DecodeArg(0, &times); err != nil {
			t.Fatal(err)
		}
		if at, err := time.Parse(time.RFC3339, times.CreatedAtRFC3339); err != nil || !strings.HasSuffix(times.CreatedAtRFC3339, "Z") ||
			at.Format(TimeLayout) != times.CreatedAt {
			t.Fatalf("the Node server's client got created_at %q, created_at_rfc3339 %q (%v)", times.CreatedAt, times.CreatedAtRFC3339, err)
		}

		// Redis down: the page's message is saved and shown as pending; it is delivered when Redis is back.
		rs.Stop()
		ann.send("while Redis is down")
		ann.waitState(t, "while Redis is down", "pending")
		// The page says so: the message is not delivered yet, and delivery is paused (from /api/status).
		ann.WaitEval(ctx, `[...document.querySelectorAll("#log li[data-state=pending] .note")].map((e) => e.textContent).join()`, "not delivered yet")
		ann.WaitEval(ctx, `document.getElementById("paused").hidden ? "" : document.getElementById("paused").textContent`, "Delivery is paused")
		if path := os.Getenv("SIOREDIS_CHAT_SCREENSHOTS"); path != "" {
			ann.Screenshot(ctx, filepath.Join(path, "paused.png"))
		}
		rs.setACLFile(t, aclNoPublish)
		rs.Restart()
		waitSubscribers(t, rdb, 2)
		allowPublish(t, rdb)
		ann.waitState(t, "while Redis is down", "delivered")
		ann.WaitEval(ctx, `document.getElementById("paused").hidden ? "banner gone" : ""`, "banner gone")
		ann.WaitEval(ctx, `[...document.querySelectorAll("#log .note")].map((e) => e.textContent).join("") === "" ? "no notes" : ""`, "no notes")
		evs, err := clients.WaitEvents(ctx, "node", 2, testenv.EventNamed("message"))
		if err != nil {
			t.Fatal(err)
		}
		if err := evs[1].DecodeArg(0, &got); err != nil || got.Body != "while Redis is down" {
			t.Fatalf("the Node server's client got %s (%v)", evs[1].ArgsJSON(), err)
		}
		if path := os.Getenv("SIOREDIS_CHAT_SCREENSHOT"); path != "" {
			ann.Screenshot(ctx, path)
		}
	})
}

// TestPageDatabaseOutageInChromium stops the PostgreSQL server under a chat page in real headless Chromium. The
// page never claims what it could not do: its banner says the database cannot be reached (not that messages
// are saved), a message sent meanwhile is tried again with its Idempotency-Key and then given back with "Not
// sent", a page opened meanwhile says it could not load the room (not that the room is empty), and everything
// comes back by itself when the database does.
func TestPageDatabaseOutageInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pg := testenv.StartPostgres(t)
	b := testenv.StartChromium(t)
	defer b.Close()
	app := startApp(t, Config{Store: openTestPostgres(t, pg.URL(), PostgresConfig{}), RetryAfter: time.Second})
	ann := openChat(ctx, b, app.url, "db", "ann")
	ann.send("before the outage")
	ann.waitState(t, "before the outage", "delivered")

	pg.Stop()
	banner := `document.getElementById("paused").hidden ? "" : document.getElementById("paused").textContent`
	ann.send("during the outage")
	ann.WaitEval(ctx, banner, "cannot reach its database")
	if text := ann.Eval(ctx, banner); strings.Contains(text, "saved") {
		t.Errorf("banner during the outage: %q", text)
	}
	ann.WaitEval(ctx, `document.getElementById("error").textContent`, "Not sent: the server cannot reach its database")
	if got := ann.Eval(ctx, `document.getElementById("body").value`); got != "during the outage" {
		t.Errorf("the message not sent is not given back: the text box holds %q", got)
	}
	if st := ann.state(t, "during the outage"); st != "" {
		t.Errorf("the message not sent shows as %q", st)
	}
	bob := openChat(ctx, b, app.url, "db", "bob")
	empty := `document.getElementById("empty").hidden ? "" : document.getElementById("empty").textContent`
	bob.WaitEval(ctx, empty, "Could not load the messages of db")
	bob.WaitEval(ctx, banner, "cannot reach its database")
	if path := os.Getenv("SIOREDIS_CHAT_SCREENSHOTS"); path != "" {
		bob.Screenshot(ctx, filepath.Join(path, "database-unreachable.png"))
	}
	for range 10 { // a few of the page's tries: it never says the room is empty
		if text := bob.Eval(ctx, empty); strings.Contains(text, "No messages") {
			t.Fatalf("the page says %q while the database is down", text)
		}
		time.Sleep(100 * time.Millisecond)
	}

	pg.Start()
	bob.waitState(t, "before the outage", "delivered")
	bob.WaitEval(ctx, "("+empty+`) || "no note"`, "no note")
	for _, p := range []*chatPage{ann, bob} {
		p.WaitEval(ctx, "("+banner+`) || "banner gone"`, "banner gone")
	}
	ann.send("after the outage")
	bob.waitState(t, "after the outage", "delivered")
	ann.waitState(t, "after the outage", "delivered")
}
