# Multi-stage build of the sioredis command: a static binary (CGO_ENABLED=0; the SQLite driver of the chat is
# pure Go) in an image with nothing else, run as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
# The library module, the modules of the command (cmd/sioredis) and of the Prometheus metrics, and the
# workspace that joins them.
COPY go.work go.mod go.sum ./
COPY cmd/sioredis/go.mod cmd/sioredis/go.sum ./cmd/sioredis/
COPY metrics/go.mod metrics/go.sum ./metrics/
RUN go mod download
COPY . .
# CI runs this exact command (cmd/sioredis/deploy_test.go).
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/sioredis ./cmd/sioredis

FROM scratch
COPY --from=build /out/sioredis /sioredis
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/sioredis"]
CMD ["serve", "--addr", ":8080"]
