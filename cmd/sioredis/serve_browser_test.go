package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// TestServeRedisEmitInChromium: "sioredis serve --redis" in each cluster format, its page open in real headless
// Chromium and joined to a room; "sioredis emit" (the command's own code path) publishes to that room through
// Redis, and the page shows the event, with a timestamp, apart from the acknowledgements; the page lists its
// socket and room, and says why a message cannot be sent before joining a room.
func TestServeRedisEmitInChromium(t *testing.T) {
	r := testenv.StartRedis(t)
	b := testenv.StartChromium(t)
	defer b.Close()
	for _, mode := range []string{"classic", "sharded", "streams"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			prefix := "demo-" + mode
			base, _ := startServing(t, "serve", "--addr", "127.0.0.1:0", "--redis", r.URL(), "--mode", mode, "--prefix", prefix)
			page := b.Open(ctx, base+"/?room=") // an empty ?room=: no room joined on load
			page.WaitEval(ctx, `document.getElementById("status").className`, "on")
			// Sending before joining a room: the page says so, and sends nothing.
			page.Eval(ctx, `document.getElementById("text-input").value = "too early"; document.querySelector("#say button").click(); ""`)
			page.WaitEval(ctx, `document.getElementById("feedback").textContent.includes("Join a room first") ? "yes" : ""`, "yes")

			page.Eval(ctx, `document.getElementById("room-input").value = "gophers"; document.querySelector("#join button").click(); ""`)
			page.WaitEval(ctx, `document.body.dataset.room || ""`, "gophers")
			page.WaitEval(ctx, `document.querySelector('#log li.ack[data-event="join"]') ? "yes" : ""`, "yes")
			page.WaitEval(ctx, `[...document.querySelectorAll("#rooms li")].map(li => li.textContent).join(",")`, "gophers (1)")
			page.WaitEval(ctx, `document.getElementById("socket-count").textContent`, "1")

			// The readiness probe waits for the subscription: the emit then reaches the server.
			testenv.WaitFor(t, func() bool { return httpStatus(t, base+"/readyz") == 200 })
			args := []string{"emit", "--redis", r.URL(), "--mode", mode, "--prefix", prefix, "--to", "gophers", "news", `{"text":"hello from sioredis emit"}`}
			if code, stderr := cli(t, "", args...); code != 0 {
				t.Fatalf("emit: status %d: %s", code, stderr)
			}
			page.WaitEval(ctx, `(() => { const li = document.querySelector('#log li.event[data-event="news"]'); return li ? li.querySelector(".ev").textContent + li.lastChild.textContent : ""; })()`,
				`news {"text":"hello from sioredis emit"}`)
			stamp := page.Eval(ctx, `document.querySelector('#log li.event[data-event="news"] .at').textContent`)
			if _, err := time.Parse("15:04:05.000", stamp); err != nil {
				t.Errorf("timestamp %q: %v", stamp, err)
			}
			// A message typed in the page: its acknowledgement is shown apart from the event it comes back as.
			page.Eval(ctx, `document.getElementById("text-input").value = "typed"; document.querySelector("#say button").click(); ""`)
			page.WaitEval(ctx, `document.querySelector('#log li.event[data-event="message"]') && document.querySelector('#log li.ack[data-event="say"]') ? "yes" : ""`, "yes")
			page.WaitEval(ctx, `document.getElementById("feedback").textContent`, "sent to gophers")
			if path := os.Getenv("SIOREDIS_SCREENSHOT"); path != "" {
				page.Screenshot(ctx, fmt.Sprintf("%s-%s.png", path, mode))
			}
			page.Eval(ctx, `location.href = "about:blank"; ""`)
		})
	}
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}
