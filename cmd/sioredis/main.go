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
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

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
			writeHelp(out, fs)
			return errHelp
		}
		return usagef("%w (run sioredis %s -h)", err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

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
	if wantsHelp(args[1:]) {
		stderr = stdout // asked for, the help goes to stdout, as that of "sioredis help COMMAND"
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
		switch {
		case len(args) > 1 && isHelpFlag(args[1]):
			writeHelp(stdout, flag.NewFlagSet("version", flag.ContinueOnError))
			return 0
		case len(args) > 1:
			err = usagef("unexpected argument %q", args[1])
		default:
			printVersion(stdout)
			return 0
		}
	case "help":
		switch {
		case len(args) == 1:
			fmt.Fprint(stdout, usage)
			return 0
		case len(args) > 2:
			err = usagef("unexpected argument %q", args[2])
		case args[1] == "help":
			writeHelp(stdout, flag.NewFlagSet("help", flag.ContinueOnError))
			return 0
		default:
			if _, ok := lookupCommand(args[1]); !ok {
				err = usagef("unknown command %q (run sioredis help)", args[1])
				break
			}
			return run(ctx, []string{args[1], "-h"}, stdin, stdout, stdout)
		}
	case "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usagef("unknown command %q (run sioredis help)", args[0])
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

// logShutdown logs, when ctx ends (Ctrl-C, SIGTERM), that the server is shutting down; the function it returns,
// called with the server's result once it has stopped, logs that it stopped and how long the shutdown took. A
// server that stops on its own (an error) logs neither.
func logShutdown(ctx context.Context, logger *slog.Logger) (stopped func(err error)) {
	var began time.Time
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		began = time.Now()
		logger.Info("shutting down: finishing the requests in progress")
	})
	return func(err error) {
		if stop() {
			return // ctx had not ended
		}
		<-done
		if err == nil {
			logger.Info("stopped", "took", time.Since(began).Round(time.Millisecond))
		}
	}
}
