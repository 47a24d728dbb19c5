package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// ClientSpec describes one Socket.IO client connection opened by [StartClients].
type ClientSpec struct {
	// Name identifies the client in events and assertions; unique within one [Clients].
	Name string `json:"name"`
	// URL is the server's base URL, for example [NodeServer.URL].
	URL string `json:"url"`
	// Nsp is the namespace; default "/".
	Nsp string `json:"nsp,omitempty"`
	// Rooms are joined by the server right after the connection (sent in the handshake query).
	Rooms []string `json:"rooms,omitempty"`
	// Transports default to ["websocket"].
	Transports []string `json:"transports,omitempty"`
	// Recovery makes the client reconnect when its transport is lost (Drop), and report each connection (see
	// WaitConnects), for tests of connection state recovery.
	Recovery bool `json:"recovery,omitempty"`
	// Parser is the client's parser option: "" or "json" for the default, "msgpack" for socket.io-msgpack-parser
	// (socket.io-client 4 only).
	Parser string `json:"parser,omitempty"`
	// ConnectOnly is for servers that do not send server.js's "__joined" (the Go servers of the repository's
	// commands): the client counts as connected once its CONNECT is answered, which does not prove it has joined its
	// rooms yet (v4 only). Prove it with a first message before measuring.
	ConnectOnly bool `json:"connectOnly,omitempty"`
}

// Event is one event received by a client.
type Event struct {
	// Client is the receiving client's name.
	Client string
	// Name is the event name.
	Name string
	// Args are the event arguments as JSON; binary values appear as {"$binary":"<base64>"} and Dates as
	// {"$date":"<ISO>"}.
	Args []json.RawMessage
	// At is when the harness read the client's report of the event (Line.At).
	At time.Time
}

// ArgsJSON returns the arguments as one compact JSON array, convenient for comparisons:
// `["world",1]`, `[{"foo":"bar"}]`.
func (e Event) ArgsJSON() string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, a := range e.Args {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := json.Compact(&b, a); err != nil {
			b.Write(a)
		}
	}
	b.WriteByte(']')
	return b.String()
}

// DecodeArg unmarshals argument i into v.
func (e Event) DecodeArg(i int, v any) error {
	if i >= len(e.Args) {
		return fmt.Errorf("testenv: event %q has %d args, no arg %d", e.Name, len(e.Args), i)
	}
	return json.Unmarshal(e.Args[i], v)
}

// EventNamed matches events with the given name.
func EventNamed(name string) func(Event) bool {
	return func(e Event) bool { return e.Name == name }
}

// Clients is a running testpeers/clients.js process holding several client connections.
type Clients struct {
	// Version is the socket.io-client major version, 4 or 2.
	Version int
	// IDs maps each client name to its server-side socket id (on socket.io 2, "/nsp#id" outside the root
	// namespace). Read-only.
	IDs map[string]string

	specs []ClientSpec
	proc  *peerProcess
}

// StartClients connects the given clients with socket.io-client 4.8 (version 4) or 2.5.0 (version 2) and waits
// (at most 30 s) until the server has joined each of them to its rooms. The process is stopped at test cleanup.
// Clients do not reconnect: a server-side disconnection is final.
func StartClients(tb testing.TB, version int, specs []ClientSpec) *Clients {
	tb.Helper()
	if version != 4 && version != 2 {
		tb.Fatalf("testenv: client version must be 4 or 2, got %d", version)
	}
	if len(specs) == 0 {
		tb.Fatalf("testenv: StartClients needs at least one client")
	}
	label := fmt.Sprintf("node clients (v%d)", version)
	p := startPeer(tb, label, "clients.js", "--version", fmt.Sprint(version))
	if err := p.send(specs); err != nil {
		tb.Fatalf("testenv: %s: send specs: %v", label, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), peerStartTimeout)
	defer cancel()
	if _, err := p.waitLines(ctx, 1, func(l Line) bool { return l.Type == "ready" || l.Type == "connect_error" }, nil); err != nil {
		tb.Fatalf("testenv: %s not ready: %v", label, err)
	}
	c := &Clients{Version: version, IDs: map[string]string{}, specs: specs, proc: p}
	for _, l := range p.snapshot() {
		switch l.Type {
		case "connect_error":
			tb.Fatalf("testenv: %s: client %s: connect_error: %s", label, l.Get("name"), l.Get("message"))
		case "connected":
			c.IDs[l.Get("name")] = l.Get("id")
		}
	}
	return c
}

// Names returns the client names in spec order.
func (c *Clients) Names() []string {
	names := make([]string, len(c.specs))
	for i, s := range c.specs {
		names[i] = s.Name
	}
	return names
}

func toEvent(l Line) (Event, bool) {
	if l.Type != "event" {
		return Event{}, false
	}
	var e struct {
		Name  string            `json:"name"`
		Event string            `json:"event"`
		Args  []json.RawMessage `json:"args"`
	}
	if err := l.Decode(&e); err != nil {
		return Event{}, false
	}
	return Event{Client: e.Name, Name: e.Event, Args: e.Args, At: l.At}, true
}

// Events returns a snapshot of the events received by the named client, in arrival order.
func (c *Clients) Events(name string) []Event {
	var out []Event
	for _, l := range c.proc.snapshot() {
		if e, ok := toEvent(l); ok && e.Client == name {
			out = append(out, e)
		}
	}
	return out
}

