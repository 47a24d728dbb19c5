// Command modproxy writes a Go module proxy directory (GOPROXY=file://DIR) serving this repository's own modules
// at the versions that its go.mod files require of one another, made from the repository's git history exactly as
// the public module proxy makes them from the published repository. The per-module checks (GOWORK=off go mod tidy
// -diff, go install …@version) then run offline against versions that no public proxy serves yet.
//
// A version is found in git as a tag (v1.2.3 for the root module, metrics/v1.2.3 for the module in metrics/), a
// commit whose message has the trailer "Release: v1.2.3" (for a clone without tags), or the commit named by a
// pseudo-version (v0.0.0-20261203100606-bb687490f948).
//
// Usage:
//
//	modproxy -out DIR                  # every version the modules require of one another
//	modproxy -out DIR -serve PATH@VER  # also that version (repeatable)
//	modproxy -pseudo REV               # print the pseudo-version of commit REV for the root module
//	modproxy -work check|fix           # go.work replaces those versions by the modules' directories
//
// go.work must replace each version that the modules require of one another by the module's own directory: in
// workspace mode the go command still reads the go.mod of the required version, which no public proxy serves
// before the repository is published, and a replace directive of go.work, unlike one of go.mod, is never
// published.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

// repoModule is one module of this repository: its path and its directory relative to the repository root.
type repoModule struct {
	path string
	dir  string // "" for the root module
}

// zeroPseudo is the version that a requirement carried when a replace directive gave the module.
const zeroPseudo = "v0.0.0-00010101000000-000000000000"

// want is a version of a module of the repository to serve.
type want struct{ path, version string }

type serveList []string

func (s *serveList) String() string     { return strings.Join(*s, ",") }
func (s *serveList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	out := flag.String("out", "", "directory to write the proxy to (created)")
	pseudo := flag.String("pseudo", "", "print the pseudo-version of this commit for the module of -dir and exit")
	dir := flag.String("dir", "", "with -pseudo: the module's directory relative to the repository root (default: the root module)")
	work := flag.String("work", "", "check: fail unless go.work replaces every version that the modules require of one another by its directory; fix: write those replace directives")
	var serve serveList
	flag.Var(&serve, "serve", "also serve this module@version (repeatable)")
	flag.Parse()
	var err error
	if *work != "" {
		err = syncWork(*work == "fix")
	} else {
		err = run(*out, *pseudo, *dir, serve)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}

func run(out, pseudo, pseudoDir string, serve []string) error {
	root, err := git("", "rev-parse", "--show-toplevel")
	if err != nil {
		return err
	}
	root = strings.TrimSpace(root)
	mods, err := repoModules(root)
	if err != nil {
		return err
	}
	if pseudo != "" {
		for _, m := range mods {
			if m.dir == pseudoDir {
				v, err := pseudoVersion(root, m, pseudo)
				if err != nil {
					return err
				}
				fmt.Println(v)
				return nil
			}
		}
		return fmt.Errorf("no module in directory %q", pseudoDir)
	}
	if out == "" {
		return errors.New("give -out DIR or -pseudo REV")
	}
	byPath := map[string]repoModule{}
	for _, m := range mods {
		byPath[m.path] = m
	}
	// The versions to serve: those the modules' go.mod files require of one another, and those of -serve; the
	// go.mod of a served version may require further versions of the repository's modules, served too.
	// A version that a served version requires in turn is served when git has it; the go command reads its go.mod
	// only if it must (graph pruning), so one that git lacks, such as the zero pseudo-version of a requirement
	// that a replace directive once stood for, is left out with a note.
	var queue []want
	direct := map[want]bool{}
	for _, m := range mods {
		data, err := os.ReadFile(filepath.Join(root, m.dir, "go.mod"))
		if err != nil {
			return err
		}
		queue = append(queue, requires(data, byPath)...)
	}
	for _, s := range serve {
		p, v, ok := strings.Cut(s, "@")
		if !ok || byPath[p].path == "" {
			return fmt.Errorf("-serve %q: want PATH@VERSION of a module of this repository", s)
		}
		queue = append(queue, want{p, v})
	}
	for _, w := range queue {
		direct[w] = true
	}
	done := map[want]bool{}
	for len(queue) > 0 {
		w := queue[0]
		queue = queue[1:]
		if done[w] || w.version == zeroPseudo && !direct[w] {
			continue
		}
		done[w] = true
		m := byPath[w.path]
		goMod, err := write(root, out, m, w.version)
		if err != nil && direct[w] {
			return fmt.Errorf("%s@%s: %w", w.path, w.version, err)
		} else if err != nil {
			fmt.Fprintf(os.Stderr, "modproxy: not served (required by a served version only): %s@%s: %v\n", w.path, w.version, err)
			continue
		}
		queue = append(queue, requires(goMod, byPath)...)
	}
	return nil
}

// requires returns the requirements of a go.mod on the repository's modules.
func requires(goMod []byte, byPath map[string]repoModule) (reqs []want) {
	f, err := modfile.ParseLax("go.mod", goMod, nil)
	if err != nil {
		return nil
	}
	for _, r := range f.Require {
		if _, ok := byPath[r.Mod.Path]; ok {
			reqs = append(reqs, want{r.Mod.Path, r.Mod.Version})
		}
	}
	return reqs
}

// repoModules lists the modules of the repository whose go.mod files git tracks.
func repoModules(root string) ([]repoModule, error) {
	list, err := git(root, "ls-files", "--", "go.mod", "*/go.mod")
	if err != nil {
		return nil, err
	}
	var mods []repoModule
	for _, f := range strings.Fields(list) {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return nil, err
		}
		d := path.Dir(f)
		if d == "." {
			d = ""
		}
		mods = append(mods, repoModule{path: modfile.ModulePath(data), dir: d})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].dir < mods[j].dir })
	return mods, nil
}

