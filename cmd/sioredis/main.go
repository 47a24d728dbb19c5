// Command sioredis talks to Socket.IO clusters through Redis: it emits
// events and cluster commands in the format of the Socket.IO Redis adapters.
//
// Usage:
//
//	sioredis emit        [target flags] [--args-file FILE|-] EVENT [ARG...]
//	sioredis join        [target flags] ROOM...
//	sioredis leave       [target flags] ROOM...
//	sioredis disconnect  [target flags] [--close]
//	sioredis server-emit [connection flags] [--nsp N] [--args-file FILE|-] EVENT [ARG...]
//	sioredis serve       [--addr 127.0.0.1:8080] [--redis URL [--mode classic|sharded|streams]] [--tick D] [--allow-eio3] [--admin ...] [--metrics=BOOL] [timeout flags]
//	sioredis chat        [--addr 127.0.0.1:8080] [--db FILE] [--redis URL [--cluster|--sentinel-master M] [--prefix P]] [--nsp N] [--event E]
//	sioredis api         [--addr 127.0.0.1:8090] [--redis URL] [--mode classic|sharded|streams] [--api-keys FILE] [rate flags]
//	sioredis monitor     [--redis URL] [--mode classic|sharded|streams|all] [--prefix P] [--nsp N] [--room R] [--event E] [--json]
//	sioredis version     (also --version)
//
// Each ARG is one JSON value; {"$binary": "BASE64"} anywhere in a value is
// sent as binary. Bad arguments exit with status 2 and publish nothing; a
// Redis error exits with status 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/redis/go-redis/v9/logging"
)

// usageError marks errors in the command line: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// parseFlags parses the flags of a command that takes no positional argument: -h is errHelp, anything wrong a
// usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard) // an error is reported in one line by run, not with the whole usage
	err := fs.Parse(args)
	fs.SetOutput(out)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return errHelp
		}
		return usagef("%w (run sioredis %s -h)", err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// commands are the rows of the top-level help: name, what it does, synopsis.
var commands = [][3]string{
	{"emit", "publish an event to clients", "emit [target flags] [--args-file FILE|-] EVENT [ARG...]"},
	{"join", "make the targeted sockets join rooms", "join [target flags] ROOM..."},
	{"leave", "make the targeted sockets leave rooms", "leave [target flags] ROOM..."},
	{"disconnect", "disconnect the targeted sockets", "disconnect [target flags] [--close]"},
	{"server-emit", "send an event to the servers", "server-emit [--redis --mode --prefix --nsp] [--args-file FILE|-] EVENT [ARG...]"},
	{"serve", "run a Socket.IO server with a live page", "serve [--addr 127.0.0.1:8080] [--redis URL [--mode M]] [--tick D] [--metrics=BOOL]"},
	{"chat", "run the chat: POST → database → emit", "chat [--addr 127.0.0.1:8080] [--db FILE|postgres://...] [--redis URL] [--api-keys FILE] [--prefix P] [--nsp N] [--event E]"},
	{"api", "serve the HTTP emit API (API keys)", "api [--addr 127.0.0.1:8090] [--redis URL] [--mode M] [--api-keys FILE] [--key-rate N] [--ip-rate N]"},
	{"monitor", "print the cluster traffic, decoded", "monitor [--redis URL] [--mode classic|sharded|streams|all] [--prefix P] [--nsp N] [--room R] [--event E] [--json]"},
	{"version", "print the version (also --version)", "version"},
}

// usage is the top-level help; its table is aligned by text/tabwriter, which counts runes, not bytes.
var usage = func() string {
	var b strings.Builder
	b.WriteString("sioredis — Socket.IO clusters over Redis\n\nCommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c[0], c[1], c[2])
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

Run "sioredis COMMAND -h" for every flag of a command.
`

func main() {
	// go-redis logs dial retries to stderr on its own; the commands report
	// errors themselves, in one line.
	logging.Disable()
	// SIGTERM (docker stop, systemd, Kubernetes) shuts down as gracefully as Ctrl-C.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// trimPrefixes removes from msg the prefixes that repeat what the line already says, "sioredis: " and
// "COMMAND: " (the chat's errors start with "chat: "), however many there are.
func trimPrefixes(msg, cmd string) string {
	for {
		t := strings.TrimPrefix(strings.TrimPrefix(msg, "sioredis: "), cmd+": ")
		if t == msg {
			return msg
		}
		msg = t
	}
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "emit", "join", "leave", "disconnect", "server-emit":
		err = runEmitter(ctx, args[0], args[1:], stdin, stdout, stderr)
	case "monitor":
		err = runMonitor(ctx, args[1:], stdout, stderr)
	case "serve":
		err = runServe(ctx, args[1:], stderr)
	case "chat":
		err = runChat(ctx, args[1:], stderr)
	case "api":
		err = runAPI(ctx, args[1:], stderr)
	case "version", "--version", "-version":
		if len(args) > 1 {
			err = usagef("unexpected argument %q", args[1])
			break
		}
		printVersion(stdout)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usagef("unknown command %q (run sioredis --help)", args[0])
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "sioredis %s: %s\n", args[0], trimPrefixes(err.Error(), args[0]))
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}