// WaitEvent returns the first event (since start) received by the named client that satisfies match (nil matches
// any event), waiting for it if needed.
func (c *Clients) WaitEvent(ctx context.Context, name string, match func(Event) bool) (Event, error) {
	evs, err := c.WaitEvents(ctx, name, 1, match)
	if err != nil {
		return Event{}, err
	}
	return evs[0], nil
}

// WaitEvents waits until the named client has received n events (since start) that satisfy match (nil matches
// any event) and returns the first n. Clients never reconnect, so the wait fails at once if the client is
// disconnected before that.
func (c *Clients) WaitEvents(ctx context.Context, name string, n int, match func(Event) bool) ([]Event, error) {
	lines, err := c.proc.waitLines(ctx, n, func(l Line) bool {
		e, ok := toEvent(l)
		return ok && e.Client == name && (match == nil || match(e))
	}, func(l Line) error {
		if l.Type == "disconnect" && l.Get("name") == name {
			return fmt.Errorf("client disconnected (%s)", l.Get("reason"))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", name, err)
	}
	evs := make([]Event, len(lines))
	for i, l := range lines {
		evs[i], _ = toEvent(l)
	}
	return evs, nil
}

// WaitAll waits until every named client (every client when names is empty) has received an event with the given
// name. It is the second step of the sentinel pattern described in the package documentation.
func (c *Clients) WaitAll(ctx context.Context, event string, names ...string) error {
	if len(names) == 0 {
		names = c.Names()
	}
	for _, n := range names {
		if _, err := c.WaitEvent(ctx, n, EventNamed(event)); err != nil {
			return err
		}
	}
	return nil
}

// AssertNoEvent fails tb if the named client has received an event with one of the given names (any event when
// none is given). Call it after [Clients.WaitAll] on a sentinel, as described in the package documentation.
func (c *Clients) AssertNoEvent(tb testing.TB, name string, events ...string) {
	tb.Helper()
	var bad []string
	for _, e := range c.Events(name) {
		if len(events) == 0 || slices.Contains(events, e.Name) {
			bad = append(bad, e.Name+" "+e.ArgsJSON())
		}
	}
	if len(bad) > 0 {
		tb.Errorf("client %s got unexpected events:\n  %s", name, strings.Join(bad, "\n  "))
	}
}

// AssertQuiet waits for d and fails tb if any named client (every client when names is empty) received an event
// during that time. A sleep alone proves little: prefer a sentinel (see the package documentation) and use this as
// an extra grace period where messages travel on unordered paths.
func (c *Clients) AssertQuiet(tb testing.TB, d time.Duration, names ...string) {
	tb.Helper()
	if len(names) == 0 {
		names = c.Names()
	}
	before := map[string]int{}
	for _, n := range names {
		before[n] = len(c.Events(n))
	}
	time.Sleep(d)
	for _, n := range names {
		evs := c.Events(n)
		for _, e := range evs[before[n]:] {
			tb.Errorf("client %s got event %s %s during a quiet period of %v", n, e.Name, e.ArgsJSON(), d)
		}
	}
}

// Disconnects returns the disconnection reasons reported so far for the named client ("io server disconnect",
// "transport close", ...).
func (c *Clients) Disconnects(name string) []string {
	var out []string
	for _, l := range c.proc.snapshot() {
		if l.Type == "disconnect" && l.Get("name") == name {
			out = append(out, l.Get("reason"))
		}
	}
	return out
}

// WaitDisconnect waits until the named client is disconnected and returns the reason.
func (c *Clients) WaitDisconnect(ctx context.Context, name string) (string, error) {
	lines, err := c.proc.waitLines(ctx, 1, func(l Line) bool {
		return l.Type == "disconnect" && l.Get("name") == name
	}, nil)
	if err != nil {
		return "", fmt.Errorf("client %s: %w", name, err)
	}
	return lines[0].Get("reason"), nil
}

// Disconnect makes the named client disconnect itself (reason "io client disconnect").
func (c *Clients) Disconnect(ctx context.Context, name string) error {
	_, err := c.proc.request(ctx, map[string]any{"cmd": "disconnect", "name": name})
	return err
}

// Drop closes the named client's Engine.IO connection, as a network failure would; a Recovery client then
// reconnects.
func (c *Clients) Drop(ctx context.Context, name string) error {
	_, err := c.proc.request(ctx, map[string]any{"cmd": "drop", "name": name})
	return err
}

// Connection is one connection of a Recovery client: the socket id it got and socket.recovered.
type Connection struct {
	ID        string `json:"id"`
	Recovered bool   `json:"recovered"`
}

// WaitConnects waits until the named Recovery client has connected n times, and returns those connections.
func (c *Clients) WaitConnects(ctx context.Context, name string, n int) ([]Connection, error) {
	lines, err := c.proc.waitLines(ctx, n, func(l Line) bool { return l.Type == "connect" && l.Get("name") == name }, nil)
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", name, err)
	}
	out := make([]Connection, len(lines))
	for i, l := range lines {
		if err := l.Decode(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FirstArgs returns, as JSON, the first argument of each event named event that the named client has received so
// far, in order.
func (c *Clients) FirstArgs(name, event string) []string {
	var out []string
	for _, ev := range c.Events(name) {
		if ev.Name == event && len(ev.Args) > 0 {
			out = append(out, string(ev.Args[0]))
		}
	}
	return out
}

// Lines returns a snapshot of every line printed by the clients process.
func (c *Clients) Lines() []Line { return c.proc.snapshot() }

// Stop disconnects every client now (as at cleanup) and waits for the process to exit.
func (c *Clients) Stop() { c.proc.stop() }
