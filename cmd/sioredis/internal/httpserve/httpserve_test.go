package httpserve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/testtools/testenv"
	"github.com/sioredis/sioredis/socketio"
)

func TestMain(m *testing.M) { os.Exit(testenv.CheckLeaks(m.Run())) }

// TestSlowPollingPostEndsWithItsSession: a long-polling POST whose body trickles in is cut once its session
// would be over (ping interval + ping timeout), long before the 300 s read timeout.
func TestSlowPollingPostEndsWithItsSession(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ecfg := engineio.Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}
	sio, err := socketio.NewServer(socketio.Config{Engine: ecfg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sio)
	hs := NewServer(mux, Timeouts{}, Options{}, "/socket.io/", SessionOf(ecfg), log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = sio.Shutdown(t.Context()); _ = hs.Close() })
	addr := ln.Addr().String()

	res, err := http.Get("http://" + addr + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io2(res)
	sid := strings.Split(strings.SplitN(b, `"sid":"`, 2)[1], `"`)[0]

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n", sid, addr)
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := c.Write([]byte("4")); err != nil {
				return
			}
		}
	}()
	_ = c.SetReadDeadline(start.Add(30 * time.Second))
	_, err = c.Read(make([]byte, 512)) // an error answer, or the end of the connection
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a trickled polling POST was still read after %v (%v); its session ends after 500 ms", d, err)
	}
	t.Logf("trickled polling POST cut after %v", time.Since(start))
}

func io2(res *http.Response) (string, error) {
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

// TestShutdownClosesFreshConnections: a connection that has sent no request (a browser's preconnection) does not
// hold Shutdown, which http.Server would make wait 5 s for it; one in the middle of a request does.
func TestShutdownClosesFreshConnections(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-release })
	hs := NewServer(mux, Timeouts{}, Options{}, "/socket.io/", Session{}, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fresh, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := io.WriteString(slow, "GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // both accepted; the slow request is in its handler

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- hs.Shutdown(ctx) }()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) with a request under way", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v after %v (the connection that sent nothing held it)", err, time.Since(start))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	_ = fresh.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := fresh.Read(make([]byte, 1)); err == nil {
		t.Error("the connection that sent nothing is still open")
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
}
