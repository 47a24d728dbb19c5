package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/leakcheck"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// suiteHandlers sets up the server that testpeers/sio-client-suite.js expects.
func suiteHandlers(reasons *sync.Map) func(*testServer, *Server) {
	return func(ts *testServer, srv *Server) {
		welcome := func(ctx context.Context, s *Socket) {
			var auth any
			if s.Handshake().Auth != nil {
				_ = json.Unmarshal(s.Handshake().Auth, &auth)
			}
			_ = s.Emit("welcome", map[string]any{"id": s.ID(), "nsp": s.Namespace().Name(), "auth": auth, "data": s.Data(),
				"queryToken": s.Handshake().Query.Get("token")})
			s.OnDisconnect(func(reason DisconnectReason) { reasons.Store(s.ID(), string(reason)) })
			s.OnDisconnecting(func(ctx context.Context, reason DisconnectReason) {
				// Still in its rooms: tell the others of each room.
				for _, r := range s.Rooms() {
					if r != s.ID() {
						_ = s.To(r).Emit(ctx, "peer-leaving", map[string]any{"id": s.ID(), "room": r, "reason": string(reason), "rooms": len(s.Rooms())})
					}
				}
			})
			registerSuiteEvents(s, ts)
		}
		srv.Of("/").OnConnection(welcome)
		admin := srv.Of("/admin")
		admin.Use(func(ctx context.Context, s *Socket) error {
			var auth struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			if auth.Token != "secret" {
				return &ConnectError{Message: "not authorized", Data: map[string]int{"code": 401}}
			}
			return nil
		})
		admin.OnConnection(welcome)
		srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).OnConnection(welcome)
		// Server-level middleware: runs before every namespace's own, and can refuse or annotate.
		srv.Use(func(ctx context.Context, s *Socket) error {
			var auth struct {
				Banned bool `json:"banned"`
			}
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			if auth.Banned {
				return &ConnectError{Message: "banned", Data: map[string]any{"nsp": s.Namespace().Name()}}
			}
			s.SetData(map[string]string{"checkedBy": "server middleware"})
			return nil
		})
		// Dynamic namespaces /team-NAME, created only for a client whose auth names that team; the parent's
		// middleware and broadcasts apply to all of them.
		teams := srv.OfFunc(func(ctx context.Context, name string, auth json.RawMessage) bool {
			var a struct {
				Team string `json:"team"`
			}
			_ = json.Unmarshal(auth, &a)
			return a.Team != "" && name == "/team-"+a.Team
		})
		teams.Use(func(ctx context.Context, s *Socket) error {
			var a struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(s.Handshake().Auth, &a)
			if a.Token != "team-secret" {
				return &ConnectError{Message: "bad team token"}
			}
			return nil
		})
		teams.OnConnection(welcome)
		teams.OnConnection(func(ctx context.Context, s *Socket) {
			s.On("team-broadcast", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
				var msg string
				_ = args.Decode(0, &msg)
				_ = teams.Emit(ctx, "team-msg", msg, s.Namespace().Name())
				_ = ack()
			})
		})
		srv.Of("/").OnConnection(func(ctx context.Context, s *Socket) {
			s.On("reason-of", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
				var id string
				_ = args.Decode(0, &id)
				r, _ := reasons.Load(id)
				_ = ack(r)
			})
		})
	}
}

