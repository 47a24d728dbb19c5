package main

import (
	"flag"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sioredis/sioredis/metrics"
)

// metricsFlag registers --metrics, on by default for serve and chat.
func metricsFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("metrics", true, "serve Prometheus metrics at GET /metrics on the same address (--metrics=false: off)")
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
