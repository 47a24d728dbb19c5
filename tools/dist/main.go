// Command dist builds the release archives of the sioredis command: a static binary (CGO_ENABLED=0) for each of
// linux, darwin and windows on amd64 and arm64, each packed with README.md, LICENSE and CHANGELOG.md in a .tar.gz
// (a .zip for windows), and a checksums file of their SHA-256 sums, in the format of sha256sum. The archives are
// reproducible: the files carry the commit's time, fixed modes and no owner, so two builds of one commit give the
// same bytes.
//
// Usage (from scripts/dist):
//
//	dist -out DIR -version vX.Y.Z   # a release: HEAD must carry the tag cmd/sioredis/vX.Y.Z
//	dist -out DIR -snapshot         # any commit, version vX.Y.Z-SNAPSHOT-<commit> (what CI builds)
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// targets are the platforms of a release.
var targets = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

// docs are packed beside the binary, from the repository root.
var docs = []string{"README.md", "LICENSE", "CHANGELOG.md"}

func main() {
	out := flag.String("out", "dist", "directory to write the archives to (emptied first)")
	version := flag.String("version", "", "release version vX.Y.Z; HEAD must carry the tag cmd/sioredis/vX.Y.Z")
	snapshot := flag.Bool("snapshot", false, "build any commit, versioned vX.Y.Z-SNAPSHOT-<commit> after the newest release")
	only := flag.String("targets", strings.Join(targets, ","), "comma-separated GOOS/GOARCH pairs")
	jobs := flag.Int("j", 2, "builds run at once")
	flag.Parse()
	if err := run(*out, *version, *snapshot, strings.Split(*only, ","), *jobs); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
}

func run(out, version string, snapshot bool, only []string, jobs int) error {
	root, err := git("", "rev-parse", "--show-toplevel")
	if err != nil {
		return err
	}
	commit, err := git(root, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	epoch, err := git(root, "log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return err
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return err
	}
	mtime := time.Unix(sec, 0).UTC()
	switch {
	case snapshot && version != "":
		return errors.New("give -version or -snapshot, not both")
	case snapshot:
		base := "v0.0.0"
		if t, err := git(root, "describe", "--tags", "--abbrev=0", "--match", "cmd/sioredis/v*", "HEAD"); err == nil {
			base = strings.TrimPrefix(t, "cmd/sioredis/")
		}
		version = base + "-SNAPSHOT-" + commit[:7]
	case version == "":
		return errors.New("give -version vX.Y.Z or -snapshot")
	default:
		tags, _ := git(root, "tag", "--points-at", "HEAD")
		if !slices.Contains(strings.Fields(tags), "cmd/sioredis/"+version) {
			return fmt.Errorf("HEAD does not carry the tag cmd/sioredis/%s (scripts/modules release %s makes it)", version, version)
		}
		if dirty, _ := git(root, "status", "--porcelain", "--untracked-files=no"); dirty != "" {
			return errors.New("the work tree has changes: a release is built from its commit only")
		}
	}
	for _, t := range only {
		if !slices.Contains(targets, t) {
			return fmt.Errorf("unknown target %q (want some of %s)", t, strings.Join(targets, ","))
		}
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "sioredis-dist-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	start := time.Now()
	names := make([]string, len(only))
	errs := make([]error, len(only))
	sem := make(chan struct{}, max(1, jobs))
	var wg sync.WaitGroup
	for i, t := range only {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			names[i], errs[i] = buildOne(root, tmp, out, t, version, mtime)
			if errs[i] == nil {
				fmt.Fprintf(os.Stderr, "dist: %s in %s\n", names[i], time.Since(t0).Round(time.Second))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The binary of this machine's platform, if built, must run and say its version.
	if host := runtime.GOOS + "/" + runtime.GOARCH; slices.Contains(only, host) {
		bin := filepath.Join(tmp, strings.ReplaceAll(host, "/", "_"), exe("sioredis", runtime.GOOS))
		got, err := exec.Command(bin, "version").Output()
		if err != nil || !strings.HasPrefix(string(got), "sioredis "+version+" ") {
			return fmt.Errorf("%s version: %q %v (want sioredis %s …)", bin, got, err, version)
		}
	}
	var sums bytes.Buffer
	sort.Strings(names)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(out, n))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), n)
	}
	sumsName := "sioredis_" + strings.TrimPrefix(version, "v") + "_checksums.txt"
	if err := os.WriteFile(filepath.Join(out, sumsName), sums.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "dist: %d archives and %s in %s, %s\n", len(names), sumsName, out, time.Since(start).Round(time.Second))
	return nil
}

// buildOne builds the command for target GOOS/GOARCH and writes its archive to out; it returns the archive's name.
func buildOne(root, tmp, out, target, version string, mtime time.Time) (string, error) {
	goos, goarch, _ := strings.Cut(target, "/")
	dir := filepath.Join(tmp, goos+"_"+goarch)
	bin := filepath.Join(dir, exe("sioredis", goos))
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -X main.version="+version, "-o", bin, "./cmd/sioredis")
	cmd.Dir = root
	// The repository's workspace (go.work), whatever GOWORK this program was run with; GOFLAGS of the caller
	// would change the binary.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOWORK="+filepath.Join(root, "go.work"), "GOFLAGS=")
	if o, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: go build: %v\n%s", target, err, o)
	}
	base := "sioredis_" + strings.TrimPrefix(version, "v") + "_" + goos + "_" + goarch
	files := []file{{name: filepath.Base(bin), path: bin, mode: 0o755}}
	for _, d := range docs {
		files = append(files, file{name: d, path: filepath.Join(root, d), mode: 0o644})
	}
	var buf bytes.Buffer
	var err error
	name := base + ".tar.gz"
	if goos == "windows" {
		name = base + ".zip"
		err = writeZip(&buf, base, files, mtime)
	} else {
		err = writeTarGz(&buf, base, files, mtime)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", target, err)
	}
	return name, os.WriteFile(filepath.Join(out, name), buf.Bytes(), 0o644)
}

type file struct {
	name, path string
	mode       int64
}

func writeTarGz(w io.Writer, dir string, files []file, mtime time.Time) error {
	gz, _ := gzip.NewWriterLevel(w, gzip.BestCompression) // no name, no time in the gzip header
	tw := tar.NewWriter(gz)
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: dir + "/" + f.name, Mode: f.mode, Size: int64(len(data)), ModTime: mtime,
			Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, dir string, files []file, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: dir + "/" + f.name, Method: zip.Deflate, Modified: mtime}
		hdr.SetMode(os.FileMode(f.mode))
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := fw.Write(data); err != nil {
			return err
		}
	}
	return zw.Close()
}

func exe(name, goos string) string {
	if goos == "windows" {
		return name + ".exe"
	}
	return name
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
