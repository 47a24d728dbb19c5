// A module of its own, as go-redis keeps its Prometheus and OpenTelemetry packages: programs that import the
// library without this package never get client_golang and its dependencies in their module graph. It requires the
// library at a release or a commit that git holds, with no replace directive; go.work at the repository root joins
// the two for development (CONTRIBUTING.md, "Modules and releases").
module github.com/sioredis/sioredis/metrics

go 1.26.0

require github.com/sioredis/sioredis v0.0.0-20261203100606-bb687490f948

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/kylelemons/godebug v1.1.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_golang v1.25.0
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
