package metrics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sioredis/sioredis/client"
	"github.com/sioredis/sioredis/metrics"
	"github.com/sioredis/sioredis/socketio"
)

// A Socket.IO server whose observations go to a Prometheus registry (serve it with promhttp.HandlerFor).
func Example() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		panic(err)
	}
	cfg := socketio.Config{}
	m.Instrument(&cfg) // cfg.Metrics and cfg.Engine.Metrics
	srv, err := socketio.NewServer(cfg)
	if err != nil {
		panic(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, hs.URL+"/", client.Options{Transports: []client.Transport{client.WebSocket}}, nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	fams, _ := reg.Gather()
	for _, f := range fams {
		switch f.GetName() {
		case "sioredis_socketio_sockets", "sioredis_socketio_namespaces":
			fmt.Println(f.GetName(), f.GetMetric()[0].GetGauge().GetValue())
		case "sioredis_engineio_connections":
			for _, s := range f.GetMetric() {
				fmt.Println(f.GetName(), s.GetLabel()[0].GetValue(), s.GetGauge().GetValue())
			}
		}
	}
	// Output:
	// sioredis_engineio_connections polling 0
	// sioredis_engineio_connections websocket 1
	// sioredis_socketio_namespaces 1
	// sioredis_socketio_sockets 1
}
