// Command docscheck checks every fenced code block of the repository's Markdown documents as a reader would use
// it: a Go block compiles (a whole program as it stands; a fragment inside a function, with the imports its
// package names call for and the variables it uses from the text around it declared by prelude), a Python block
// compiles, a shell block parses (bash -n) and every flag it gives a sioredis command is one that command has.
// Blocks of other languages, and unmarked ones (diagrams, output), are not checked.
//
// Usage (from scripts/test): docscheck -bin SIOREDIS FILE.md...
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// block is one fenced code block.
type block struct {
	file, lang, text string
	line             int
}

func main() {
	bin := flag.String("bin", "", "the sioredis binary, whose help lists each command's flags")
	flag.Parse()
	var blocks []block
	for _, f := range flag.Args() {
		data, err := os.ReadFile(f)
		if err != nil {
			fail(err)
		}
		blocks = append(blocks, extract(f, string(data))...)
	}
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		fail(err)
	}
	var problems []string
	problems = append(problems, checkGo(strings.TrimSpace(string(root)), blocks)...)
	helps := map[string]string{}
	counts := map[string]int{}
	for _, b := range blocks {
		switch b.lang {
		case "sh":
			counts["sh"]++
			problems = append(problems, checkShell(b, *bin, helps)...)
		case "python":
			counts["python"]++
			problems = append(problems, checkPython(b)...)
		case "go":
			counts["go"]++
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, p)
		}
		fmt.Fprintf(os.Stderr, "docscheck: %d code blocks fail\n", len(problems))
		os.Exit(1)
	}
	fmt.Printf("docscheck: %d go, %d sh and %d python blocks of %d documents pass\n", counts["go"], counts["sh"], counts["python"], flag.NArg())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "docscheck:", err)
	os.Exit(1)
}

var fence = regexp.MustCompile("^```([a-z]*)\\s*$")

func extract(file, text string) []block {
	var out []block
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		out = append(out, block{file: file, lang: m[1], text: strings.Join(body, "\n") + "\n", line: start + 1})
	}
	return out
}

// imports maps the package names that README fragments call to their import paths.
var imports = map[string]string{
	"context": "context", "fmt": "fmt", "log": "log", "time": "time", "http": "net/http", "json": "encoding/json",
	"redis": "github.com/redis/go-redis/v9", "emitter": "github.com/sioredis/sioredis/emitter",
	"socketio": "github.com/sioredis/sioredis/socketio", "engineio": "github.com/sioredis/sioredis/engineio",
	"redisadapter": "github.com/sioredis/sioredis/redisadapter", "client": "github.com/sioredis/sioredis/client",
	"pubsub": "github.com/sioredis/sioredis/pubsub", "admin": "github.com/sioredis/sioredis/admin",
	"metrics": "github.com/sioredis/sioredis/metrics", "monitor": "github.com/sioredis/sioredis/monitor",
	"jsvalue": "github.com/sioredis/sioredis/jsvalue", "prometheus": "github.com/prometheus/client_golang/prometheus",
	"promhttp": "github.com/prometheus/client_golang/prometheus/promhttp", "bcrypt": "golang.org/x/crypto/bcrypt",
	"tls": "crypto/tls",
}

// prelude declares what the fragments take from the text around them.
const prelude = `
var (
	ctx      context.Context
	rdb      redis.UniversalClient
	srv      *socketio.Server
	password string
)

type ChatMessage struct{ Room, Text string }

func handle(channel string, payload any) {}
`

// checkGo compiles every Go block in a package of its own under cmd/sioredis (the module that requires every
// other: the library, metrics, Prometheus, x/crypto), with go vet.
func checkGo(root string, blocks []block) []string {
	dir := filepath.Join(root, "cmd", "sioredis", "zz_docscheck")
	if err := os.RemoveAll(dir); err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	where := map[string]block{}
	n := 0
	for _, b := range blocks {
		if b.lang != "go" {
			continue
		}
		n++
		name := fmt.Sprintf("b%02d", n)
		src := b.text
		if !strings.Contains(src, "package main") {
			src = wrap(src)
		}
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			fail(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "main.go"), []byte(src), 0o644); err != nil {
			fail(err)
		}
		where[name] = b
	}
	if n == 0 {
		return nil
	}
	cmd := exec.Command("go", "vet", "./zz_docscheck/...")
	cmd.Dir = filepath.Join(root, "cmd", "sioredis")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	// Name the document and line of each block that failed.
	var problems []string
	re := regexp.MustCompile(`zz_docscheck/(b\d+)/main\.go:(\d+)`)
	for _, l := range strings.Split(string(out), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			b := where[m[1]]
			problems = append(problems, fmt.Sprintf("%s:%d: go block: %s", b.file, b.line, l))
		}
	}
	if len(problems) == 0 {
		problems = append(problems, "go vet of the Go blocks: "+string(out))
	}
	return problems
}

