package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver: SQLite in pure Go, no cgo
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

// Store keeps the messages in a SQLite database file, with their delivery state: it is the outbox the relay
// publishes from. Safe for concurrent use.
type Store struct {
	db *sql.DB
}

// OpenStore opens (creating it if needed) the SQLite database at path. The database runs in WAL mode with full
// synchronous commits: a message the API answered for survives a crash of the process or of the machine.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("chat: empty database path")
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate") // writers take the lock at BEGIN: no deadlock between two upgrading readers
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("chat: open %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("chat: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

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

// Add saves a new message as pending and returns it with its sequence number. When key is not empty and a
// message was already saved with the same idempotency key, nothing is saved: Add returns that message and
// created false.
func (s *Store) Add(ctx context.Context, m Message, key string) (saved Message, created bool, err error) {
	var idem any
	if key != "" {
		idem = key
	}
	err = s.db.QueryRowContext(ctx,
		`INSERT INTO messages (id, room, author, body, created_at, idem_key) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (idem_key) DO NOTHING RETURNING seq`,
		m.ID, m.Room, m.Author, m.Body, m.CreatedAt, idem).Scan(&m.Seq)
	switch {
	case err == nil:
		return m, true, nil
	case errors.Is(err, sql.ErrNoRows) && key != "":
		rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM messages WHERE idem_key = ?`, key)
		if err != nil {
			return Message{}, false, fmt.Errorf("chat: store: %w", err)
		}
		found, err := scanMessages(rows)
		if err != nil {
			return Message{}, false, fmt.Errorf("chat: store: %w", err)
		}
		if len(found) != 1 { // the key's message cannot have gone: nothing deletes messages
			return Message{}, false, fmt.Errorf("chat: store: %d messages with idempotency key %q", len(found), key)
		}
		return found[0], false, nil
	default:
		return Message{}, false, fmt.Errorf("chat: store: %w", err)
	}
}

// History returns up to limit messages of room with a sequence number below before (all when before ≤ 0),
// the newest ones, oldest first.
func (s *Store) History(ctx context.Context, room string, before int64, limit int) ([]Message, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+columns+` FROM (SELECT `+columns+` FROM messages WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?)
		 ORDER BY seq`, room, before, limit)
	if err != nil {
		return nil, fmt.Errorf("chat: store: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("chat: store: %w", err)
	}
	return msgs, nil
}

// Pending returns up to limit messages not yet published, in the order they were saved.
func (s *Store) Pending(ctx context.Context, limit int) ([]Message, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+columns+` FROM messages WHERE state = ? ORDER BY seq LIMIT ?`, statePending, limit)
	if err != nil {
		return nil, fmt.Errorf("chat: store: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("chat: store: %w", err)
	}
	return msgs, nil
}

// setState records the delivery state of the messages with the given sequence numbers.
func (s *Store) setState(ctx context.Context, state int, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	args := make([]any, 0, len(seqs)+1)
	args = append(args, state)
	for _, q := range seqs {
		args = append(args, q)
	}
	_, err := s.db.ExecContext(ctx,
		`UPDATE messages SET state = ? WHERE seq IN (?`+strings.Repeat(",?", len(seqs)-1)+`)`, args...)
	if err != nil {
		return fmt.Errorf("chat: store: %w", err)
	}
	return nil
}

// state returns the delivery state of the message with sequence number seq.
func (s *Store) state(ctx context.Context, seq int64) (int, error) {
	var st int
	if err := s.db.QueryRowContext(ctx, `SELECT state FROM messages WHERE seq = ?`, seq).Scan(&st); err != nil {
		return 0, fmt.Errorf("chat: store: %w", err)
	}
	return st, nil
}

// Count returns the number of stored messages and of those still pending.
func (s *Store) Count(ctx context.Context) (total, pending int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 0) FROM messages`).Scan(&total, &pending)
	if err != nil {
		return 0, 0, fmt.Errorf("chat: store: %w", err)
	}
	return total, pending, nil
}
