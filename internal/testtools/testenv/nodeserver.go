package testenv

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Flavor selects the Socket.IO server version and Redis adapter run by testpeers/server.js.
type Flavor string

// The server flavors. Versions are pinned in testpeers/package.json.
const (
	// FlavorV4Classic is socket.io 4.8 with @socket.io/redis-adapter 8.3.0 createAdapter (PUBLISH/PSUBSCRIBE).
	FlavorV4Classic Flavor = "v4-classic"
	// FlavorV4ShardedStatic is createShardedAdapter with subscriptionMode "static" (SPUBLISH/SSUBSCRIBE).
	FlavorV4ShardedStatic Flavor = "v4-sharded-static"
	// FlavorV4ShardedDynamic is createShardedAdapter with subscriptionMode "dynamic" (one channel per public room).
	FlavorV4ShardedDynamic Flavor = "v4-sharded-dynamic"
	// FlavorV4ShardedDynamicPrivate is createShardedAdapter with subscriptionMode "dynamic-private" (one channel
	// per room, socket-id rooms included).
	FlavorV4ShardedDynamicPrivate Flavor = "v4-sharded-dynamic-private"
	// FlavorV4Streams is socket.io 4.8 with @socket.io/redis-streams-adapter 0.3.1.
	FlavorV4Streams Flavor = "v4-streams"
	// FlavorV4Streams02 is socket.io 4.8 with @socket.io/redis-streams-adapter 0.2.3: every message in the
	// stream, the server count from heartbeats.
	FlavorV4Streams02 Flavor = "v4-streams-02"
	// FlavorV2Classic is socket.io 2.5.1 with socket.io-redis 5.4.0 (its own redis@3 clients).
	FlavorV2Classic Flavor = "v2-classic"
)

// NodeServerConfig configures [StartNodeServer].
type NodeServerConfig struct {
	// Flavor is required.
	Flavor Flavor
	// RedisAddrs are "host:port" addresses. The v4 flavors use a node-redis cluster client when there is more than
	// one address or when the single address is a cluster node (INFO cluster), a standalone client otherwise;
	// v2-classic takes exactly one address.
	RedisAddrs []string
	// SentinelAddrs, with SentinelMaster, replace RedisAddrs: the server's ioredis clients find the master through
	// these sentinels and follow its failovers (FlavorV4Classic and FlavorV4Streams only).
	SentinelAddrs []string
	// SentinelMaster is the master's name in the sentinels (SentinelGroup.MasterName).
	SentinelMaster string
	// FailoverDetector sets ioredis's failoverDetector option on the Sentinel clients, with which they follow a
	// planned failover too (without it, they stay on the demoted master, which keeps answering them).
	FailoverDetector bool
	// Namespaces are served in addition to "/" (a missing leading "/" is added).
	Namespaces []string
	// Prefix is the adapter's key / channelPrefix / streamName; default "socket.io".
	Prefix string
	// StreamCount is the streams adapter's streamCount; default 1.
	StreamCount int
	// Parser is the classic adapter's parser option: "" for its default (notepack.io), "json" for a
	// JSON.stringify/JSON.parse parser.
	Parser string
	// SocketParser is the Socket.IO server's parser option (v4 flavors): "" or "json" for the default, "msgpack"
	// for socket.io-msgpack-parser; its clients must use the same (ClientSpec.Parser).
	SocketParser string
	// SSEEvents are the event names for which serverSideEmit lines are reported; default "hello" and "ping-all".
	SSEEvents []string
	// RedisMode forces "cluster" or "standalone" clients; "" or "auto" detects.
	RedisMode string
	// RequestsTimeout is the classic adapter's requestsTimeout (v4-classic; rounded down to milliseconds), which
	// bounds its serverSideEmit with acknowledgements, fetchSockets and allRooms; 0 for the adapter's default, 5 s.
	RequestsTimeout time.Duration
	// Recovery, when positive, turns on connection state recovery with this maxDisconnectionDuration (v4
	// flavors).
	Recovery time.Duration
	// AdminServerID, when not empty, instruments the server for the admin UI (@socket.io/admin-ui's instrument,
	// without authentication) with this serverId (v4 flavors).
	AdminServerID string
}

