package testenv

import (
	"net"
	"testing"
	"time"
)

// TestPostgres starts a real server and checks that it listens, that a second database can be created and that
// Stop stops it.
func TestPostgres(t *testing.T) {
	pg := StartPostgres(t)
	conn, err := net.DialTimeout("tcp", pg.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("PostgreSQL does not listen on %s: %v", pg.Addr(), err)
	}
	conn.Close()
	if url := pg.CreateDatabase("other"); url == "" {
		t.Fatal("no URL")
	}
	pg.Stop()
	if conn, err := net.DialTimeout("tcp", pg.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatal("PostgreSQL still listens after Stop")
	}
}
