package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Browser is a headless Chromium (Debian's chromium package) driven over the DevTools protocol, started by
// [StartChromium]. Its methods fail the test on error. Not safe for concurrent use by several goroutines except
// through distinct pages.
type Browser struct {
	tb   testing.TB
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

// StartChromium starts headless Chromium with a fresh profile and connects to its DevTools endpoint. Call
// [Browser.Close] when done.
func StartChromium(t testing.TB) *Browser {
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
	b := &Browser{tb: t, cmd: cmd, done: make(chan struct{}), pending: make(map[int64]chan cdpReply)}
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

func (b *Browser) read() {
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

func (b *Browser) call(ctx context.Context, session, method string, params any, out any) {
	b.tb.Helper()
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
		b.tb.Fatalf("%s: %v", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			b.tb.Fatalf("%s: %s", method, r.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(r.Result, out); err != nil {
				b.tb.Fatalf("%s: %v", method, err)
			}
		}
	case <-ctx.Done():
		b.tb.Fatalf("%s: %v", method, ctx.Err())
	}
}

// Page is one tab of a [Browser].
type Page struct {
	b       *Browser
	session string
}

// Open opens url in a new tab.
func (b *Browser) Open(ctx context.Context, url string) *Page {
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call(ctx, "", "Target.createTarget", map[string]any{"url": url}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	return &Page{b: b, session: att.SessionID}
}

// Call sends a DevTools command to the page and decodes its result into out (when not nil).
func (p *Page) Call(ctx context.Context, method string, params, out any) {
	p.b.tb.Helper()
	p.b.call(ctx, p.session, method, params, out)
}

// Screenshot writes a PNG of the page to path.
func (p *Page) Screenshot(ctx context.Context, path string) {
	p.b.tb.Helper()
	var shot struct {
		Data []byte `json:"data"` // base64 in JSON
	}
	p.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	if err := os.WriteFile(path, shot.Data, 0o644); err != nil {
		p.b.tb.Error(err)
	}
}

// Eval evaluates a JavaScript expression in the page and returns its value when it is a string.
func (p *Page) Eval(ctx context.Context, expr string) string {
	p.b.tb.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	p.Call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	s, _ := res.Result.Value.(string)
	return s
}

// WaitEval evaluates expr every 50 ms until its value contains want; at ctx's end it fails the test with the
// page's text.
func (p *Page) WaitEval(ctx context.Context, expr, want string) {
	p.b.tb.Helper()
	var got string
	for {
		if got = p.Eval(ctx, expr); strings.Contains(got, want) {
			return
		}
		select {
		case <-ctx.Done():
			p.b.tb.Fatalf("page never showed %q (last %q); page text:\n%s", want, got,
				p.Eval(context.Background(), "document.body.innerText"))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close asks Chromium to exit (and kills it after 10 s), then waits for the DevTools reader.
func (b *Browser) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// DevTools ignores a command whose id does not fit in 32 bits: take the next id, as call does.
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.mu.Unlock()
	data, _ := json.Marshal(map[string]any{"id": id, "method": "Browser.close", "params": map[string]any{}})
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
