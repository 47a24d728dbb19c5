package demo

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sioredis/sioredis/internal/leakcheck"
)

// TestPageInChromium loads the live page in real headless Chromium, joins a room from the page, emits an event
// to that room from Go and waits for the page to show it.
func TestPageInChromium(t *testing.T) {
	defer leakcheck.Check(t)()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	d, err := New(Config{TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(runCtx, ln) }()
	defer func() {
		stop()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	b := startChromium(t)
	defer b.close()
	page := b.open(ctx, fmt.Sprintf("http://%s/?room=gophers", ln.Addr()))

	page.waitEval(ctx, `document.body.dataset.room || ""`, "gophers")
	if err := d.IO().To("gophers").Emit(ctx, "news", map[string]string{"text": "hello from Go"}); err != nil {
		t.Fatal(err)
	}
	page.waitEval(ctx, `(() => { const li = document.querySelector('#log li[data-event="news"]'); return li ? li.textContent : ""; })()`,
		`news {"text":"hello from Go"}`)
	// A message typed in the page goes through the server back to the room.
	page.eval(ctx, `document.getElementById("text-input").value = "typed"; document.querySelector("#say button").click(); ""`)
	page.waitEval(ctx, `document.querySelector('#log li[data-event="message"]') ? "yes" : ""`, "yes")
	if path := os.Getenv("SIOREDIS_SCREENSHOT"); path != "" {
		var shot struct {
			Data string `json:"data"`
		}
		page.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
		png, _ := base64.StdEncoding.DecodeString(shot.Data)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// browser is a headless Chromium driven over the DevTools protocol.
type browser struct {
	t    *testing.T
	cmd  *exec.Cmd
	ws   *websocket.Conn
	done chan struct{} // reader exited

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan cdpReply
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func startChromium(t *testing.T) *browser {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found in PATH: install the Debian package chromium (apt-get install -y chromium)")
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, cmd: cmd, done: make(chan struct{}), pending: make(map[int64]chan cdpReply)}
	endpoint := make(chan string, 1)
	go func() { // reads stderr until Chromium exits (Wait closes the pipe)
		re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				endpoint <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	var url string
	select {
	case url = <-endpoint:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("chromium did not start its DevTools endpoint")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal(err)
	}
	ws.SetReadLimit(64 << 20)
	b.ws = ws
	go b.read()
	return b
}

func (b *browser) read() {
	defer close(b.done)
	for {
		_, data, err := b.ws.Read(context.Background())
		if err != nil {
			return
		}
		var msg struct {
			ID int64 `json:"id"`
			cdpReply
		}
		if json.Unmarshal(data, &msg) != nil || msg.ID == 0 {
			continue // an event
		}
		b.mu.Lock()
		ch := b.pending[msg.ID]
		delete(b.pending, msg.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- msg.cdpReply
		}
	}
}

func (b *browser) call(ctx context.Context, session, method string, params any, out any) {
	b.t.Helper()
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpReply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if err := b.ws.Write(ctx, websocket.MessageText, data); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			b.t.Fatalf("%s: %s", method, r.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(r.Result, out); err != nil {
				b.t.Fatalf("%s: %v", method, err)
			}
		}
	case <-ctx.Done():
		b.t.Fatalf("%s: %v", method, ctx.Err())
	}
}

type page struct {
	b       *browser
	session string
}

func (b *browser) open(ctx context.Context, url string) *page {
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call(ctx, "", "Target.createTarget", map[string]any{"url": url}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	return &page{b: b, session: att.SessionID}
}

func (p *page) call(ctx context.Context, method string, params, out any) {
	p.b.t.Helper()
	p.b.call(ctx, p.session, method, params, out)
}

func (p *page) eval(ctx context.Context, expr string) string {
	p.b.t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	p.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	s, _ := res.Result.Value.(string)
	return s
}

// waitEval evaluates expr until it returns want.
func (p *page) waitEval(ctx context.Context, expr, want string) {
	p.b.t.Helper()
	var got string
	for {
		if got = p.eval(ctx, expr); strings.Contains(got, want) {
			return
		}
		select {
		case <-ctx.Done():
			p.b.t.Fatalf("page never showed %q (last %q); page text:\n%s", want, got,
				p.eval(context.Background(), "document.body.innerText"))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (b *browser) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data, _ := json.Marshal(map[string]any{"id": 1 << 40, "method": "Browser.close"})
	_ = b.ws.Write(ctx, websocket.MessageText, data)
	exited := make(chan struct{})
	go func() {
		_ = b.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-exited
	}
	_ = b.ws.CloseNow()
	<-b.done
}
