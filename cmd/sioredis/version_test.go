package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersion builds the command from this clone as "go install ./cmd/sioredis" does and checks that
// "version" and "--version" print the module version and the VCS revision the binary was built from.
func TestVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sioredis")
	// -buildvcs=true: the environment may set GOFLAGS=-buildvcs=false.
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v", err)
	}
	rev := strings.TrimSpace(string(head))
	want := regexp.MustCompile(`^sioredis \S+ revision ` + rev + `(\+modified)? \(\d{4}-\d\d-\d\dT[0-9:]+Z\) go1\.\S+\n$`)
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if !want.Match(out) {
			t.Errorf("sioredis %s printed %q, want it to match %s", arg, out, want)
		}
	}
	if code, stderr := cli(t, "", "version", "extra"); code != 2 || !strings.Contains(stderr, `unexpected argument "extra"`) {
		t.Errorf("version extra: status %d, stderr %q; want 2 and one line", code, stderr)
	}
}

// TestReleaseVersion: the release archives' build sets main.version (scripts/dist), which the binary then says.
func TestReleaseVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sioredis")
	if out, err := exec.Command("go", "build", "-ldflags=-X main.version=v9.8.7", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "sioredis v9.8.7 ") {
		t.Errorf("version: %q %v, want sioredis v9.8.7 …", out, err)
	}
}