// revision finds the commit of version v of module m: its tag, a commit with the trailer "Release: v", or the
// commit of a pseudo-version.
func revision(root string, m repoModule, v string) (string, error) {
	if !semver.IsValid(v) {
		return "", fmt.Errorf("%q is not a semantic version", v)
	}
	if module.IsPseudoVersion(v) {
		short, err := module.PseudoVersionRev(v)
		if err != nil {
			return "", err
		}
		rev, err := git(root, "rev-parse", "--verify", "--quiet", short+"^{commit}")
		if err != nil {
			return "", fmt.Errorf("commit %s of pseudo-version %s is not in this clone (a shallow clone? run git fetch --unshallow)", short, v)
		}
		return strings.TrimSpace(rev), nil
	}
	tag := v
	if m.dir != "" {
		tag = m.dir + "/" + v
	}
	if rev, err := git(root, "rev-parse", "--verify", "--quiet", "refs/tags/"+tag+"^{commit}"); err == nil {
		return strings.TrimSpace(rev), nil
	}
	revs, err := git(root, "log", "--all", "--format=%H", "--fixed-strings", "--grep=Release: "+v)
	if err == nil {
		for _, rev := range strings.Fields(revs) {
			trailers, err := git(root, "log", "-1", "--format=%(trailers:key=Release,valueonly)", rev)
			if err == nil && strings.Contains("\n"+trailers, "\n"+v+"\n") {
				return rev, nil
			}
		}
	}
	return "", fmt.Errorf("no tag %s and no commit with the trailer \"Release: %s\" in this clone", tag, v)
}

// write adds version v of module m to the proxy directory out and returns its go.mod.
func write(root, out string, m repoModule, v string) ([]byte, error) {
	rev, err := revision(root, m, v)
	if err != nil {
		return nil, err
	}
	goModPath := "go.mod"
	if m.dir != "" {
		goModPath = m.dir + "/go.mod"
	}
	goMod, err := git(root, "show", rev+":"+goModPath)
	if err != nil {
		return nil, fmt.Errorf("no %s at %s", goModPath, rev)
	}
	if got := modfile.ModulePath([]byte(goMod)); got != m.path {
		return nil, fmt.Errorf("%s at %s declares module %q", goModPath, rev, got)
	}
	when, err := commitTime(root, rev)
	if err != nil {
		return nil, err
	}
	esc, err := module.EscapePath(m.path)
	if err != nil {
		return nil, err
	}
	escV, err := module.EscapeVersion(v)
	if err != nil {
		return nil, err
	}
	vdir := filepath.Join(out, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return nil, err
	}
	var z bytes.Buffer
	if err := zip.CreateFromVCS(&z, module.Version{Path: m.path, Version: v}, root, rev, m.dir); err != nil {
		return nil, err
	}
	info, _ := json.Marshal(struct {
		Version string
		Time    time.Time
	}{v, when})
	for name, data := range map[string][]byte{escV + ".info": info, escV + ".mod": []byte(goMod), escV + ".zip": z.Bytes()} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	list, _ := os.ReadFile(filepath.Join(vdir, "list"))
	if !bytes.Contains(list, []byte(v+"\n")) {
		list = append(list, v+"\n"...)
	}
	return []byte(goMod), os.WriteFile(filepath.Join(vdir, "list"), list, 0o644)
}