// NodeServer is a running testpeers/server.js process.
type NodeServer struct {
	// Port is the HTTP port the server listens on, on 127.0.0.1.
	Port int
	// Config is the configuration it was started with.
	Config NodeServerConfig

	proc *peerProcess
}

const peerStartTimeout = 30 * time.Second

// StartNodeServer starts a Socket.IO server and waits (at most 30 s) until it listens and Redis has confirmed its
// adapter subscriptions. It is stopped at test cleanup: stdin is closed, then SIGTERM and SIGKILL follow if needed.
func StartNodeServer(tb testing.TB, cfg NodeServerConfig) *NodeServer {
	tb.Helper()
	return StartNodeServers(tb, cfg)[0]
}

// StartNodeServers is StartNodeServer for several servers, started at once and waited for together (their
// start-ups, Node's module loading above all, overlap).
func StartNodeServers(tb testing.TB, cfgs ...NodeServerConfig) []*NodeServer {
	tb.Helper()
	procs := make([]*peerProcess, len(cfgs))
	for i, cfg := range cfgs {
		procs[i] = launchNodeServer(tb, cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), peerStartTimeout)
	defer cancel()
	servers := make([]*NodeServer, len(cfgs))
	for i, p := range procs {
		lines, err := p.waitLines(ctx, 1, LineType("ready"), nil)
		if err != nil {
			tb.Fatalf("testenv: %s not ready: %v\nstderr:\n%s", p.label, err, p.stderr.String())
		}
		port, _ := lines[0].Fields["port"].(float64)
		if port <= 0 {
			tb.Fatalf("testenv: %s: bad ready line %s", p.label, lines[0].Raw)
		}
		servers[i] = &NodeServer{Port: int(port), Config: cfgs[i], proc: p}
	}
	return servers
}

// launchNodeServer starts testpeers/server.js for cfg without waiting for it.
func launchNodeServer(tb testing.TB, cfg NodeServerConfig) *peerProcess {
	tb.Helper()
	if cfg.Flavor == "" {
		tb.Fatalf("testenv: NodeServerConfig.Flavor is required")
	}
	args := []string{"server.js", "--flavor", string(cfg.Flavor), "--port", "0"}
	switch {
	case len(cfg.SentinelAddrs) > 0 && len(cfg.RedisAddrs) == 0 && cfg.SentinelMaster != "":
		args = append(args, "--sentinels", strings.Join(cfg.SentinelAddrs, ","), "--sentinel-master", cfg.SentinelMaster)
		if cfg.FailoverDetector {
			args = append(args, "--failover-detector")
		}
	case len(cfg.SentinelAddrs) == 0 && len(cfg.RedisAddrs) > 0:
		args = append(args, "--redis", strings.Join(cfg.RedisAddrs, ","))
	default:
		tb.Fatalf("testenv: NodeServerConfig needs RedisAddrs, or SentinelAddrs with SentinelMaster")
	}
	for _, n := range cfg.Namespaces {
		args = append(args, "--nsp", n)
	}
	if cfg.Prefix != "" {
		args = append(args, "--prefix", cfg.Prefix)
	}
	if cfg.Parser != "" {
		args = append(args, "--parser", cfg.Parser)
	}
	if cfg.SocketParser != "" {
		args = append(args, "--sio-parser", cfg.SocketParser)
	}
	if cfg.StreamCount > 0 {
		args = append(args, "--stream-count", strconv.Itoa(cfg.StreamCount))
	}
	for _, e := range cfg.SSEEvents {
		args = append(args, "--sse-event", e)
	}
	if cfg.RedisMode != "" {
		args = append(args, "--redis-mode", cfg.RedisMode)
	}
	if cfg.Recovery > 0 {
		args = append(args, "--recovery-ms", strconv.FormatInt(cfg.Recovery.Milliseconds(), 10))
	}
	if cfg.RequestsTimeout > 0 {
		args = append(args, "--requests-timeout", strconv.FormatInt(cfg.RequestsTimeout.Milliseconds(), 10))
	}
	if cfg.AdminServerID != "" {
		args = append(args, "--admin", cfg.AdminServerID)
	}
	label := fmt.Sprintf("node server (%s)", cfg.Flavor)
	return startPeer(tb, label, args...)
}

