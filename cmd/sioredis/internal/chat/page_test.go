package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// openChatAt opens the chat page in a tab of the given width, with the browser's time zone set to tz.
func openChatAt(ctx context.Context, b *testenv.Browser, width int, tz, base, room, author string) *chatPage {
	p := &chatPage{Page: b.Open(ctx, "about:blank"), ctx: ctx}
	p.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600}, nil)
	p.Call(ctx, "Emulation.setTimezoneOverride", map[string]any{"timezoneId": tz}, nil)
	p.Call(ctx, "Page.navigate", map[string]any{"url": base + "/?room=" + room + "&author=" + author}, nil)
	p.WaitEval(ctx, `document.body.dataset.room || ""`, room)
	return p
}

// check evaluates a JavaScript expression that returns "" when the page is right, or what is wrong.
func (p *chatPage) check(t *testing.T, what, expr string) {
	t.Helper()
	if got := p.Eval(p.ctx, "(() => {"+expr+"})()"); got != "" {
		t.Errorf("%s: %s", what, got)
	}
}

func (p *chatPage) shot(t *testing.T, name string) {
	if dir := os.Getenv("SIOREDIS_CHAT_SCREENSHOTS"); dir != "" {
		p.Screenshot(p.ctx, filepath.Join(dir, name+".png"))
	}
}

