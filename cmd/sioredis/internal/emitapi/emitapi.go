// Package emitapi is the HTTP emit API of "sioredis api": one endpoint instead of a library, for backends in
// any language that need to reach the clients of a Socket.IO cluster through Redis. Requests are JSON, checked
// as the emitter checks its calls (a bad request publishes nothing and gets 400 {"error", "field"}), and
// published through an emitter.Emitter in the cluster's format.
//
// Routes (all POST, all authenticated with "Authorization: Bearer KEY", see package apiauth):
//
//	/v1/emit               one event to clients                  {"namespace","rooms","except","event","args","volatile","compress"}
//	/v1/emit/batch         many events, checked together first  {"emits": [EMIT, ...]}
//	/v1/sockets/join       targeted sockets join rooms          {"namespace","rooms","except","join": [...]}
//	/v1/sockets/leave      targeted sockets leave rooms         {"namespace","rooms","except","leave": [...]}
//	/v1/sockets/disconnect targeted sockets are disconnected    {"namespace","rooms","except","close"}
//	/v1/server-emit        an event to the servers              {"namespace","event","args"}
//
// GET /v1/openapi.json serves the OpenAPI 3 description of all of them, without authentication.
//
// Arguments are JSON values; an object of the exact form {"$binary": "BASE64"} anywhere in one is sent as
// binary (package jsonarg), and object keys keep their order.
package emitapi

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
	"github.com/sioredis/sioredis/emitter"
	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/jsonarg"
	"github.com/sioredis/sioredis/jsvalue"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 description served at /v1/openapi.json.
func OpenAPI() []byte { return openAPI }

// Defaults of Config.
const (
	// DefaultMaxBodyBytes bounds a request body: a message of emitter.DefaultMaxPayload bytes of binary, in
	// base64, with room to spare.
	DefaultMaxBodyBytes = 12 << 20
	// DefaultMaxBatch is the most emits in one batch.
	DefaultMaxBatch = 1000
	// DefaultBatchConcurrency is how many emits of a batch are in flight at once (sharing Redis round trips).
	DefaultBatchConcurrency = 64
)