// Pid returns the process id of the server, to read its resource usage.
func (s *NodeServer) Pid() int { return s.proc.cmd.Process.Pid }

// URL returns "http://127.0.0.1:port", the base URL for clients.
func (s *NodeServer) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.Port) }

// Client returns a [ClientSpec] for this server.
func (s *NodeServer) Client(name, nsp string, rooms ...string) ClientSpec {
	return ClientSpec{Name: name, URL: s.URL(), Nsp: nsp, Rooms: rooms}
}

// Lines returns a snapshot of every line printed so far.
func (s *NodeServer) Lines() []Line { return s.proc.snapshot() }

// Wait returns the first line (since start) that satisfies match, waiting for it if needed.
func (s *NodeServer) Wait(ctx context.Context, match func(Line) bool) (Line, error) {
	lines, err := s.proc.waitLines(ctx, 1, match, nil)
	if err != nil {
		return Line{}, err
	}
	return lines[0], nil
}

// WaitN waits until n lines (since start) satisfy match and returns the first n.
func (s *NodeServer) WaitN(ctx context.Context, n int, match func(Line) bool) ([]Line, error) {
	return s.proc.waitLines(ctx, n, match, nil)
}

// ServerSideEmit matches the "serverSideEmit" lines of the given namespace and event.
func ServerSideEmit(nsp, event string) func(Line) bool {
	return func(l Line) bool {
		return l.Type == "serverSideEmit" && l.Get("nsp") == nsp && l.Get("event") == event
	}
}

// Rooms returns the sorted rooms of socket id in namespace nsp (its own id room included). It returns an error when
// no such socket is connected to this server.
func (s *NodeServer) Rooms(ctx context.Context, nsp, id string) ([]string, error) {
	l, err := s.proc.request(ctx, map[string]any{"cmd": "rooms", "nsp": nsp, "id": id})
	if err != nil {
		return nil, err
	}
	var reply struct {
		Rooms []string `json:"rooms"`
	}
	if err := l.Decode(&reply); err != nil {
		return nil, err
	}
	return reply.Rooms, nil
}

// SocketInfo describes a socket connected to a [NodeServer].
type SocketInfo struct {
	ID    string   `json:"id"`
	Rooms []string `json:"rooms"`
}

// Sockets returns the sockets connected to this server in namespace nsp, sorted by id.
func (s *NodeServer) Sockets(ctx context.Context, nsp string) ([]SocketInfo, error) {
	l, err := s.proc.request(ctx, map[string]any{"cmd": "sockets", "nsp": nsp})
	if err != nil {
		return nil, err
	}
	var reply struct {
		Sockets []SocketInfo `json:"sockets"`
	}
	if err := l.Decode(&reply); err != nil {
		return nil, err
	}
	return reply.Sockets, nil
}

// FetchSockets returns the sockets of namespace nsp on every server of the cluster (the adapter's fetchSockets(),
// v4 flavors only), sorted by id; URL is the handshake URL each server reports.
func (s *NodeServer) FetchSockets(ctx context.Context, nsp string) ([]FetchedSocket, error) {
	l, err := s.proc.request(ctx, map[string]any{"cmd": "fetchSockets", "nsp": nsp})
	if err != nil {
		return nil, err
	}
	var reply struct {
		Sockets []FetchedSocket `json:"sockets"`
	}
	if err := l.Decode(&reply); err != nil {
		return nil, err
	}
	return reply.Sockets, nil
}

// EmitWithAck broadcasts event to rooms of namespace nsp across the cluster with acknowledgements (v4 flavors)
// and returns the acknowledgements, as JSON, once every client answered or the 5 s timeout ends it (an error).
func (s *NodeServer) EmitWithAck(ctx context.Context, nsp, event string, rooms ...string) ([]json.RawMessage, error) {
	l, err := s.proc.request(ctx, map[string]any{"cmd": "emitWithAck", "nsp": nsp, "event": event, "rooms": rooms})
	if err != nil {
		return nil, err
	}
	var reply struct {
		Responses []json.RawMessage `json:"responses"`
	}
	if err := l.Decode(&reply); err != nil {
		return nil, err
	}
	return reply.Responses, nil
}

