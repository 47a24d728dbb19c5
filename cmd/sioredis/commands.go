package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is one row of the command table, from which the top-level help, each command's help (COMMAND -h) and
// "sioredis help COMMAND" are written.
type command struct {
	name     string
	summary  string   // one line, for the top-level help
	synopsis string   // the arguments, after "sioredis NAME"
	about    string   // what the command does, paragraphs of text (optional)
	examples []string // command lines, each with a comment after "#" if it needs one
}

// commands is the command table, in the order of the top-level help.
var commands = []command{
	{name: "emit", summary: "publish an event to clients",
		synopsis: "[target flags] [--args-file FILE|-] EVENT [ARG...]",
		about: "Publishes EVENT with its arguments to the clients of the Socket.IO cluster on Redis, as a server's\n" +
			"io.to(...).emit(...) does. Each ARG is one JSON value (quote strings: '\"text\"'); {\"$binary\": \"BASE64\"}\n" +
			"anywhere inside one is sent as binary. Bad arguments: exit status 2, nothing published; a Redis error: 1.",
		examples: []string{
			`sioredis emit --to room_777 my_event_name '{"id":"message_id","body":"message_body"}'`,
			`sioredis emit --nsp /admin --to ops --except muted --volatile alert '"disk full"' '{"$binary":"yv4="}'`,
			`echo '["hello", {"n": 1}]' | sioredis emit --args-file - greet`,
			`sioredis emit --mode sharded --cluster --redis 10.0.0.1:7000,10.0.0.2:7000 news '"hi"'`,
		}},
	{name: "join", summary: "make the targeted sockets join rooms", synopsis: "[target flags] ROOM...",
		about:    "Makes the sockets targeted by --to/--except (all the namespace's without --to) join each ROOM (socketsJoin).",
		examples: []string{"sioredis join --to room_777 archive"}},
	{name: "leave", summary: "make the targeted sockets leave rooms", synopsis: "[target flags] ROOM...",
		about:    "Makes the targeted sockets leave each ROOM (socketsLeave).",
		examples: []string{"sioredis leave --except vip room_777"}},
	{name: "disconnect", summary: "disconnect the targeted sockets", synopsis: "[target flags] [--close]",
		about:    "Disconnects the targeted sockets from the namespace (disconnectSockets); --close closes their connections.",
		examples: []string{"sioredis disconnect --to banned --close"}},
	{name: "server-emit", summary: "send an event to the servers",
		synopsis: "[--redis URL] [--mode M] [--prefix P] [--nsp N] [--args-file FILE|-] EVENT [ARG...]",
		about:    "Sends EVENT to the servers of the cluster (serverSideEmit), not to clients.",
		examples: []string{`sioredis server-emit reload-config '{"version":42}'`}},
	{name: "serve", summary: "run a Socket.IO server with a live page",
		synopsis: "[--addr 127.0.0.1:8080] [--redis URL [--mode M]] [--tick D] [--metrics=BOOL]",
		about: "Runs a Socket.IO server with a page where a person joins a room and sees its events arrive, on\n" +
			"127.0.0.1:8080; no Redis needed. With --redis it joins the Socket.IO cluster on that Redis, so that\n" +
			"what sioredis emit publishes there shows up on the page (which joins ?room=, else lobby).",
		examples: []string{
			"sioredis serve",
			"sioredis serve --redis redis://127.0.0.1:6379   # then: sioredis emit --to lobby news '\"hi\"'",
			"sioredis serve --addr :8080 --allow-eio3 --log-format json",
		}},
	{name: "chat", summary: "run the chat: POST → database → emit",
		synopsis: "[--addr 127.0.0.1:8080] [--db FILE|postgres://...] [--redis URL] [--api-keys FILE] [--nsp N] [--event E]",
		about: "Runs the chat application: messages POSTed to /api/messages are saved (SQLite or PostgreSQL), then\n" +
			"published in order to the room's clients through Redis (an outbox: nothing accepted is lost).",
		examples: []string{
			"sioredis chat",
			"sioredis chat --db chat.db --redis redis://10.0.0.5:6379 --mode streams",
			"sioredis chat --addr :8081 --db postgres://chat:secret@10.0.0.6:5432/chat --redis redis://10.0.0.5:6379",
		}},
	{name: "api", summary: "serve the HTTP emit API (API keys)",
		synopsis: "[--addr 127.0.0.1:8090] [--redis URL] [--mode M] [--api-keys FILE] [--key-rate N] [--ip-rate N]",
		about: "Serves POST /v1/emit and the other cluster operations as JSON over HTTP, for backends in any language,\n" +
			"each request authenticated by an API key (lines \"NAME SECRET [SCOPE...]\"). GET /v1/openapi.json\n" +
			"describes it.",
		examples: []string{
			`echo "backend $(openssl rand -hex 24)" > api-keys`,
			"sioredis api --redis redis://10.0.0.5:6379 --api-keys api-keys",
		}},
	{name: "monitor", summary: "print the cluster traffic, decoded",
		synopsis: "[--redis URL] [--mode classic|sharded|streams|all] [--prefix P] [--nsp N] [--room R] [--event E] [--json]",
		about:    monitorAbout,
		examples: []string{"sioredis monitor", "sioredis monitor --json --nsp /admin | jq ."}},
	{name: "version", summary: "print the version (also --version)", synopsis: "",
		about:    "Prints the version, the VCS revision and time of the build, and the Go version.",
		examples: []string{"sioredis version"}},
	{name: "help", summary: "print the help of a command", synopsis: "[COMMAND]",
		examples: []string{"sioredis help emit"}},
}