func registerSuiteEvents(s *Socket, ts *testServer) {
	ns := s.Namespace()
	s.On("echo", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		vals, err := args.Values()
		if err != nil {
			panic(err)
		}
		_ = s.Emit("echo", vals...)
	})
	s.On("echo-ack", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		vals, _ := args.Values()
		_ = ack(vals...)
	})
	// Relays (scenario "relay fidelity"): what a handler decodes, sent on.
	s.On("relay-struct", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var v struct {
			K    any            `json:"k"`
			List []any          `json:"list"`
			Map  map[string]any `json:"map"`
			S    string         `json:"s"`
		}
		if err := args.Decode(0, &v); err != nil {
			panic(err)
		}
		_ = ack(v)
	})
	Handle(s, "relay-typed", func(ctx context.Context, s *Socket, v struct {
		K any `json:"k"`
	}) {
		_ = s.Emit("relayed-typed", v)
	})
	s.On("relay-ordered", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		vals, err := args.ValuesOrdered()
		if err != nil {
			panic(err)
		}
		_ = ack(vals...)
	})
	s.On("relay-raw", func(ctx context.Context, s *Socket, args Args, ack AckFunc) { _ = ack(args.Raw(0)) })
	s.On("ask-client", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var n int
		_ = args.Decode(0, &n)
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		res, err := s.EmitWithAck(ctx, "question", n)
		if err != nil {
			_ = s.Emit("answer", "error: "+err.Error())
			return
		}
		vals, _ := res.Values()
		_ = s.Emit("answer", vals...)
	})
	type terms struct{ A, B int }
	type sum struct {
		Sum int `json:"sum"`
	}
	HandleAck(s, "sum", func(ctx context.Context, s *Socket, t terms) sum { return sum{t.A + t.B} })
	s.On("send-binary", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		_ = s.Emit("bin", []byte{0xca, 0xfe}, map[string]any{"inner": []byte{0xbe, 0xef}})
	})
	// The same value sent directly, broadcast and as an acknowledgement: []byte fields are binary and time.Time
	// is a JavaScript date string, as the Redis emitter sends them.
	type file struct {
		Name  string            `json:"name"`
		Data  []byte            `json:"data"`
		At    time.Time         `json:"at"`
		Parts map[string][]byte `json:"parts"`
		Empty []byte            `json:"empty"`
	}
	s.On("send-struct", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		f := file{Name: "f.bin", Data: []byte{1, 2, 3}, At: time.Date(2017, 12, 19, 15, 0, 0, 7e6, time.FixedZone("CET", 3600)),
			Parts: map[string][]byte{"a": {4}, "b": {5, 6}}}
		_ = s.Emit("struct", f)
		_ = ns.To(s.ID()).Emit(ctx, "struct-broadcast", f)
		_ = ack(f)
	})
	s.On("volatile-burst", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var n int
		_ = args.Decode(0, &n)
		for i := range n {
			_ = s.Volatile().Emit("v", i)
		}
		for i := range n {
			_ = ns.To(s.ID()).Volatile().Emit(ctx, "vb", i)
		}
		_ = s.Emit("v-done", n)
	})
	s.On("sentinel-please", func(ctx context.Context, s *Socket, args Args, ack AckFunc) { _ = s.Emit("sentinel") })
	s.On("join", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var room string
		_ = args.Decode(0, &room)
		s.Join(room)
		_ = ack(s.Rooms())
	})
	s.On("leave", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var room string
		_ = args.Decode(0, &room)
		s.Leave(room)
		_ = ack()
	})
	s.On("to-room", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var room, msg string
		_ = args.DecodeAll(&room, &msg)
		_ = s.To(room).Emit(ctx, "room-msg", msg)
		_ = ack()
	})
	s.On("server-to-room", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var room, msg string
		_ = args.DecodeAll(&room, &msg)
		_ = ns.To(room).Emit(ctx, "room-msg", msg)
		_ = ack()
	})
	s.On("server-to-room-except", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var room, except, msg string
		_ = args.DecodeAll(&room, &except, &msg)
		_ = ns.To(room).Except(except).Emit(ctx, "room-msg", msg)
		_ = ack()
	})
	s.On("set-data", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var v any
		_ = args.Decode(0, &v)
		s.SetData(v)
		_ = ack()
	})
	s.On("fetch", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var room string
		_ = args.Decode(0, &room)
		socks, err := ns.In(room).FetchSockets(ctx)
		if err != nil {
			panic(err)
		}
		ids := []string{}
		var dataOfA any
		for _, r := range socks {
			ids = append(ids, r.ID)
			if r.ID == s.ID() {
				dataOfA = r.Data
			}
		}
		_ = ns.In(room).SocketsJoin(ctx, "f2")
		inF2 := []string{}
		f2, _ := ns.In("f2").FetchSockets(ctx)
		for _, r := range f2 {
			inF2 = append(inF2, r.ID)
		}
		_ = ns.In(room).SocketsLeave(ctx, "f2")
		_ = ack(map[string]any{"ids": ids, "dataOfA": dataOfA, "inF2": inF2})
	})
	s.On("disconnect-room", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var id string
		_ = args.Decode(0, &id)
		_ = ns.In(id).DisconnectSockets(ctx, false)
		_ = ack()
	})
	s.On("disconnect-me", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var close bool
		_ = args.Decode(0, &close)
		s.Disconnect(close)
	})
	// Broadcast with acknowledgements: "ping-all" (n and a binary argument) to the sockets of a room, waiting
	// ms milliseconds at most; the caller gets the answers (in arrival order) and the error.
	s.On("broadcast-ack", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		var room string
		var ms, n int
		_ = args.DecodeAll(&room, &ms, &n)
		ctx, cancel := context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
		defer cancel()
		res, err := ns.To(room).EmitWithAck(ctx, "ping-all", n, []byte{1, 2, 3})
		answers := []any{}
		for _, r := range res {
			vals, verr := r.Values()
			if verr != nil {
				panic(verr)
			}
			answers = append(answers, vals)
		}
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		// The acknowledgements still expected once it has returned are forgotten (socket.io 4.8.4 frees them
		// too): "pending" counts those the sockets of the room still hold, 2 s at most after the return.
		pending := 0
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			pending = 0
			for _, r := range ns.selected([]string{room}, nil) {
				r.mu.Lock()
				pending += len(r.acks)
				r.mu.Unlock()
			}
			if pending == 0 || time.Now().After(deadline) {
				break
			}
		}
		_ = ack(map[string]any{
			"answers":  answers,
			"error":    errText,
			"timedOut": errors.Is(err, ErrAckTimeout) && errors.Is(err, context.DeadlineExceeded),
			"pending":  pending,
		})
	})
	s.On("restart-server", func(ctx context.Context, s *Socket, args Args, ack AckFunc) {
		ts.restart(300 * time.Millisecond)
	})
}

type suiteResult struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// suiteResults reads the output of a testpeers scenario suite (one JSON result a line), runs a subtest per
// scenario that fails with the scenario's error, and returns how many scenarios ran.
func suiteResults(t *testing.T, out []byte) int {
	t.Helper()
	dec := json.NewDecoder(bytesReader(out))
	n := 0
	for {
		var r suiteResult
		if err := dec.Decode(&r); err != nil {
			if !errors.Is(err, errEOF) {
				t.Fatalf("suite output: %v\n%s", err, out)
			}
			return n
		}
		if r.Type != "result" {
			continue
		}
		n++
		t.Run(r.Name, func(t *testing.T) {
			if !r.OK {
				t.Error(r.Error)
			}
		})
	}
}

// TestNodeClient runs real socket.io-client 4.8 scenarios against the server, on each transport setup.
func TestNodeClient(t *testing.T) {
	t.Cleanup(leakcheck.Check(t))
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			var reasons sync.Map
			ts := startTestServer(t, fastHeartbeat(), suiteHandlers(&reasons))
			out := testenv.RunNode(t, "sio-client-suite.js", "--url", ts.URL(), "--mode", mode)
			n := suiteResults(t, out)
			if n < 15 {
				t.Fatalf("only %d scenarios ran:\n%s", n, out)
			}
			ts.close()
		})
	}
}
