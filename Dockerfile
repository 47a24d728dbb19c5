# Multi-stage build of the sioredis command: a static binary (CGO_ENABLED=0; the SQLite driver of the chat is
# pure Go) in an image with nothing else but the CA certificates (TLS to a managed Redis or PostgreSQL), run as a
# non-root user, with a data volume for the chat's SQLite file.
#   docker build -t sioredis .
#   docker run --rm -p 8080:8080 sioredis                                    # serve, the live page
#   docker run -d -p 8080:8080 -v sioredis-data:/data sioredis chat --addr :8080 --redis redis://redis:6379
#   docker run -d -p 8090:8090 -e SIOREDIS_API_KEYS="backend $KEY" sioredis api --addr :8090 --redis redis://redis:6379
FROM golang:1.26 AS build
WORKDIR /src
# The library module, the modules of the command (cmd/sioredis) and of the Prometheus metrics, and the
# workspace that joins them.
COPY go.work go.work.sum go.mod go.sum ./
COPY cmd/sioredis/go.mod cmd/sioredis/go.sum ./cmd/sioredis/
COPY metrics/go.mod metrics/go.sum ./metrics/
RUN go mod download
COPY . .
# CI runs this exact command (cmd/sioredis/deploy_test.go).
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/sioredis ./cmd/sioredis
RUN mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/sioredis /sioredis
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# The chat's default database file, sioredis-chat.db, is written here.
WORKDIR /data
VOLUME /data
EXPOSE 8080 8090
ENTRYPOINT ["/sioredis"]
CMD ["serve", "--addr", ":8080"]