// pseudoVersion is the pseudo-version of commit rev for module m, built on the newest release tag of m that is
// an ancestor of rev, as the go command builds it.
func pseudoVersion(root string, m repoModule, rev string) (string, error) {
	full, err := git(root, "rev-parse", "--verify", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("no commit %s", rev)
	}
	full = strings.TrimSpace(full)
	when, err := commitTime(root, full)
	if err != nil {
		return "", err
	}
	prefix := ""
	if m.dir != "" {
		prefix = m.dir + "/"
	}
	tags, _ := git(root, "tag", "--merged", full, "--list", prefix+"v*")
	older := ""
	for _, t := range strings.Fields(tags) {
		v := strings.TrimPrefix(t, prefix)
		if semver.IsValid(v) && semver.Prerelease(v) == "" && semver.Major(v) == "v0" && semver.Compare(v, older) > 0 {
			older = v
		}
	}
	return module.PseudoVersion("v0", older, when, full[:12]), nil
}

func commitTime(root, rev string) (time.Time, error) {
	s, err := git(root, "log", "-1", "--format=%ct", rev)
	if err != nil {
		return time.Time{}, err
	}
	var sec int64
	if _, err := fmt.Sscan(strings.TrimSpace(s), &sec); err != nil {
		return time.Time{}, fmt.Errorf("commit time of %s: %q", rev, s)
	}
	return time.Unix(sec, 0).UTC(), nil
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
	return string(out), nil
}

// syncWork checks (or, with fix, writes) the replace directives of go.work that give each version the modules
// require of one another from the module's own directory.
func syncWork(fix bool) error {
	root, err := git("", "rev-parse", "--show-toplevel")
	if err != nil {
		return err
	}
	root = strings.TrimSpace(root)
	mods, err := repoModules(root)
	if err != nil {
		return err
	}
	workPath := filepath.Join(root, "go.work")
	data, err := os.ReadFile(workPath)
	if err != nil {
		return err
	}
	wf, err := modfile.ParseWork(workPath, data, nil)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, u := range wf.Use {
		used[path.Clean(strings.TrimPrefix(u.Path, "./"))] = true
	}
	byPath := map[string]repoModule{}
	for _, m := range mods {
		byPath[m.path] = m
	}
	wantRepl := map[module.Version]string{} // required version -> directory, as go.work writes it
	for _, m := range mods {
		d := m.dir
		if d == "" {
			d = "."
		}
		if !used[d] {
			continue
		}
		gm, err := os.ReadFile(filepath.Join(root, m.dir, "go.mod"))
		if err != nil {
			return err
		}
		for _, r := range requires(gm, byPath) {
			target := "./" + byPath[r.path].dir
			wantRepl[module.Version{Path: r.path, Version: r.version}] = target
		}
	}
	have := map[module.Version]string{}
	for _, r := range wf.Replace {
		if _, ours := byPath[r.Old.Path]; ours {
			have[r.Old] = r.New.Path
		}
	}
	var problems []string
	for v, dir := range wantRepl {
		if got, ok := have[v]; !ok || path.Clean(got) != path.Clean(dir) {
			problems = append(problems, fmt.Sprintf("go.work does not replace %s@%s => %s", v.Path, v.Version, dir))
		}
	}
	for v := range have {
		if _, ok := wantRepl[v]; !ok {
			problems = append(problems, fmt.Sprintf("go.work replaces %s@%s, which no module requires", v.Path, v.Version))
		}
	}
	sort.Strings(problems)
	if len(problems) == 0 {
		return nil
	}
	if !fix {
		return fmt.Errorf("%s (run scripts/modules tidy-fix)", strings.Join(problems, "; "))
	}
	// go.work is rewritten whole: its go line, its use block and the replace block of workReplaceDoc.
	if len(wf.Replace) != len(have) || wf.Toolchain != nil || len(wf.Godebug) > 0 {
		return errors.New("go.work has lines other than go, use and the replace directives of this repository's modules: edit it by hand")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "go %s\n\nuse (\n", wf.Go.Version)
	for _, u := range wf.Use {
		fmt.Fprintf(&b, "\t%s\n", u.Path)
	}
	b.WriteString(")\n\n" + workReplaceDoc + "replace (\n")
	var lines []string
	for v, dir := range wantRepl {
		lines = append(lines, fmt.Sprintf("\t%s %s => %s\n", v.Path, v.Version, dir))
	}
	sort.Strings(lines)
	b.WriteString(strings.Join(lines, "") + ")\n")
	return os.WriteFile(workPath, []byte(b.String()), 0o644)
}

// workReplaceDoc is the comment above the replace block of go.work.
const workReplaceDoc = `// metrics and cmd/sioredis require the library (and metrics) at a version that git holds, with no replace
// directive in their go.mod; the workspace takes that version from the directory beside it, so that a build never
// asks a module proxy for it (scripts/modules pin and release keep these lines in step; CONTRIBUTING.md says why).
`