// ServerSideEmitWithAck calls the adapter's serverSideEmitWithAck(event, ...args) on namespace nsp (v4 flavors)
// and returns the other servers' acknowledgements, as JSON, one per server. In args, []byte is sent as a Buffer.
// The servers' event "ack-me" is acknowledged by every Node server with {"from":"node","args":[...]}. When the
// adapter's requestsTimeout ends the wait first, the error carries Node's message ("timeout reached: only N
// responses received out of M") and the responses received until then are returned with it.
func (s *NodeServer) ServerSideEmitWithAck(ctx context.Context, nsp, event string, args ...any) ([]json.RawMessage, error) {
	if args == nil {
		args = []any{}
	}
	l, err := s.proc.request(ctx, map[string]any{"cmd": "serverSideEmitWithAck", "nsp": nsp, "event": event, "args": jsonSafe(args)})
	if len(l.Raw) == 0 {
		return nil, err
	}
	var reply struct {
		Responses []json.RawMessage `json:"responses"`
	}
	if derr := l.Decode(&reply); derr != nil && err == nil {
		err = derr
	}
	return reply.Responses, err
}

// NodeOp is an operation of a Node server's own (NodeServer.Op).
type NodeOp struct {
	// Op is "emit", "socketsJoin", "socketsLeave", "disconnectSockets" or "serverSideEmit".
	Op     string   `json:"op"`
	Nsp    string   `json:"nsp,omitempty"`
	Event  string   `json:"event,omitempty"`
	Args   []any    `json:"args,omitempty"`
	Rooms  []string `json:"rooms,omitempty"`
	Except []string `json:"except,omitempty"`
	// Volatile makes an emit volatile.
	Volatile bool `json:"volatile,omitempty"`
	// TargetRooms are the rooms of socketsJoin and socketsLeave.
	TargetRooms []string `json:"targetRooms,omitempty"`
	// Close, for disconnectSockets, closes the connections.
	Close bool `json:"close,omitempty"`
}

// Op runs op on the Node server: io.of(nsp).to(rooms).except(except)[.volatile].op(...) (v4 flavors). In Args,
// []byte is sent as a Buffer.
func (s *NodeServer) Op(ctx context.Context, op NodeOp) error {
	cmd := map[string]any{"cmd": "op", "op": op.Op, "nsp": op.Nsp, "event": op.Event, "args": jsonSafe(op.Args),
		"rooms": op.Rooms, "except": op.Except, "volatile": op.Volatile, "targetRooms": op.TargetRooms, "close": op.Close}
	if op.Args == nil {
		cmd["args"] = []any{}
	}
	_, err := s.proc.request(ctx, cmd)
	return err
}

// jsonSafe replaces the []byte in v (at any depth of []any and map[string]any) by {"$binary": base64}, the form
// the peers turn back into a Buffer.
func jsonSafe(v any) any {
	switch x := v.(type) {
	case []byte:
		return map[string]string{"$binary": base64.StdEncoding.EncodeToString(x)}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonSafe(e)
		}
		return out
	}
	return v
}

// FetchedSocket is one socket of [NodeServer.FetchSockets].
type FetchedSocket struct {
	ID    string   `json:"id"`
	Rooms []string `json:"rooms"`
	URL   string   `json:"url"`
}

// ServerCount returns the adapter's serverCount() for namespace nsp (v4 flavors only): the number of subscribers
// that the servers count as Socket.IO servers.
func (s *NodeServer) ServerCount(ctx context.Context, nsp string) (int, error) {
	l, err := s.proc.request(ctx, map[string]any{"cmd": "serverCount", "nsp": nsp})
	if err != nil {
		return 0, err
	}
	var reply struct {
		Count json.Number `json:"count"`
	}
	if err := l.Decode(&reply); err != nil {
		return 0, err
	}
	n, err := reply.Count.Int64()
	return int(n), err
}

// Stderr returns the end of the server's standard error.
func (s *NodeServer) Stderr() string { return s.proc.stderr.String() }

// Stop shuts the server down now (as at cleanup) and waits for it to exit.
func (s *NodeServer) Stop() { s.proc.stop() }

// Exited reports whether the server process has exited, and how.
func (s *NodeServer) Exited() (bool, error) { return s.proc.exitedErr() }
