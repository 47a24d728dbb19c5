package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"modernc.org/sqlite" // also the "sqlite" database/sql driver: SQLite in pure Go, no cgo
)

// Delivery states of a stored message (the "state" column).
const (
	statePending   = 0 // saved, not yet published
	statePublished = 1 // handed to Redis (or to the local server)
	stateRejected  = 2 // the publisher refused it for good; never retried
)

// schema is applied by OpenStore; every statement is idempotent.
const schema = `
CREATE TABLE IF NOT EXISTS messages (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT NOT NULL UNIQUE,
	room       TEXT NOT NULL,
	author     TEXT NOT NULL,
	body       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	idem_key   TEXT UNIQUE,
	state      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, seq);
CREATE INDEX IF NOT EXISTS messages_pending ON messages (seq) WHERE state = 0;
`

// Store keeps the messages with their delivery state: it is the outbox the relay publishes from. It is a SQLite
// database file (OpenStore), for one process, or a PostgreSQL database (OpenPostgres), shared by several
// instances of the chat. Safe for concurrent use.
//
// Concurrent Add calls share one transaction: one commit, one fsync, for all the messages posted meanwhile
// (group commit).
type Store struct {
	b backend

	mu      sync.Mutex // guards queue and leading
	queue   []*addRequest
	leading bool // an Add is committing a batch; the others wait for their turn
}

// backend is a database behind a Store.
type backend interface {
	// commitAdds saves a batch of messages in one transaction and sets each request's result.
	commitAdds(ctx context.Context, batch []*addRequest)
	history(ctx context.Context, room string, before int64, limit int) ([]Message, error)
	state(ctx context.Context, seq int64) (int, error)
	count(ctx context.Context) (total, pending int, err error)
	ping(ctx context.Context) error
	// claim waits until this process may publish the pending messages, alone, and returns its hold on them, or
	// ctx's error when ctx ends first. Each time the database answers the claim (whoever holds the outbox) it calls
	// answered(nil), and answered(err) each time it fails; answered may be nil.
	claim(ctx context.Context, answered func(error)) (outbox, error)
	// shared reports whether other processes use the database: the relay then learns from the database what
	// they published (listen).
	shared() bool
	// listen delivers what the processes sharing the database say (this one included) to on, until ctx ends
	// (nil) or the database fails.
	listen(ctx context.Context, on notifications) error
	// leave tells the other processes that this one stops (planned: its Socket.IO server is about to leave the
	// cluster).
	leave(ctx context.Context) error
	close() error
}

// notifications are what a process hears from the others sharing its database (listen).
type notifications struct {
	published func(seq int64) // every message with a sequence number ≤ seq is handled
	saved     func()          // a message was saved
	left      func(id string) // another process announced that it stops
}

// outbox is a process's hold on the pending messages: while it holds one, no other process publishes them.
type outbox interface {
	// pending returns up to limit messages not yet published, in the order they were saved.
	pending(ctx context.Context, limit int) ([]Message, error)
	// setState records the delivery state of the messages with the given sequence numbers, in one transaction.
	setState(ctx context.Context, state int, seqs []int64) error
	// release gives the hold up and tells the other processes the outbox is free (the next claim, here or in
	// another process, takes it).
	release()
}

// ErrDatabaseUnavailable reports a database that could not be reached, failed for a reason of its own
// (shutting down, starting up, out of disk or connections) or did not answer in time: the operation may succeed
// later, unchanged. The HTTP API answers 503 with Retry-After.
var ErrDatabaseUnavailable = errors.New("chat: database unavailable")

// storeError is an error of the database behind a Store. Its text carries the driver's error, with addresses
// and user names: for logs, not for answers.
type storeError struct {
	err         error
	unavailable bool // see ErrDatabaseUnavailable
}

func (e *storeError) Error() string { return "chat: store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// Is makes an unavailable database's error match ErrDatabaseUnavailable.
func (e *storeError) Is(target error) bool { return target == ErrDatabaseUnavailable && e.unavailable }

// isStoreError reports whether err came from the database.
func isStoreError(err error) bool {
	var se *storeError
	return errors.As(err, &se)
}

// sqliteError wraps an error of the SQLite file: unavailable when the file is busy, locked, read-only, full,
// cannot be opened or fails to read or write (the disk, not the statement).
func sqliteError(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	unavailable := errors.Is(err, context.DeadlineExceeded)
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 5, 6, 8, 10, 13, 14: // SQLITE_BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN
			unavailable = true
		}
	}
	return &storeError{err: err, unavailable: unavailable}
}

// sqliteStore is a SQLite database file, locked for the process that opened it.
type sqliteStore struct {
	db                                        *sql.DB
	insert, byKey, historyQ, pendingQ, stateQ *sql.Stmt
	setStateQ                                 *sql.Stmt
	lock                                      *fileLock // on the database file itself

	writeMu sync.Mutex // held by the one write transaction of the process
}

// maxBatch bounds the messages of one group commit.
const maxBatch = 256