// Config configures a Handler.
type Config struct {
	// Redis is the client the emits are published through; required. The Handler does not close it.
	Redis redis.UniversalClient
	// Options configure the emitter (mode, prefix, payload limit...), as for emitter.New.
	Options []emitter.Option
	// Keys are the API keys accepted; required (an empty list refuses every request).
	Keys *apiauth.Keys
	// KeyLimit is the rate limit of each key, in emits per second (a batch of n emits takes n tokens; a join,
	// leave, disconnect or server-emit one). Zero Rate: no limit.
	KeyLimit apiauth.LimitConfig
	// IPLimit is the rate limit of each client address, in requests per second, checked before the key (it
	// also slows down key guessing). Zero Rate: no limit.
	IPLimit apiauth.LimitConfig
	// TrustedProxies are the reverse proxies whose forwarding headers give the client address for IPLimit.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes bounds a request body; default DefaultMaxBodyBytes. Larger bodies get 413.
	MaxBodyBytes int64
	// MaxBatch bounds the emits of one batch; default DefaultMaxBatch.
	MaxBatch int
	// BatchConcurrency is how many emits of a batch are published at once; default DefaultBatchConcurrency.
	BatchConcurrency int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Handler serves the emit API. Safe for concurrent use; Close it when done.
type Handler struct {
	cfg     Config
	em      *emitter.Emitter
	dry     *emitter.Emitter // same options, publishes nothing: checks a batch before any of it is published
	dryRDB  *redis.Client
	keyRate *apiauth.Limiter
	ipRate  *apiauth.Limiter
	mux     *http.ServeMux
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Redis == nil {
		return nil, errors.New("emitapi: Config.Redis is nil")
	}
	if cfg.Keys == nil {
		return nil, errors.New("emitapi: Config.Keys is nil")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.BatchConcurrency <= 0 {
		cfg.BatchConcurrency = DefaultBatchConcurrency
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	em, err := emitter.New(cfg.Redis, cfg.Options...)
	if err != nil {
		return nil, fmt.Errorf("emitapi: %w", err)
	}
	dryClient := redis.NewClient(&redis.Options{Addr: "dry-run.invalid:1", MaxRetries: -1})
	dryClient.AddHook(dryHook{})
	dry, err := emitter.New(dryClient, append(append([]emitter.Option(nil), cfg.Options...),
		emitter.WithAutoPipelining(false), emitter.WithLogger(slog.New(slog.DiscardHandler)),
		emitter.WithMetrics(nil))...) // the dry run publishes nothing: nothing to observe
	if err != nil {
		_ = dryClient.Close()
		return nil, fmt.Errorf("emitapi: %w", err)
	}
	h := &Handler{cfg: cfg, em: em, dry: dry, dryRDB: dryClient, keyRate: apiauth.NewLimiter(cfg.KeyLimit), ipRate: apiauth.NewLimiter(cfg.IPLimit),
		mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	h.mux.Handle("POST /v1/emit", h.authed(apiauth.ActionEmit, h.emit))
	h.mux.Handle("POST /v1/emit/batch", h.authed(apiauth.ActionEmit, h.batch))
	h.mux.Handle("POST /v1/sockets/join", h.authed(apiauth.ActionSockets, h.join))
	h.mux.Handle("POST /v1/sockets/leave", h.authed(apiauth.ActionSockets, h.leave))
	h.mux.Handle("POST /v1/sockets/disconnect", h.authed(apiauth.ActionSockets, h.disconnect))
	h.mux.Handle("POST /v1/server-emit", h.authed(apiauth.ActionServerEmit, h.serverEmit))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiauth.WriteJSON(w, http.StatusNotFound, apiauth.ErrorBody{Error: "emitapi: no such endpoint: " + r.Method + " " + r.URL.Path + " (see /v1/openapi.json)"})
	})
	return h, nil
}

// Close releases the Handler's own resources (not Config.Redis). Call it once requests have stopped.
func (h *Handler) Close() error { return h.dryRDB.Close() }

// ServeHTTP serves the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if checkRoute(w, r) {
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Ready reports whether Redis answers PING before ctx ends: an *httpserve.Unready when it does not.
func (h *Handler) Ready(ctx context.Context) error {
	if err := h.cfg.Redis.Ping(ctx).Err(); err != nil {
		return &httpserve.Unready{Reason: "redis unreachable", Err: err}
	}
	return nil
}

// errDry ends every command of the dry-run emitter: an emit that reaches Redis with it was valid.
var errDry = errors.New("emitapi: dry run")

type dryHook struct{}

func (dryHook) DialHook(redis.DialHook) redis.DialHook {
	return func(context.Context, string, string) (net.Conn, error) { return nil, errDry }
}

func (dryHook) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(_ context.Context, cmd redis.Cmder) error { cmd.SetErr(errDry); return errDry }
}

func (dryHook) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(_ context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			c.SetErr(errDry)
		}
		return errDry
	}
}

// request is one call of the API in its context: the key, the action and, for rate limits, its cost.
type handlerFunc func(w http.ResponseWriter, r *http.Request, key *apiauth.Key)

// authed checks the client's rate, the key and its own rate, then runs next.
func (h *Handler) authed(action string, next handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = engineio.FromTrustedProxy(r, h.cfg.TrustedProxies)
		ip := apiauth.ClientIP(r)
		if ok, wait := h.ipRate.Allow(ip, 1); !ok {
			apiauth.WriteRateLimited(w, "client "+ip, wait)
			return
		}
		key, err := h.cfg.Keys.Authenticate(r)
		if err != nil {
			h.cfg.Logger.Info("emitapi: request refused", "path", r.URL.Path, "client", ip, "err", err)
			apiauth.WriteAuthError(w, err)
			return
		}
		if err := key.Check(action, ""); err != nil {
			apiauth.WriteAuthError(w, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
		next(w, r, key)
	})
}

// Result is the answer of a successful request: how many messages were published, and what Redis said of their
// delivery (emitter.Receipt).
type Result struct {
	Published int `json:"published"`
	// Channel is the Redis channel (or stream key) of a single message.
	Channel string `json:"channel,omitempty"`
	// Receivers is the number of Redis subscribers a single message reached (PUBLISH's answer; absent in the
	// streams format, whose entries wait for their readers). 0 means that no server of the cluster listens on
	// Channel: a wrong prefix, namespace or mode, or servers still reconnecting to Redis.
	Receivers *int `json:"receivers,omitempty"`
	// Unreceived, in a batch, are the indexes of the emits that reached no subscriber.
	Unreceived []int `json:"unreceived,omitempty"`
	// Warning says in words what a 0 means, when there is one.
	Warning string `json:"warning,omitempty"`
}

// noReceivers is the warning of a message that reached no subscriber.
const noReceivers = "no Socket.IO server is subscribed to this channel: check the prefix, namespace and mode, or the servers are reconnecting to Redis"

