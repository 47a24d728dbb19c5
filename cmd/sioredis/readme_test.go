package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// readmeBlock returns the first code block of README.md in lang that follows the text after.
func readmeBlock(t *testing.T, after, lang string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), after)
	if !ok {
		t.Fatalf("README.md no longer says %q", after)
	}
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)\n```").FindStringSubmatch(rest)
	if m == nil {
		t.Fatalf("no %s block after %q", lang, after)
	}
	return m[1] + "\n"
}

// TestReadmeGoClientAgainstServe runs the README's Go client program, as printed but for the server's address,
// against "sioredis serve": it joins room_777, says "hi" there and gets it back.
func TestReadmeGoClientAgainstServe(t *testing.T) {
	src := readmeBlock(t, "This program talks to `sioredis serve`", "go")
	base, _ := startServe(t)
	if !strings.Contains(src, `"http://localhost:8080/"`) {
		t.Fatal("the README's client no longer dials http://localhost:8080/")
	}
	src = strings.Replace(src, `"http://localhost:8080/"`, `"`+base+`/"`, 1)
	// A package of this module (which requires the library), removed after the test.
	dir, err := os.MkdirTemp(".", "zz_readme_client_")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "run", "./"+filepath.Base(dir)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "in room_777 with 1 socket(s)\n") || !strings.Contains(string(out), "got: hi\n") {
		t.Fatalf("the README's client: %v\n%s", err, out)
	}
}

// TestReadmePythonAgainstAPI runs the README's Python script, as printed but for the API's address, beside the
// key file the README writes, against "sioredis api" on real Redis: it prints 200 and the event is published.
func TestReadmePythonAgainstAPI(t *testing.T) {
	src := readmeBlock(t, "**HTTP API, from any language**", "python")
	r := testenv.StartRedis(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "api-keys"), []byte("backend sk_readme_0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := subscribeAll(t, r.Client(t))
	url, _ := startServing(t, "api", "--addr", "127.0.0.1:0", "--redis", r.URL(), "--api-keys", filepath.Join(dir, "api-keys"))
	url = strings.TrimSuffix(strings.TrimSuffix(url, "/"), "/v1")
	if !strings.Contains(src, `"http://127.0.0.1:8090/v1/emit"`) {
		t.Fatal("the README's script no longer posts to http://127.0.0.1:8090/v1/emit")
	}
	src = strings.Replace(src, "http://127.0.0.1:8090", url, 1)
	if err := os.WriteFile(filepath.Join(dir, "emit.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "-I", "emit.py")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SIOREDIS_API_KEY=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "200 {\"published\":1") {
		t.Fatalf("the README's script: %v\n%s", err, out)
	}
	if m := s.next(t); m.Channel != "socket.io#/#room_777#" || !strings.Contains(m.Payload, "my_event_name") {
		t.Errorf("published %s %q", m.Channel, m.Payload)
	}
}
