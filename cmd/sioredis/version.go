package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// version is the release version that the release archives carry, set by their build (scripts/dist:
// -ldflags "-X main.version=vX.Y.Z"); empty otherwise, where the module version of the build info says it.
var version string

// versionString describes the build from its build info: the version (the release archives' own, else the
// module version, "(devel)" when built from a clone), the VCS revision and time and whether the tree had local
// changes, and the Go version.
func versionString(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		if version != "" {
			return "sioredis " + version
		}
		return "sioredis (no build info)"
	}
	v := info.Main.Version
	if version != "" {
		v = version
	}
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