// result is the answer of one published message.
func (h *Handler) result(r *http.Request, rc emitter.Receipt) Result {
	res := Result{Published: 1, Channel: rc.Channel}
	if rc.Receivers >= 0 {
		res.Receivers = &rc.Receivers
	}
	if rc.Receivers == 0 {
		res.Warning = noReceivers
		h.cfg.Logger.Warn("emitapi: published to no subscriber", "path", r.URL.Path, "channel", rc.Channel)
	}
	return res
}

// BatchError is the answer of a batch whose publishing failed part of the way (Redis errors): the emits
// published and the indexes of those that were not.
type BatchError struct {
	Error     string `json:"error"`
	Published int    `json:"published"`
	Failed    []int  `json:"failed"`
}

// fieldError is a request error about one field: 400 {"error", "field"}.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func badField(field string, err error) error { return &fieldError{field: field, err: err} }

// writeError answers err: 400 with its field, 413, 403, or 502 for Redis errors (logged, not told).
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *fieldError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		apiauth.WriteJSON(w, http.StatusRequestEntityTooLarge, apiauth.ErrorBody{Error: fmt.Sprintf("emitapi: request body over %d bytes", mbe.Limit)})
	case errors.Is(err, apiauth.ErrForbidden):
		apiauth.WriteAuthError(w, err)
	case errors.As(err, &fe):
		apiauth.WriteJSON(w, http.StatusBadRequest, apiauth.ErrorBody{Error: fe.err.Error(), Field: fe.field})
	default:
		h.cfg.Logger.Warn("emitapi: publish failed", "path", r.URL.Path, "err", err)
		apiauth.WriteJSON(w, http.StatusBadGateway, apiauth.ErrorBody{Error: errPublish})
	}
}

// errPublish is the answer's text when Redis did not take a message. The error itself, which names internal
// addresses, is logged only.
const errPublish = "emitapi: Redis did not take the message (the reason is in the server's log)"

// decode reads one JSON object into v: unknown fields, trailing data and text that is not Unicode (bytes that
// are not UTF-8, a lone surrogate such as "\ud800", which encoding/json would turn into U+FFFD, so that what is
// published would not be what was sent) are errors.
func decode(r io.Reader, v any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err // *http.MaxBytesError, or the connection's
	}
	if err := jsvalue.CheckJSONText(data); err != nil {
		return badField(invalidTextField(data), fmt.Errorf("emitapi: %w", err))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		field := ""
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			field = ute.Field
		} else if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field = strings.Trim(f, `"`)
		}
		return badField(field, fmt.Errorf("emitapi: %w", err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return badField("", errors.New("emitapi: data after the JSON object"))
	}
	return nil
}

// invalidTextField names the field of a request (data, whose text CheckJSONText refuses) that holds the text:
// a member of the object ("event"), or of one emit of a batch ("emits[2].rooms"); "" when it is a member's name
// or the JSON is not an object.
func invalidTextField(data []byte) string {
	var req map[string]json.RawMessage
	if json.Unmarshal(data, &req) != nil {
		return ""
	}
	for name, raw := range req {
		if jsvalue.CheckJSONText(raw) == nil {
			continue
		}
		var emits []json.RawMessage
		if name == "emits" && json.Unmarshal(raw, &emits) == nil {
			for i, e := range emits {
				if jsvalue.CheckJSONText(e) != nil {
					if f := invalidTextField(e); f != "" {
						return fmt.Sprintf("emits[%d].%s", i, f)
					}
					return fmt.Sprintf("emits[%d]", i)
				}
			}
		}
		return name
	}
	return ""
}

// Target is the part of a request that chooses sockets.
type Target struct {
	Namespace string   `json:"namespace,omitempty"`
	Rooms     []string `json:"rooms,omitempty"`
	Except    []string `json:"except,omitempty"`
}

// EmitRequest is the body of /v1/emit and an element of a batch.
type EmitRequest struct {
	Target
	Event    string          `json:"event"`
	Args     json.RawMessage `json:"args,omitempty"`
	Volatile bool            `json:"volatile,omitempty"`
	Compress *bool           `json:"compress,omitempty"`
}

