package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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
	// Docker cannot run here: the Dockerfile's final stage is read instead. It must be a second stage, with the
	// CA certificates, a non-root user and the data volume; every COPY of the build context names a file of the
	// repository, and .dockerignore keeps history, builds and Node packages out of the context.
	stages := regexp.MustCompile(`(?m)^FROM `).FindAllIndex(docker, -1)
	if len(stages) < 2 {
		t.Fatal("the Dockerfile has one stage")
	}
	final := string(docker[stages[len(stages)-1][0]:])
	for _, want := range []string{
		"\nCOPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n",
		"\nVOLUME /data\n", "\nWORKDIR /data\n", "--chown=65532:65532 /out/data /data",
	} {
		if !strings.Contains(final, want) {
			t.Errorf("the final stage lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^USER [1-9]`).MatchString(final) {
		t.Error("the image does not run as a non-root user")
	}
	for _, m := range regexp.MustCompile(`(?m)^COPY ((?:\S+ )+)\./\S*$`).FindAllStringSubmatch(string(docker), -1) {
		for _, src := range strings.Fields(m[1]) {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil && src != "." {
				t.Errorf("COPY %s: %v", src, err)
			}
		}
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "dist", "**/node_modules", "cmd/sioredis/sioredis"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).Match(ignore) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}

	// The systemd units: valid, their ExecStart pointed at that binary, and hardened to an exposure of 1.5 or less
	// (systemd-analyze security; the units say what they score).
	for _, name := range []string{"sioredis-chat.service", "sioredis-api.service"} {
		unit, err := os.ReadFile(filepath.Join(root, "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		u := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(u, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/sioredis", bin)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("systemd-analyze", "verify", u).CombinedOutput()
		if err != nil || strings.Contains(string(out), name+":") {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
		out, _ = exec.Command("systemd-analyze", "security", "--offline=true", u).CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("systemd-analyze security %s:\n%s", name, out)
		}
		if score, _ := strconv.ParseFloat(string(m[1]), 64); score > 1.5 {
			t.Errorf("%s: exposure %s, want 1.5 or less", name, m[1])
		}
	}
}
