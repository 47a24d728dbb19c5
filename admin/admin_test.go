package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sioredis/sioredis/admin"
	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/socketio"
)

// startServer runs a socketio server instrumented with opts; its "/" sockets join what they ask with "join" and
// echo "ping".
func startServer(t *testing.T, opts admin.Options) (*socketio.Server, string) {
	t.Helper()
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	opts.StatsInterval = 100 * time.Millisecond
	a, err := admin.Instrument(srv, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		socketio.Handle(s, "join", func(ctx context.Context, s *socketio.Socket, room string) { s.Join(room) })
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs.URL
}

type event struct {
	name string
	args client.Args
}

// ui is an admin UI client: every event it receives, in order.
type ui struct {
	s      *client.Socket
	events chan event
}

func dialUI(t *testing.T, url string, auth any) (*ui, error) {
	t.Helper()
	m, err := client.NewManager(url, client.Options{NoReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	u := &ui{s: m.Socket("/admin", auth), events: make(chan event, 1000)}
	u.s.OnAny(func(_ context.Context, _ *client.Socket, name string, args client.Args) {
		u.events <- event{name, args}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = u.s.Connect(ctx)
	t.Cleanup(func() { _ = m.Close() })
	return u, err
}

// next waits for the next event named name, skipping the others.
func (u *ui) next(t *testing.T, name string) client.Args {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-u.events:
			if e.name == name {
				return e.args
			}
		case <-timeout:
			t.Fatalf("no %q event", name)
		}
	}
}

// nextMatching waits for an event named name whose argument i has a JSON text containing sub.
func (u *ui) nextMatching(t *testing.T, name string, i int, sub string) client.Args {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		a := u.next(t, name)
		if strings.Contains(string(a.Raw(i)), sub) {
			return a
		}
	}
	t.Fatalf("no %q event with %q in argument %d", name, sub, i)
	return client.Args{}
}

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

type config struct {
	SupportedFeatures []admin.Feature `json:"supportedFeatures"`
}

func TestInstrumentOptions(t *testing.T) {
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	for _, tt := range []struct {
		name string
		opts admin.Options
	}{
		{"no auth given", admin.Options{}},
		{"both", admin.Options{NoAuth: true, Auth: &admin.BasicAuth{Username: "a", PasswordHash: hash(t, "x")}}},
		{"not bcrypt", admin.Options{Auth: &admin.BasicAuth{Username: "a", PasswordHash: "secret"}}},
		{"mode", admin.Options{NoAuth: true, Mode: "debug"}},
	} {
		if _, err := admin.Instrument(srv, tt.opts); !errors.Is(err, admin.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", tt.name, err)
		}
	}
}

// Basic authentication: the right password gives a session, which logs in again without the password; a wrong
// password, user or session is refused with "invalid credentials", as Node's (the back-off after a failure,
// which TestLoginBackOff checks, is off here).
func TestAuth(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	_, url := startServer(t, admin.Options{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: hash(t, "s3cret")},
		LoginLimit: admin.LoginLimit{FailureDelay: -1}})

	for _, auth := range []any{
		map[string]string{"username": "admin", "password": "wrong"},
		map[string]string{"username": "root", "password": "s3cret"},
		map[string]string{"sessionId": "0123456789abcdef"},
		nil,
	} {
		_, err := dialUI(t, url, auth)
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "invalid credentials" {
			t.Errorf("auth %v: %v, want invalid credentials", auth, err)
		}
	}

	u, err := dialUI(t, url, map[string]string{"username": "admin", "password": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	var session string
	if err := u.next(t, "session").Decode(0, &session); err != nil || len(session) != 16 {
		t.Fatalf("session %q, %v", session, err)
	}
	u.next(t, "config")
	if _, err := dialUI(t, url, map[string]string{"sessionId": session}); err != nil {
		t.Fatalf("login with the session: %v", err)
	}
}

// The UI's view of a socket's life: config, all_sockets, server_stats, socket_connected, room_joined,
// event_received, room_left and socket_disconnected.
func TestEvents(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	_, url := startServer(t, admin.Options{NoAuth: true, ServerID: "go-1"})
	u, err := dialUI(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg config
	if err := u.next(t, "config").Decode(0, &cfg); err != nil {
		t.Fatal(err)
	}
	want := []admin.Feature{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT",
		"AGGREGATED_EVENTS", "ALL_EVENTS"}
	if !slices.Equal(cfg.SupportedFeatures, want) {
		t.Errorf("features %v, want %v", cfg.SupportedFeatures, want)
	}
	var all []map[string]any
	if err := u.next(t, "all_sockets").Decode(0, &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0]["nsp"] != "/admin" || all[0]["id"] != u.s.ID() {
		t.Errorf("all_sockets %v, want the UI's own socket", all)
	}

	app, err := client.Dial(context.Background(), url+"/?tag=x", client.Options{Transports: []client.Transport{client.Polling}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	var sock struct {
		ID        string         `json:"id"`
		ClientID  string         `json:"clientId"`
		Transport string         `json:"transport"`
		Nsp       string         `json:"nsp"`
		Data      map[string]any `json:"data"`
		Rooms     []string       `json:"rooms"`
		Handshake struct {
			Address string            `json:"address"`
			Query   map[string]string `json:"query"`
			Headers map[string]string `json:"headers"`
			Issued  int64             `json:"issued"`
		} `json:"handshake"`
	}
	a := u.nextMatching(t, "socket_connected", 0, app.ID())
	if err := a.Decode(0, &sock); err != nil {
		t.Fatal(err)
	}
	if sock.Nsp != "/" || sock.Transport != "polling" || len(sock.ClientID) != 12 || sock.Handshake.Address != "127.0.0.1" ||
		sock.Handshake.Query["tag"] != "x" || sock.Handshake.Headers["user-agent"] == "" || sock.Handshake.Issued == 0 ||
		!slices.Contains(sock.Rooms, app.ID()) {
		t.Errorf("socket_connected %s", a.Raw(0))
	}
	var ts time.Time
	if err := a.Decode(1, &ts); err != nil || time.Since(ts) > time.Minute {
		t.Errorf("socket_connected timestamp %s: %v", a.Raw(1), err)
	}

	var stats struct {
		ServerID            string `json:"serverId"`
		Hostname            string `json:"hostname"`
		PID                 int    `json:"pid"`
		ClientsCount        int    `json:"clientsCount"`
		PollingClientsCount int    `json:"pollingClientsCount"`
		Namespaces          []struct {
			Name         string `json:"name"`
			SocketsCount int    `json:"socketsCount"`
		} `json:"namespaces"`
		AggregatedEvents []struct {
			Type  string `json:"type"`
			Count int    `json:"count"`
		} `json:"aggregatedEvents"`
	}
	a = u.nextMatching(t, "server_stats", 0, `"pollingClientsCount":1`)
	if err := a.Decode(0, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.ServerID != "go-1" || stats.PID == 0 || stats.Hostname == "" || stats.ClientsCount != 2 {
		t.Errorf("server_stats %s", a.Raw(0))
	}
	counts := map[string]int{}
	for _, n := range stats.Namespaces {
		counts[n.Name] = n.SocketsCount
	}
	if counts["/"] != 1 || counts["/admin"] != 1 {
		t.Errorf("server_stats namespaces %s", a.Raw(0))
	}

	if err := app.Emit("join", "lobby"); err != nil {
		t.Fatal(err)
	}
	// As in Node, the any-listener hears the event before its handler joins the room.
	a = u.nextMatching(t, "event_received", 2, "lobby")
	var nsp, room, id string
	var evArgs []any
	if err := a.DecodeAll(&nsp, &id, &evArgs); err != nil || nsp != "/" || id != app.ID() ||
		!slices.Equal(evArgs, []any{"join", "lobby"}) {
		t.Errorf("event_received %q %q %v %v", nsp, id, evArgs, err)
	}
	a = u.nextMatching(t, "room_joined", 1, "lobby")
	if err := a.DecodeAll(&nsp, &room, &id); err != nil || nsp != "/" || id != app.ID() {
		t.Errorf("room_joined %q %q %q %v", nsp, room, id, err)
	}
	_ = app.Disconnect(context.Background())
	a = u.nextMatching(t, "room_left", 1, "lobby")
	a = u.nextMatching(t, "socket_disconnected", 1, app.ID())
	var reason string
	if err := a.Decode(2, &reason); err != nil || reason != "client namespace disconnect" {
		t.Errorf("socket_disconnected reason %q %v", reason, err)
	}
}

// The operations: join, leave, emit and _disconnect on one socket (filter: its id), a room, a namespace.
func TestOperations(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	srv, url := startServer(t, admin.Options{NoAuth: true})
	u, err := dialUI(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	u.next(t, "config")
	app, err := client.Dial(context.Background(), url, client.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	got := make(chan string, 10)
	client.Handle(app, "notice", func(_ context.Context, _ *client.Socket, v string) { got <- v })
	disconnected := make(chan string, 1)
	app.OnDisconnect(func(reason string) { disconnected <- reason })

	_ = u.s.Emit("join", "/", "vip", app.ID())
	u.nextMatching(t, "room_joined", 1, "vip")
	_ = u.s.Emit("emit", "/", "vip", "notice", "hello vip")
	select {
	case v := <-got:
		if v != "hello vip" {
			t.Errorf("notice %q", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the emit to the room did not arrive")
	}
	_ = u.s.Emit("leave", "/", "vip")
	u.nextMatching(t, "room_left", 1, "vip")
	_ = u.s.Emit("join", "/", "x", "no-such-socket")
	_ = u.s.Emit("_disconnect", "/nope", false, app.ID()) // no such namespace: nothing, and no namespace created
	_ = u.s.Emit("_disconnect", "/", false, app.ID())
	select {
	case r := <-disconnected:
		if r != "io server disconnect" {
			t.Errorf("disconnect reason %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("_disconnect did not disconnect the socket")
	}
	if srv.Namespace("/nope") != nil {
		t.Error("an operation created a namespace")
	}
	// The client hears the DISCONNECT packet before the server has removed the socket.
	for deadline := time.Now().Add(5 * time.Second); len(srv.Of("/").Sockets()) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sockets left in /", len(srv.Of("/").Sockets()))
		}
	}
}

// Read-only: no operation feature, and the operations do nothing. Production mode: stats only.
func TestReadOnlyProduction(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	_, url := startServer(t, admin.Options{NoAuth: true, ReadOnly: true, Mode: admin.Production})
	u, err := dialUI(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg config
	if err := u.next(t, "config").Decode(0, &cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.SupportedFeatures, []admin.Feature{"AGGREGATED_EVENTS"}) {
		t.Errorf("features %v", cfg.SupportedFeatures)
	}
	app, err := client.Dial(context.Background(), url, client.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	disconnected := make(chan string, 1)
	app.OnDisconnect(func(reason string) { disconnected <- reason })
	_ = u.s.Emit("_disconnect", "/", true, app.ID())
	_ = u.s.Emit("join", "/", "r", app.ID())
	// The stats still come, with the connection counted; no socket event comes.
	a := u.nextMatching(t, "server_stats", 0, `"type":"rawConnection"`)
	var stats map[string]json.RawMessage
	_ = a.Decode(0, &stats)
	select {
	case r := <-disconnected:
		t.Fatalf("read-only UI disconnected a socket (%s)", r)
	case <-time.After(300 * time.Millisecond):
	}
	for len(u.events) > 0 {
		if e := <-u.events; e.name != "server_stats" {
			t.Errorf("production mode sent %q", e.name)
		}
	}
}