// target returns the emitter of t, checked field by field, after the key's namespace scope.
func target(base *emitter.Emitter, key *apiauth.Key, t Target, prefix string) (*emitter.Emitter, error) {
	nsp := t.Namespace
	if nsp == "" {
		nsp = "/"
	}
	e := base.Of(nsp)
	if err := e.Err(); err != nil {
		return nil, badField(prefix+"namespace", err)
	}
	if err := key.Check("", e.Namespace()); err != nil {
		return nil, err
	}
	if e = e.To(t.Rooms...); e.Err() != nil {
		return nil, badField(prefix+"rooms", e.Err())
	}
	if e = e.Except(t.Except...); e.Err() != nil {
		return nil, badField(prefix+"except", e.Err())
	}
	return e, nil
}

// prepared is a checked emit, ready to publish.
type prepared struct {
	e     *emitter.Emitter
	event string
	args  []any
}

func parseArgs(raw json.RawMessage, field string) ([]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	args, err := jsonarg.ParseArray(raw)
	if err != nil {
		return nil, badField(field, err)
	}
	return args, nil
}

func (h *Handler) prepare(base *emitter.Emitter, key *apiauth.Key, req *EmitRequest, prefix string) (prepared, error) {
	e, err := target(base, key, req.Target, prefix)
	if err != nil {
		return prepared{}, err
	}
	if req.Volatile {
		e = e.Volatile()
	}
	if req.Compress != nil {
		e = e.Compress(*req.Compress)
	}
	args, err := parseArgs(req.Args, prefix+"args")
	if err != nil {
		return prepared{}, err
	}
	return prepared{e: e, event: req.Event, args: args}, nil
}

// emitField names the field an emitter error is about.
func emitField(err error, prefix string) error {
	switch {
	case errors.Is(err, emitter.ErrReservedEvent), errors.Is(err, emitter.ErrInvalidEvent):
		return badField(prefix+"event", err)
	case errors.Is(err, emitter.ErrUnsupportedValue), errors.Is(err, emitter.ErrTooLarge), errors.Is(err, emitter.ErrTooManyAttachments):
		return badField(prefix+"args", err)
	case errors.Is(err, emitter.ErrInvalidRoom):
		return badField(prefix+"rooms", err)
	case errors.Is(err, emitter.ErrUnsupported):
		return badField("", err)
	}
	return err
}

func (h *Handler) emit(w http.ResponseWriter, r *http.Request, key *apiauth.Key) {
	var req EmitRequest
	if err := decode(r.Body, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.prepare(h.em, key, &req, "")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if ok, wait := h.keyRate.Allow(key.Name, 1); !ok {
		apiauth.WriteRateLimited(w, "key "+key.Name, wait)
		return
	}
	rc, err := p.e.Emit(r.Context(), p.event, p.args...)
	if err != nil {
		h.writeError(w, r, emitField(err, ""))
		return
	}
	apiauth.WriteJSON(w, http.StatusOK, h.result(r, rc))
}

// BatchRequest is the body of /v1/emit/batch.
type BatchRequest struct {
	Emits []EmitRequest `json:"emits"`
}

// batch checks every emit with the dry-run emitter, then publishes them all, BatchConcurrency at a time, so
// that they share Redis round trips. A bad emit publishes nothing: 400 names it ("emits[3].event").
func (h *Handler) batch(w http.ResponseWriter, r *http.Request, key *apiauth.Key) {
	var req BatchRequest
	if err := decode(r.Body, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	n := len(req.Emits)
	if n == 0 || n > h.cfg.MaxBatch {
		h.writeError(w, r, badField("emits", fmt.Errorf("emitapi: a batch holds 1 to %d emits, not %d", h.cfg.MaxBatch, n)))
		return
	}
	if b := h.keyRate.Burst(); b > 0 && n > b {
		h.writeError(w, r, badField("emits", fmt.Errorf("emitapi: a batch of %d emits is over the key's rate-limit burst of %d: split it", n, b)))
		return
	}
	ps := make([]prepared, n)
	for i := range req.Emits {
		prefix := fmt.Sprintf("emits[%d].", i)
		dry, err := h.prepare(h.dry, key, &req.Emits[i], prefix)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if _, err := dry.e.Emit(r.Context(), dry.event, dry.args...); !errors.Is(err, errDry) {
			if err == nil {
				err = errors.New("emitapi: the dry run published nothing") // cannot happen: every emit reaches the hook
			}
			h.writeError(w, r, emitField(err, prefix))
			return
		}
		if ps[i], err = h.prepare(h.em, key, &req.Emits[i], prefix); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	if ok, wait := h.keyRate.Allow(key.Name, n); !ok {
		apiauth.WriteRateLimited(w, "key "+key.Name, wait)
		return
	}
	errs := make([]error, n)
	receivers := make([]int, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, h.cfg.BatchConcurrency) {
		wg.Go(func() {
			for i := range next {
				var rc emitter.Receipt
				rc, errs[i] = ps[i].e.Emit(r.Context(), ps[i].event, ps[i].args...)
				receivers[i] = rc.Receivers
			}
		})
	}
	for i := range ps {
		next <- i
	}
	close(next)
	wg.Wait()
	var failed []int
	var first error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, i)
			if first == nil {
				first = err
			}
		}
	}
	if first != nil {
		h.cfg.Logger.Warn("emitapi: batch partly published", "published", n-len(failed), "failed", len(failed), "err", first)
		apiauth.WriteJSON(w, http.StatusBadGateway, BatchError{Error: errPublish, Published: n - len(failed), Failed: failed})
		return
	}
	res := Result{Published: n}
	for i, rc := range receivers {
		if rc == 0 {
			res.Unreceived = append(res.Unreceived, i)
		}
	}
	if len(res.Unreceived) > 0 {
		res.Warning = noReceivers
		h.cfg.Logger.Warn("emitapi: batch published partly to no subscriber", "emits", n, "unreceived", len(res.Unreceived))
	}
	apiauth.WriteJSON(w, http.StatusOK, res)
}