// wrap makes a fragment a program: its statements in a function, the imports it names, every variable it
// declares used once after it.
func wrap(frag string) string {
	body := "package main\n\nfunc main() {\n" + frag + "\n}\n"
	fset := token.NewFileSet()
	var used []string
	if f, err := parser.ParseFile(fset, "frag.go", body, 0); err == nil {
		ast.Inspect(f.Decls[0].(*ast.FuncDecl).Body, func(n ast.Node) bool {
			if as, ok := n.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
				for _, l := range as.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
						used = append(used, id.Name)
					}
				}
			}
			_, isFunc := n.(*ast.FuncLit)
			return !isFunc
		})
	}
	var tail strings.Builder
	seen := map[string]bool{}
	for _, u := range used {
		if !seen[u] {
			seen[u] = true
			fmt.Fprintf(&tail, "\t_ = %s\n", u)
		}
	}
	var imps []string
	for name, path := range imports {
		if regexp.MustCompile(`\b` + name + `\.`).MatchString(frag + prelude) {
			imps = append(imps, fmt.Sprintf("\t%q", path))
		}
	}
	sort.Strings(imps)
	return "package main\n\nimport (\n" + strings.Join(imps, "\n") + "\n)\n" + prelude +
		"\nfunc main() {\n" + frag + "\n" + tail.String() + "}\n"
}

func checkPython(b block) []string {
	f, err := os.CreateTemp("", "docscheck-*.py")
	if err != nil {
		fail(err)
	}
	defer os.Remove(f.Name())
	_, _ = f.WriteString(b.text)
	f.Close()
	if out, err := exec.Command("python3", "-c", "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')", f.Name()).CombinedOutput(); err != nil {
		return []string{fmt.Sprintf("%s:%d: python block: %s", b.file, b.line, out)}
	}
	return nil
}

var (
	sioredisCmd = regexp.MustCompile(`(?:^|[\s|;&(])(?:sioredis|go run \./cmd/sioredis)\s+([a-z][a-z-]*)((?:\s+\S+)*)`)
	flagToken   = regexp.MustCompile(`^--?([a-z][a-z0-9-]*)`)
)

// checkShell parses the block with bash -n, then checks the flags of every sioredis command line in it against
// that command's help.
func checkShell(b block, bin string, helps map[string]string) []string {
	var problems []string
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(b.text)
	if out, err := cmd.CombinedOutput(); err != nil {
		problems = append(problems, fmt.Sprintf("%s:%d: sh block does not parse: %s", b.file, b.line, out))
	}
	if bin == "" {
		return problems
	}
	for _, line := range strings.Split(b.text, "\n") {
		code, _, _ := strings.Cut(line, " #") // the comment after a command
		m := sioredisCmd.FindStringSubmatch(code)
		if m == nil {
			continue
		}
		sub := m[1]
		help, ok := helps[sub]
		if !ok {
			out, err := exec.Command(bin, "help", sub).Output()
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: sioredis %s: no such command", b.file, b.line, sub))
				helps[sub] = ""
				continue
			}
			help = string(out)
			helps[sub] = help
		}
		if help == "" {
			continue
		}
		for _, tok := range strings.Fields(m[2]) {
			if strings.ContainsAny(tok, "|;&>") {
				break // the next command of a pipeline
			}
			fm := flagToken.FindStringSubmatch(tok)
			if fm == nil {
				continue
			}
			if !strings.Contains(help, "\n  -"+fm[1]+" ") && !strings.Contains(help, "\n  -"+fm[1]+"\n") {
				problems = append(problems, fmt.Sprintf("%s:%d: sioredis %s has no flag --%s: %s", b.file, b.line, sub, fm[1], strings.TrimSpace(line)))
			}
		}
	}
	return problems
}