type addRequest struct {
	m       Message
	key     string
	saved   Message
	created bool
	err     error
	turn    chan bool // receives true: commit the next batch; false: done, results set
}

// ErrLocked reports a SQLite database file already open in another process (or by another Store of this
// one), by whatever path (a symbolic or a hard link): two chats publishing from one file would each publish
// every message, and SQLite would keep two write-ahead logs of it. Use PostgreSQL (OpenPostgres) to run several
// instances.
var ErrLocked = errors.New("chat: database in use by another process")

// OpenStore opens (creating it if needed) the SQLite database at path, for this process alone: it takes an
// exclusive lock (flock) on the database file itself until Close, and fails with an error wrapping ErrLocked
// while another process holds it, whatever path that process opened it by. The database runs in WAL mode with
// full synchronous commits: a message the API answered for survives a crash of the process or of the machine.
// Keep the file on a local file system: SQLite's WAL mode needs one, and network file systems emulate flock.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("chat: empty database path")
	}
	lock, err := lockFile(path)
	if err != nil {
		return nil, fmt.Errorf("chat: open %s: %w", path, err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate") // writers take the lock at BEGIN: no deadlock between two upgrading readers
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		lock.unlock()
		return nil, fmt.Errorf("chat: open %s: %w", path, err)
	}
	s := &sqliteStore{db: db, lock: lock}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		lock.unlock()
		return nil, fmt.Errorf("chat: open %s: %w", path, err)
	}
	// The file locked must be the file SQLite opened: not one renamed over it meanwhile.
	if err := lock.same(path); err != nil {
		db.Close()
		lock.unlock()
		return nil, fmt.Errorf("chat: open %s: %w", path, err)
	}
	return &Store{b: s}, nil
}

func (s *sqliteStore) prepare(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return err
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.insert, `INSERT INTO messages (id, room, author, body, created_at, idem_key) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (idem_key) DO NOTHING RETURNING seq`},
		{&s.byKey, `SELECT ` + columns + ` FROM messages WHERE idem_key = ?`},
		{&s.historyQ, `SELECT ` + columns + ` FROM (SELECT ` + columns + ` FROM messages WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?)
			ORDER BY seq`},
		{&s.pendingQ, `SELECT ` + columns + ` FROM messages WHERE state = 0 ORDER BY seq LIMIT ?`},
		{&s.stateQ, `SELECT state FROM messages WHERE seq = ?`},
		{&s.setStateQ, `UPDATE messages SET state = ? WHERE seq = ?`},
	} {
		stmt, err := s.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return err
		}
		*p.stmt = stmt
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.b.close() }

func (s *sqliteStore) close() error {
	err := s.db.Close()
	s.lock.unlock()
	return err
}

const columns = "seq, id, room, author, body, created_at"