// JoinRequest is the body of /v1/sockets/join.
type JoinRequest struct {
	Target
	Join []string `json:"join"`
}

// LeaveRequest is the body of /v1/sockets/leave.
type LeaveRequest struct {
	Target
	Leave []string `json:"leave"`
}

// DisconnectRequest is the body of /v1/sockets/disconnect.
type DisconnectRequest struct {
	Target
	Close bool `json:"close,omitempty"`
}

// ServerEmitRequest is the body of /v1/server-emit.
type ServerEmitRequest struct {
	Namespace string          `json:"namespace,omitempty"`
	Event     string          `json:"event"`
	Args      json.RawMessage `json:"args,omitempty"`
}

// command runs one cluster command after the key's rate limit.
func (h *Handler) command(w http.ResponseWriter, r *http.Request, key *apiauth.Key, t Target, field string,
	run func(ctx context.Context, e *emitter.Emitter) (emitter.Receipt, error)) {
	e, err := target(h.em, key, t, "")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if ok, wait := h.keyRate.Allow(key.Name, 1); !ok {
		apiauth.WriteRateLimited(w, "key "+key.Name, wait)
		return
	}
	rc, err := run(r.Context(), e)
	if err != nil {
		if errors.Is(err, emitter.ErrInvalidRoom) {
			err = badField(field, err)
		} else {
			err = emitField(err, "")
		}
		h.writeError(w, r, err)
		return
	}
	apiauth.WriteJSON(w, http.StatusOK, h.result(r, rc))
}

func (h *Handler) join(w http.ResponseWriter, r *http.Request, key *apiauth.Key) {
	var req JoinRequest
	if err := decode(r.Body, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.command(w, r, key, req.Target, "join", func(ctx context.Context, e *emitter.Emitter) (emitter.Receipt, error) {
		return e.SocketsJoin(ctx, req.Join...)
	})
}

func (h *Handler) leave(w http.ResponseWriter, r *http.Request, key *apiauth.Key) {
	var req LeaveRequest
	if err := decode(r.Body, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.command(w, r, key, req.Target, "leave", func(ctx context.Context, e *emitter.Emitter) (emitter.Receipt, error) {
		return e.SocketsLeave(ctx, req.Leave...)
	})
}

func (h *Handler) disconnect(w http.ResponseWriter, r *http.Request, key *apiauth.Key) {
	var req DisconnectRequest
	if err := decode(r.Body, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.command(w, r, key, req.Target, "", func(ctx context.Context, e *emitter.Emitter) (emitter.Receipt, error) {
		return e.DisconnectSockets(ctx, req.Close)
	})
}

func (h *Handler) serverEmit(w http.ResponseWriter, r *http.Request, key *apiauth.Key) {
	var req ServerEmitRequest
	if err := decode(r.Body, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	args, err := parseArgs(req.Args, "args")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.command(w, r, key, Target{Namespace: req.Namespace}, "", func(ctx context.Context, e *emitter.Emitter) (emitter.Receipt, error) {
		rc, err := e.ServerSideEmit(ctx, req.Event, args...)
		if errors.Is(err, emitter.ErrReservedEvent) || errors.Is(err, emitter.ErrInvalidEvent) {
			return rc, badField("event", err)
		}
		return rc, err
	})
}
