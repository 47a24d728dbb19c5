package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/httpserve"
	"github.com/sioredis/sioredis/jsvalue"
)

// Delivery states in API answers.
const (
	// StatePublished: the message was handed to Redis (or to the local server).
	StatePublished = "published"
	// StatePending: the message is saved; the relay will publish it (Redis is slow or down).
	StatePending = "pending"
	// StateRejected: the message is saved but can never be published.
	StateRejected = "rejected"
)

// PostResult is the answer to POST /api/messages.
type PostResult struct {
	Message Message `json:"message"`
	State   string  `json:"state"`
}

// apiError is the body of every error answer: {"error": "…", "field": "body"}.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	e := apiError{Error: err.Error()}
	var fe *FieldError
	if errors.As(err, &fe) {
		e.Field = fe.Field
	}
	writeJSON(w, code, e)
}

// getConfig tells the page where messages arrive.
func (a *App) getConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"namespace": a.cfg.Namespace, "event": a.cfg.Event, "maxBodyLen": a.cfg.MaxBodyLen,
	})
}

// readPost decodes a posted message: a JSON object {"room","author","body"}, or an HTML form's fields.
func (a *App) readPost(w http.ResponseWriter, r *http.Request) (Post, int, error) {
	// Room, author and body, each escaped at worst 6 times in JSON (\u00XX) or 9 in a form (%XX of 3 bytes).
	r.Body = http.MaxBytesReader(w, r.Body, int64(9*(a.cfg.MaxBodyLen+MaxRoomLen+MaxAuthorLen)+1024))
	tooLarge := func(err error) (Post, int, error) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Post{}, http.StatusRequestEntityTooLarge, fmt.Errorf("chat: request body over %d bytes", mbe.Limit)
		}
		return Post{}, http.StatusBadRequest, fmt.Errorf("chat: %w", err)
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		ct = ""
	}
	var p Post
	switch ct {
	case "application/json":
		// The fields are kept as written and checked before decoding: encoding/json would turn bytes that are
		// not UTF-8 and lone surrogates (\ud800) into U+FFFD, and the message saved would not be the one sent.
		var raw struct {
			Room   json.RawMessage `json:"room"`
			Author json.RawMessage `json:"author"`
			Body   json.RawMessage `json:"body"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&raw); err != nil {
			return tooLarge(err)
		}
		if _, err := dec.Token(); err != io.EOF {
			if err == nil {
				err = errors.New("data after the JSON object")
			}
			return tooLarge(err)
		}
		for _, f := range []struct {
			name string
			raw  json.RawMessage
			dst  *string
		}{{"room", raw.Room, &p.Room}, {"author", raw.Author, &p.Author}, {"body", raw.Body, &p.Body}} {
			if f.raw == nil {
				continue
			}
			if err := jsvalue.CheckJSONText(f.raw); err != nil {
				return Post{}, http.StatusBadRequest, &FieldError{Field: f.name, Reason: err.Error()}
			}
			if err := json.Unmarshal(f.raw, f.dst); err != nil {
				return Post{}, http.StatusBadRequest, invalid(f.name, "%v", err)
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return tooLarge(err)
		}
		for k, v := range r.PostForm {
			if len(v) != 1 {
				return Post{}, http.StatusBadRequest, invalid(k, "given %d times", len(v))
			}
			switch k {
			case "room":
				p.Room = v[0]
			case "author":
				p.Author = v[0]
			case "body":
				p.Body = v[0]
			default:
				return Post{}, http.StatusBadRequest, invalid(k, "unknown field")
			}
		}
	default:
		return Post{}, http.StatusUnsupportedMediaType,
			fmt.Errorf("chat: Content-Type %q: send application/json or application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	}
	return p, 0, nil
}

// checkKey accepts an Idempotency-Key of 1 to MaxKeyLen printable ASCII characters.
func checkKey(key string) error {
	if len(key) > MaxKeyLen {
		return invalid("Idempotency-Key", "%d bytes, more than %d", len(key), MaxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return invalid("Idempotency-Key", "not printable ASCII")
		}
	}
	return nil
}

// postMessage saves a message, then waits up to PublishWait for the relay to publish it. Answers: 201 and
// state "published"; 202 and "pending" when not published yet (it will be); 200 with the saved message when the
// Idempotency-Key was already used for the same message; 400, 401 (with Config.Auth: no valid key or
// session), 403 (cross-site, or a key not allowed to post), 413, 415, 422 (the key was used for another message)
// or 429 (rate limit, with Retry-After) when nothing was saved; 503 with Retry-After when the database is
// unavailable (the message is not saved, or in rare cases saved without the server knowing it: sent again with
// the same Idempotency-Key, it is saved once); 500 when the database refused the message.
func (a *App) postMessage(w http.ResponseWriter, r *http.Request) {
	p, code, err := a.readPost(w, r)
	if err != nil {
		writeError(w, code, err)
		return
	}
	if !a.authorize(w, r, &p) {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if err := checkKey(key); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	m, err := newMessage(p, a.cfg.MaxBodyLen, time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	saved, created, err := a.cfg.Store.Add(r.Context(), m, key)
	if errors.Is(err, ErrKeyReused) {
		writeError(w, http.StatusUnprocessableEntity, &FieldError{Field: "Idempotency-Key",
			Reason: "already used for a message with another room, author or body; use a new key for a new message"})
		return
	}
	if errors.Is(err, ErrDatabaseUnavailable) {
		a.cfg.Logger.Warn("chat: message not saved: the database is unavailable", "err", err)
		a.unavailable(w, "chat: the database is unavailable; send the message again later (with the same Idempotency-Key, it is saved once)")
		return
	}
	if err != nil {
		a.cfg.Logger.Error("chat: message not saved", "err", err)
		writeError(w, http.StatusInternalServerError, errors.New("chat: message not saved"))
		return
	}
	if created {
		if a.saved != nil {
			a.saved.note(saved.Seq, time.Now())
		}
		a.relay.notify()
	}
	var st int
	if created {
		st = a.waitPublished(r.Context(), saved.Seq)
	} else if st, err = a.cfg.Store.state(r.Context(), saved.Seq); err != nil {
		st = statePending // it is saved: the worst case is that it is still on its way
	}
	state := stateNames[st]
	code = http.StatusOK
	switch {
	case !created:
	case state == StatePending:
		code = http.StatusAccepted
	default:
		code = http.StatusCreated
	}
	writeJSON(w, code, PostResult{Message: saved, State: state})
}

var stateNames = map[int]string{statePending: StatePending, statePublished: StatePublished, stateRejected: StateRejected}

// waitPublished waits up to PublishWait for the relay to handle the message just saved with sequence number seq
// and returns its state.
func (a *App) waitPublished(ctx context.Context, seq int64) int {
	if a.cfg.PublishWait <= 0 {
		return statePending
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PublishWait)
	defer cancel()
	return a.relay.wait(ctx, seq)
}

// History is the answer to GET /api/messages.
type History struct {
	Messages []Message `json:"messages"`
}

// unavailable answers 503 with Retry-After: the database is unavailable.
func (a *App) unavailable(w http.ResponseWriter, text string) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(a.cfg.RetryAfter.Seconds())))))
	writeError(w, http.StatusServiceUnavailable, errors.New(text))
}

// getMessages serves the history of a room: ?room=R[&before=SEQ][&limit=N], N from 1 to 200 (default 50),
// oldest first. With Config.Auth, to the same readers as the live stream (see Auth); 503 with Retry-After while
// the database is unavailable.
func (a *App) getMessages(w http.ResponseWriter, r *http.Request) {
	if !a.authorizeRead(w, r) {
		return
	}
	q := r.URL.Query()
	room := q.Get("room")
	if err := CheckRoom(room); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	num := func(name string, def, lo, hi int64) (int64, error) {
		s := q.Get(name)
		if s == "" {
			return def, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < lo || n > hi {
			return 0, invalid(name, "%q is not a number from %d to %d", s, lo, hi)
		}
		return n, nil
	}
	before, err := num("before", 0, 0, 1<<63-1)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	limit, err := num("limit", 50, 1, 200)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	msgs, err := a.cfg.Store.History(r.Context(), room, before, int(limit))
	if errors.Is(err, ErrDatabaseUnavailable) {
		a.cfg.Logger.Warn("chat: history not read: the database is unavailable", "err", err)
		a.unavailable(w, "chat: the database is unavailable; the history could not be read")
		return
	}
	if err != nil {
		a.cfg.Logger.Error("chat: history not read", "err", err)
		writeError(w, http.StatusInternalServerError, errors.New("chat: history not read"))
		return
	}
	if msgs == nil {
		msgs = []Message{}
	}
	writeJSON(w, http.StatusOK, History{Messages: msgs})
}

// Status is the answer to GET /api/status.
type Status struct {
	// Messages and Pending count the messages saved and those not published yet; absent when the database did
	// not answer.
	Messages *int `json:"messages,omitempty"`
	Pending  *int `json:"pending,omitempty"`
	// Publisher is "redis" or "local".
	Publisher string `json:"publisher"`
	// Database is "ok" when it answered, "unreachable" when it is unavailable (see ErrDatabaseUnavailable),
	// "error" when it refused the count.
	Database string `json:"database"`
	// Ready: see App.Ready (the database answers and, with Redis, the App is subscribed and Redis reachable).
	Ready bool `json:"ready"`
	// Error is the reason of a 503, without details (those are logged): "database unreachable", "database
	// error", "redis unreachable", "not subscribed to the cluster", "publishing failed".
	Error string `json:"error,omitempty"`
}

// Database states of Status.
const (
	DatabaseOK          = "ok"
	DatabaseUnreachable = "unreachable"
	DatabaseError       = "error"
)

// getStatus reports the database, the outbox and the cluster: 200 while the database answers, the relay is
// healthy and the App ready (App.Ready); 503 while the database is unavailable, the relay is retrying or Redis
// is unreachable.
func (a *App) getStatus(w http.ResponseWriter, r *http.Request) {
	st := Status{Publisher: "local", Database: DatabaseOK}
	if a.cfg.Redis != nil {
		st.Publisher = "redis"
	}
	problem := func(err error) {
		if st.Error == "" {
			st.Error = a.reason(err)
		}
	}
	if total, pending, err := a.cfg.Store.Count(r.Context()); err != nil {
		st.Database = DatabaseError
		if errors.Is(err, ErrDatabaseUnavailable) {
			st.Database = DatabaseUnreachable
		}
		problem(err)
	} else {
		st.Messages, st.Pending = &total, &pending
	}
	if err := a.relay.failing(); err != nil {
		problem(err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), pick(a.cfg.Timeouts.Ready, httpserve.DefaultReadyTimeout))
	defer cancel()
	if err := a.Ready(ctx); err != nil {
		problem(err)
	} else {
		st.Ready = true
	}
	code := http.StatusOK
	if st.Error != "" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, st)
}

// Reasons given in answers for errors whose details stay in the logs.
const (
	reasonDatabaseUnreachable = "database unreachable"
	reasonDatabaseError       = "database error"
	reasonRedisUnreachable    = "redis unreachable"
	reasonNotSubscribed       = "not subscribed to the cluster"
	reasonPublishFailed       = "publishing failed"
)

// reason returns what an answer may say of err: the kind of failure, never the driver's text, which names
// addresses and users.
func (a *App) reason(err error) string {
	if u, ok := errors.AsType[*httpserve.Unready](err); ok {
		return u.Reason
	}
	switch {
	case errors.Is(err, ErrDatabaseUnavailable):
		return reasonDatabaseUnreachable
	case isStoreError(err):
		return reasonDatabaseError
	}
	return reasonPublishFailed
}

func pick(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