// lookupCommand returns the row of the command table named name.
func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usageLine is "sioredis NAME SYNOPSIS".
func (c command) usageLine() string {
	return strings.TrimSpace("sioredis " + c.name + " " + c.synopsis)
}

// writeHelp writes the help of the command named by fs.Name(), with the flags of fs (nil: none): its usage line,
// what it does, examples, then the flags.
func writeHelp(w io.Writer, fs *flag.FlagSet) {
	c, _ := lookupCommand(fs.Name())
	fmt.Fprintf(w, "usage: %s\n", c.usageLine())
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", c.about)
	}
	if len(c.examples) > 0 {
		fmt.Fprint(w, "\nExamples:\n")
		for _, e := range c.examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// isHelpFlag reports whether arg asks for help.
func isHelpFlag(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// wantsHelp reports whether a command line asks for help among its leading flags (before the first argument
// that is not a flag, or "--"), where the flag package would find it.
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}

// usage is the top-level help; its table is aligned by text/tabwriter, which counts runes, not bytes.
var usage = func() string {
	var b strings.Builder
	b.WriteString("sioredis — Socket.IO clusters over Redis\n\nusage: sioredis COMMAND [flags] [arguments]\n\nCommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.name, c.summary, strings.TrimSpace(c.name+" "+c.synopsis))
	}
	_ = tw.Flush()
	return b.String() + "\n" + usageFlags
}()

const usageFlags = `Target flags:
  --redis URL          Redis URL (default $REDIS_URL, then redis://127.0.0.1:6379); with --cluster,
                       a comma-separated list of node addresses
  --cluster            connect to a Redis Cluster
  --sentinel-master M  connect through Sentinel (--redis lists the sentinels)
  --mode MODE          classic (default), sharded, streams or legacy
  --prefix P           key prefix / stream name (default socket.io)
  --nsp N              namespace (default /)
  --to ROOM            target a room (repeatable)
  --except ROOM        skip a room (repeatable)
  --volatile           emit: the event may be dropped for clients that are not ready
  --compress=BOOL      emit: ask the servers to compress (or not); absent: the servers' default

Run "sioredis help COMMAND" (or "sioredis COMMAND -h") for a command's examples and every flag.
`