func scanMessages(rows *sql.Rows) ([]Message, error) {
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		if err := rows.Scan(&m.Seq, &m.ID, &m.Room, &m.Author, &m.Body, &m.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ErrKeyReused reports an idempotency key already used for a different message.
var ErrKeyReused = errors.New("chat: Idempotency-Key reused")

// Add saves a new message as pending and returns it with its sequence number. When key is not empty and a
// message was already saved with the same idempotency key, nothing is saved: Add returns that message and
// created false if it has the same room, author and body, and an error wrapping ErrKeyReused if not. Once called, the save is carried out even if ctx ends: the message is either saved or not,
// and the caller's answer says which.
func (s *Store) Add(ctx context.Context, m Message, key string) (saved Message, created bool, err error) {
	req := &addRequest{m: m, key: key, turn: make(chan bool, 1)}
	s.mu.Lock()
	s.queue = append(s.queue, req)
	lead := !s.leading
	s.leading = true
	s.mu.Unlock()
	if !lead && !<-req.turn {
		return req.saved, req.created, req.err
	}
	// This request leads: it is first in the queue. Commit a batch, then hand the lead to the next request.
	s.mu.Lock()
	n := min(len(s.queue), maxBatch)
	batch := append([]*addRequest(nil), s.queue[:n]...)
	s.queue = s.queue[n:]
	s.mu.Unlock()
	s.b.commitAdds(context.WithoutCancel(ctx), batch)
	for _, r := range batch[1:] {
		r.turn <- false
	}
	s.mu.Lock()
	if len(s.queue) > 0 {
		s.queue[0].turn <- true
	} else {
		s.leading = false
	}
	s.mu.Unlock()
	return req.saved, req.created, req.err
}

// commitAdds saves a batch of messages in one transaction and sets each request's result.
func (s *sqliteStore) commitAdds(ctx context.Context, batch []*addRequest) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	fail := func(err error) {
		for _, r := range batch {
			r.saved, r.created, r.err = Message{}, false, sqliteError(err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	insert, byKey := tx.StmtContext(ctx, s.insert), tx.StmtContext(ctx, s.byKey)
	for _, r := range batch {
		if err := s.addTx(ctx, insert, byKey, r); err != nil {
			_ = tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
	}
}

func (s *sqliteStore) addTx(ctx context.Context, insert, byKey *sql.Stmt, r *addRequest) error {
	var idem any
	if r.key != "" {
		idem = r.key
	}
	m := r.m
	err := insert.QueryRowContext(ctx, m.ID, m.Room, m.Author, m.Body, m.CreatedAt, idem).Scan(&m.Seq)
	switch {
	case err == nil:
		r.saved, r.created = m, true
		return nil
	case errors.Is(err, sql.ErrNoRows) && r.key != "":
		rows, err := byKey.QueryContext(ctx, r.key)
		if err != nil {
			return err
		}
		found, err := scanMessages(rows)
		if err != nil {
			return err
		}
		return r.existing(found)
	default:
		return err
	}
}

// existing sets the result of a request whose idempotency key was already used, from the messages found with
// that key.
func (r *addRequest) existing(found []Message) error {
	if len(found) != 1 { // the key's message cannot have gone: nothing deletes messages
		return fmt.Errorf("%d messages with idempotency key %q", len(found), r.key)
	}
	// A key is bound to its request: the same key with another room, author or body is a client's mistake, not
	// a retry, and must not be answered with the first message as if the second were saved.
	if f, m := found[0], r.m; f.Room != m.Room || f.Author != m.Author || f.Body != m.Body {
		r.err = fmt.Errorf("%w: %q was used for a message with another room, author or body", ErrKeyReused, r.key)
		return nil
	}
	r.saved = found[0]
	return nil
}

// History returns up to limit messages of room with a sequence number below before (all when before ≤ 0),
// the newest ones, oldest first.
func (s *Store) History(ctx context.Context, room string, before int64, limit int) ([]Message, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	return s.b.history(ctx, room, before, limit)
}

func (s *sqliteStore) history(ctx context.Context, room string, before int64, limit int) ([]Message, error) {
	return queryMessages(ctx, s.historyQ, room, before, limit)
}

// Pending returns up to limit messages not yet published, in the order they were saved. (It reads them without
// claiming them: the relay reads them through its outbox.)
func (s *Store) Pending(ctx context.Context, limit int) ([]Message, error) {
	ob, err := s.b.claim(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer ob.release()
	return ob.pending(ctx, limit)
}

// queryMessages runs a prepared query of messages.
func queryMessages(ctx context.Context, stmt *sql.Stmt, args ...any) ([]Message, error) {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, sqliteError(err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, sqliteError(err)
	}
	return msgs, nil
}

// setState records the delivery state of the messages with the given sequence numbers, in one transaction.
func (s *Store) setState(ctx context.Context, state int, seqs []int64) error {
	ob, err := s.b.claim(ctx, nil)
	if err != nil {
		return err
	}
	defer ob.release()
	return ob.setState(ctx, state, seqs)
}

// The SQLite file is locked for its process: the process always holds its outbox, and has nobody to tell
// anything.
func (s *sqliteStore) claim(ctx context.Context, answered func(error)) (outbox, error) { return s, nil }
func (s *sqliteStore) release()                                                        {}
func (s *sqliteStore) shared() bool                                                    { return false }
func (s *sqliteStore) leave(ctx context.Context) error                                 { return nil }
func (s *sqliteStore) listen(ctx context.Context, on notifications) error {
	<-ctx.Done()
	return nil
}

// Ping checks that the database answers, before ctx ends: an error wrapping ErrDatabaseUnavailable when it
// does not.
func (s *Store) Ping(ctx context.Context) error { return s.b.ping(ctx) }

func (s *sqliteStore) ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return &storeError{err: err, unavailable: true}
	}
	return nil
}

func (s *sqliteStore) pending(ctx context.Context, limit int) ([]Message, error) {
	return queryMessages(ctx, s.pendingQ, limit)
}

func (s *sqliteStore) setState(ctx context.Context, state int, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return sqliteError(err)
	}
	stmt := tx.StmtContext(ctx, s.setStateQ)
	for _, seq := range seqs {
		if _, err := stmt.ExecContext(ctx, state, seq); err != nil {
			_ = tx.Rollback()
			return sqliteError(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return sqliteError(err)
	}
	return nil
}

// state returns the delivery state of the message with sequence number seq.
func (s *Store) state(ctx context.Context, seq int64) (int, error) { return s.b.state(ctx, seq) }

func (s *sqliteStore) state(ctx context.Context, seq int64) (int, error) {
	var st int
	if err := s.stateQ.QueryRowContext(ctx, seq).Scan(&st); err != nil {
		return 0, sqliteError(err)
	}
	return st, nil
}

// Count returns the number of stored messages and of those still pending.
func (s *Store) Count(ctx context.Context) (total, pending int, err error) { return s.b.count(ctx) }

func (s *sqliteStore) count(ctx context.Context) (total, pending int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 0) FROM messages`).Scan(&total, &pending)
	if err != nil {
		return 0, 0, sqliteError(err)
	}
	return total, pending, nil
}
