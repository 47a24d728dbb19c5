package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// versionString describes the build from its build info: the module version ("(devel)" when built from a
// clone), the VCS revision and time and whether the tree had local changes, and the Go version.
func versionString(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "sioredis (no build info)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sioredis %s", v)
	var rev, at, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		fmt.Fprintf(&b, " revision %s", rev)
		if modified == "true" && !strings.HasSuffix(v, "+dirty") {
			b.WriteString("+modified")
		}
	}
	if at != "" {
		fmt.Fprintf(&b, " (%s)", at)
	}
	fmt.Fprintf(&b, " %s", info.GoVersion)
	return b.String()
}

// printVersion writes the version line of this binary.
func printVersion(w io.Writer) {
	info, ok := debug.ReadBuildInfo()
	fmt.Fprintln(w, versionString(info, ok))
}