// TestPageLayoutInChromium checks, in real Chromium at 1280 and 390 px wide, what a person sees: the empty
// room, local times with date separators, multi-line bodies in their own column, one's own messages marked,
// the header's labels beside their fields, and the "sending…" note and network error, cleared on reconnection.
// SIOREDIS_CHAT_SCREENSHOTS=dir writes screenshots there.
func TestPageLayoutInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	b := testenv.StartChromium(t)
	defer b.Close()
	store := openTestStore(t)
	app := startApp(t, Config{Store: store})
	// Two messages of the same UTC day, on two days in Tokyo (UTC+9): 23:00 on the 19th and 01:00 on the 20th.
	for _, c := range []struct{ at, author, body string }{
		{"2017-12-19 14:00:00", "bob", "before midnight in Tokyo"},
		{"2017-12-19 16:00:00", "bob", "line one\nline two\nline three, long enough to wrap on a phone: " + strings.Repeat("word ", 12)},
	} {
		m, err := newMessage(Post{Room: "room_777", Author: c.author, Body: c.body}, DefaultMaxBodyLen, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		m.CreatedAt = c.at
		if _, _, err := store.Add(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
	}

	for _, width := range []int{1280, 390} {
		t.Run(map[int]string{1280: "desktop", 390: "phone"}[width], func(t *testing.T) {
			empty := "room_empty_" + map[int]string{1280: "d", 390: "p"}[width]
			e := openChatAt(ctx, b, width, "Asia/Tokyo", app.url, empty, "ann")
			e.WaitEval(ctx, `document.getElementById("empty").hidden ? "" : document.getElementById("empty").textContent`,
				"No messages in "+empty+" yet")
			e.shot(t, "empty-"+e.Eval(ctx, `String(innerWidth)`))
			e.send("first in the room")
			e.waitState(t, "first in the room", "delivered")
			e.check(t, "empty note after a message", `return document.getElementById("empty").hidden ? "" : "still shown"`)

			ann := openChatAt(ctx, b, width, "Asia/Tokyo", app.url, "room_777", "ann")
			ann.waitState(t, "before midnight in Tokyo", "delivered")
			own := fmt.Sprint("mine, from ann at ", width)
			ann.send(own)
			ann.waitState(t, own, "delivered")

			ann.check(t, "local times", `
				const t = [...document.querySelectorAll("#log li[data-id] .meta")].map((e) => e.textContent);
				return t[0] === "23:00" && t[1] === "01:00" ? "" : "times " + JSON.stringify(t);`)
			ann.check(t, "no UTC date on each line", `
				return /2017-12-19 1[46]:00/.test(document.getElementById("log").innerText) ? "the UTC created_at is shown" : "";`)
			ann.check(t, "date separators", `
				const d = [...document.querySelectorAll("#log li.day")].map((e) => e.dataset.date);
				if (d.length !== 3 || d[0] !== "2017-12-19" || d[1] !== "2017-12-20") return "separators " + JSON.stringify(d);
				const first = document.querySelector("#log li.day");
				return first.nextElementSibling.querySelector(".body").textContent === "before midnight in Tokyo" ? "" : "separator misplaced";`)
			ann.check(t, "multi-line body in its own column", `
				const li = [...document.querySelectorAll("#log li[data-id]")][1];
				const body = li.querySelector(".body").getBoundingClientRect();
				const meta = li.querySelector(".meta").getBoundingClientRect();
				const lh = parseFloat(getComputedStyle(li.querySelector(".body")).lineHeight);
				if (body.left < meta.right) return "body starts at " + body.left + ", left of the time's right edge " + meta.right;
				if (body.height < 2.5 * lh) return "body " + body.height + " px high: line breaks lost";
				return li.querySelector(".body").innerText.split("\n").length >= 3 ? "" : "line breaks lost";`)
			ann.check(t, "own messages marked", `
				const m = [...document.querySelectorAll("#log li[data-id]")].map((li) => li.querySelector(".author").textContent + ":" + ("mine" in li.dataset));
				return m.length >= 3 && m.every((e) => e === "bob:false" || e === "ann:true") ? "" : JSON.stringify(m);`)
			ann.check(t, "header: labels beside their fields, nothing wider than the window", `
				for (const id of ["author", "room"]) {
					const input = document.getElementById(id), label = input.parentElement;
					const text = document.createRange();
					text.selectNodeContents(label.firstChild);
					const a = text.getBoundingClientRect(), b = input.getBoundingClientRect();
					if (Math.abs((a.top + a.bottom) / 2 - (b.top + b.bottom) / 2) > b.height / 2 || a.right > b.left)
						return id + ": label at " + JSON.stringify(a) + ", field at " + JSON.stringify(b);
				}
				return document.documentElement.scrollWidth > innerWidth ? "page " + document.documentElement.scrollWidth + " px wide" : "";`)
			ann.shot(t, "room-"+ann.Eval(ctx, `String(innerWidth)`))

			// Another page of the same author marks ann's message too (by name); bob's does not.
			bob := openChatAt(ctx, b, width, "UTC", app.url, "room_777", "bob")
			bob.waitState(t, own, "delivered")
			bob.check(t, "bob's page", `
				const m = [...document.querySelectorAll("#log li[data-id]")].map((li) => li.querySelector(".author").textContent + ":" + ("mine" in li.dataset));
				return m.length >= 3 && m.every((e) => e === "bob:true" || e === "ann:false") ? "" : JSON.stringify(m);`)
			bob.check(t, "UTC times", `
				const t = [...document.querySelectorAll("#log li[data-id] .meta")].map((e) => e.textContent);
				return t[0] === "14:00" && t[1] === "16:00" && document.querySelectorAll("#log li.day").length === 2 ? "" : "times " + JSON.stringify(t);`)

			if width != 390 {
				return
			}
			// Offline: the message shows "sending…" while the page retries, then a network error; the error goes
			// once the connection is back.
			ann.Call(ctx, "Network.enable", map[string]any{}, nil)
			offline := func(off bool) {
				ann.Call(ctx, "Network.emulateNetworkConditions", map[string]any{
					"offline": off, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}, nil)
			}
			offline(true)
			ann.send("while offline")
			ann.WaitEval(ctx, `[...document.querySelectorAll("#log li.own-sending")].map((li) => li.dataset.state + ":" + li.querySelector(".note").textContent).join()`,
				"sending:sending…")
			ann.shot(t, "sending-390")
			ann.WaitEval(ctx, `document.getElementById("error").textContent`, "network error")
			ann.check(t, "after the network error", `
				return document.getElementById("body").value === "while offline" && !document.querySelector("#log li.own-sending") ? "" : "body not given back or still shown as sending";`)
			ann.Eval(ctx, `socket.io.engine.close(); ""`) // the connection drops, as when the network goes
			ann.WaitEval(ctx, `document.getElementById("status").dataset.state`, "disconnected")
			offline(false)
			ann.WaitEval(ctx, `document.getElementById("status").dataset.state`, "connected")
			ann.WaitEval(ctx, `document.getElementById("error").textContent === "" ? "cleared" : "shown"`, "cleared")
		})
	}
}

// TestEventTimes checks the event's time fields: created_at as before, created_at_rfc3339 the same instant with
// its zone.
func TestEventTimes(t *testing.T) {
	m, err := newMessage(Post{Room: "r", Body: "b"}, DefaultMaxBodyLen, time.Date(2017, 12, 19, 15, 0, 0, 0, time.FixedZone("CET", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got["created_at"] != "2017-12-19 14:00:00" || got["created_at_rfc3339"] != "2017-12-19T14:00:00Z" {
		t.Fatalf("event %s", data)
	}
	var back Message
	if err := json.Unmarshal(data, &back); err != nil || back != m {
		t.Fatalf("decoded %+v (%v), want %+v", back, err, m)
	}
}
