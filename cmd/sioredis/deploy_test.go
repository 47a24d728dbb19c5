package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfileBuild runs the build stage's go build command of the Dockerfile, as written there (output path
// aside), and checks that the binary is static and runs; then verifies the systemd unit of deploy/ with
// systemd-analyze, its ExecStart pointed at that binary.
func TestDockerfileBuild(t *testing.T) {
	root := filepath.Join("..", "..")
	docker, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*) -o /out/sioredis (\./cmd/sioredis)$`).FindSubmatch(docker)
	if m == nil {
		t.Fatal("no CGO_ENABLED=0 go build line in the Dockerfile")
	}
	bin := filepath.Join(t.TempDir(), "sioredis")
	cmd := exec.Command("sh", "-c", string(m[1])+" -o "+bin+" "+string(m[2]))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked")
		}
	}
	f.Close()
	if out, err := exec.Command(bin, "--version").Output(); err != nil || !strings.HasPrefix(string(out), "sioredis ") {
		t.Errorf("--version: %q %v", out, err)
	}
	if !regexp.MustCompile(`(?m)^USER [1-9]`).Match(docker) {
		t.Error("the image does not run as a non-root user")
	}

	unit, err := os.ReadFile(filepath.Join(root, "deploy", "sioredis-chat.service"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	u := filepath.Join(dir, "sioredis-chat.service")
	if err := os.WriteFile(u, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/sioredis", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", u).CombinedOutput()
	if err != nil || strings.Contains(string(out), "sioredis-chat.service:") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
