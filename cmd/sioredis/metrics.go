package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
	"github.com/sioredis/sioredis/metrics"
)

// metricsFlags are --metrics and --metrics-addr, of serve, chat and api.
type metricsFlags struct {
	on   bool
	addr string
}

func (m *metricsFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&m.on, "metrics", true, "serve Prometheus metrics at GET /metrics (--metrics=false: off)")
	fs.StringVar(&m.addr, "metrics-addr", "", "serve GET /metrics, /healthz and /readyz on this address of their own, such as 127.0.0.1:9090, rather than on --addr (default: on --addr, unless API keys or session cookies protect it: then only here)")
}

// where says where the metrics are served: on the main address, on an address of their own, or nowhere (nil
// metrics). A server whose requests need an API key or a session serves no /metrics on its main address, open
// to anyone who reaches it: only with --metrics-addr.
func (m *metricsFlags) where(authenticated bool, logger *slog.Logger) (main, own bool) {
	switch {
	case !m.on:
		return false, false
	case m.addr != "":
		return false, true
	case authenticated:
		logger.Info("metrics not served: every request to --addr needs an API key or a session, and /metrics would not; give --metrics-addr HOST:PORT to serve them on an address of their own")
		return false, false
	}
	return true, false
}

// newMetrics returns the process's metrics, registered on a registry of their own with the Go runtime's and the
// process's collectors, and the handler of GET /metrics; nothing when off.
func newMetrics(on bool) (*metrics.Metrics, http.Handler, error) {
	if !on {
		return nil, nil, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg)
	if err != nil {
		return nil, nil, err
	}
	return m, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}

// metricsServer serves GET /metrics (h) and the health endpoints (ready) on a listener of their own.
type metricsServer struct {
	hs     *httpserve.Server
	served chan error
}

// listenMetrics listens on addr and serves h and the health endpoints there until Close.
func listenMetrics(addr string, h http.Handler, ready func(context.Context) error, t httpserve.Timeouts, o httpserve.Options, logger *slog.Logger) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sioredis: --metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	httpserve.HealthHandlers(mux, ready, t.Ready, logger)
	s := &metricsServer{hs: httpserve.NewServer(mux, t, o, "/socket.io/", httpserve.Session{}, logger), served: make(chan error, 1)}
	go func() { s.served <- s.hs.Serve(ln) }()
	logger.Info("serving metrics", "metrics", "http://"+displayAddr(ln.Addr())+"/metrics")
	return s, nil
}

// Close stops serving, waiting up to 5 s for the requests under way.
func (s *metricsServer) Close() error {
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.hs.Shutdown(ctx)
	if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
