// Programs that build and check the repository (tools/modproxy for scripts/modules), a module of their own so that
// their dependencies stay out of the library's graph. Not in go.work: run with GOWORK=off.
module github.com/sioredis/sioredis/tools

go 1.26.0

require golang.org/x/mod v0.42.0
