package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Postgres is one PostgreSQL server started by [StartPostgres]: a fresh cluster (initdb) in a temporary
// directory, listening on a free loopback port and on a unix socket in that directory, stopped and removed at
// test cleanup.
type Postgres struct {
	tb      testing.TB
	pgCtl   string
	dataDir string
	sockDir string
	logFile string
	port    int
	cred    *syscall.Credential // the unprivileged user the server runs as when the test runs as root
}

// postgresBinDirs are searched for initdb and pg_ctl when they are not on PATH (Debian keeps them out of it).
var postgresBinDirs = []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}

func postgresBinary(tb testing.TB, name string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range postgresBinDirs {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	tb.Fatalf("testenv: %s not found on PATH nor in %v: install PostgreSQL (apt-get install postgresql)", name, postgresBinDirs)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// StartPostgres initializes a PostgreSQL cluster in a temporary directory, starts it on a free loopback port
// (fsync on, as in production), waits until it accepts connections and registers its shutdown with tb.Cleanup.
// PostgreSQL refuses to run as root: when the test runs as root, the server runs as the user "nobody".
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	initdb := postgresBinary(tb, "initdb")
	p := &Postgres{tb: tb, pgCtl: postgresBinary(tb, "pg_ctl")}
	// Not tb.TempDir: its parents are private to the test's user, and the server may run as another one.
	dir, err := os.MkdirTemp("", "sioredis-pg-")
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	p.dataDir, p.sockDir = filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	if err := os.Mkdir(p.sockDir, 0o700); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			tb.Fatalf("testenv: running as root, and PostgreSQL refuses root: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, d := range []string{dir, p.sockDir} {
			if err := os.Chown(d, uid, gid); err != nil {
				tb.Fatalf("testenv: %v", err)
			}
		}
	}
	if out, err := p.command(initdb, "-D", p.dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		tb.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	p.logFile = filepath.Join(dir, "server.log")
	var lastErr error
	for range 3 { // a free port can be taken before the server binds it: retry with another one
		p.port = freePorts(tb, 1)[0]
		lastErr = p.start()
		if lastErr == nil {
			tb.Cleanup(p.Stop)
			return p
		}
		if !strings.Contains(lastErr.Error(), "already in use") {
			break
		}
	}
	tb.Fatalf("testenv: start PostgreSQL: %v", lastErr)
	return nil
}

// start runs pg_ctl start on p.port and waits until the server accepts connections.
func (p *Postgres) start() error {
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c max_connections=200 -c fsync=on",
		p.port, p.sockDir)
	out, err := p.command(p.pgCtl, "start", "-w", "-t", "30", "-D", p.dataDir, "-l", p.logFile, "-o", opts).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(p.logFile)
		return fmt.Errorf("%v\n%s\n%s", err, out, log)
	}
	return nil
}

// Start starts a stopped server again on the same port and data directory (what was committed is kept), and
// waits until it accepts connections; clients reconnect to the same address. Starting a running server fails
// the test.
func (p *Postgres) Start() {
	p.tb.Helper()
	if err := p.start(); err != nil {
		p.tb.Fatalf("testenv: start PostgreSQL again on port %d: %v", p.port, err)
	}
}

// Restart stops the server (fast shutdown: open connections are ended) and starts it again on the same port,
// as an upgrade or a crash-restart of the database would.
func (p *Postgres) Restart() {
	p.tb.Helper()
	p.Stop()
	p.Start()
}

// Query runs one SQL statement with psql on database db (as user postgres) and returns its output, unaligned
// and without headers (psql -At): one row a line, columns separated by "|".
func (p *Postgres) Query(db, sql string) (string, error) {
	psql := filepath.Join(filepath.Dir(p.pgCtl), "psql")
	if !fileExists(psql) {
		psql = postgresBinary(p.tb, "psql")
	}
	out, err := p.command(psql, "-h", p.sockDir, "-p", strconv.Itoa(p.port), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1",
		"-At", "-c", sql).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("psql: %w\n%s", err, out)
	}
	return strings.TrimRight(string(out), "\n"), nil
}

func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = os.TempDir()
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

// URL returns a connection URL for the "postgres" database over TCP, as user "postgres" (trust authentication).
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Addr returns the server's TCP address.
func (p *Postgres) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// CreateDatabase creates a database and returns its URL, for tests that need several independent databases on
// one server.
func (p *Postgres) CreateDatabase(name string) string {
	p.tb.Helper()
	psql := filepath.Join(filepath.Dir(p.pgCtl), "psql")
	if !fileExists(psql) {
		psql = postgresBinary(p.tb, "psql")
	}
	if out, err := p.command(psql, "-h", p.sockDir, "-p", strconv.Itoa(p.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
		"-c", "CREATE DATABASE "+name).CombinedOutput(); err != nil {
		p.tb.Fatalf("testenv: create database %s: %v\n%s", name, err, out)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, name)
}

// Stop stops the server (fast shutdown: open connections are ended). Safe to call more than once.
func (p *Postgres) Stop() {
	if !fileExists(filepath.Join(p.dataDir, "postmaster.pid")) {
		return
	}
	if out, err := p.command(p.pgCtl, "stop", "-w", "-t", "30", "-m", "fast", "-D", p.dataDir).CombinedOutput(); err != nil {
		p.tb.Errorf("testenv: stop PostgreSQL: %v\n%s", err, out)
	}
}
