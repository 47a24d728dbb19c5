package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The PostgreSQL schema, by version: migrate applies the ones a database lacks, in order, each in the
// transaction that records it.
var pgMigrations = []string{
	1: `
CREATE TABLE chat_messages (
	seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	room       TEXT NOT NULL,
	author     TEXT NOT NULL,
	body       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	idem_key   TEXT UNIQUE,
	state      SMALLINT NOT NULL DEFAULT 0
);
CREATE INDEX chat_messages_by_room ON chat_messages (room, seq);
CREATE INDEX chat_messages_pending ON chat_messages (seq) WHERE state = 0;
`,
}

// Advisory lock keys (one 64-bit space per database): the schema migration, the serialization of inserts, and
// the outbox's publisher.
const (
	pgLockMigrate = 0x5ea0_c4a7_0000_0001
	pgLockInsert  = 0x5ea0_c4a7_0000_0002
	pgLockOutbox  = 0x5ea0_c4a7_0000_0003
)

// pgChannel is the LISTEN/NOTIFY channel of the instances. Its payloads: "saved" when a message was saved; the
// sequence number handled so far when the publisher marked a batch; "free" when the publisher let the outbox go
// (the others claim it at once); "left ID" when the instance ID stops on purpose (SIGTERM), before its Socket.IO
// server leaves the cluster. An instance ignores the payloads it does not know: older ones ignore "free" and
// "left".
const pgChannel = "sioredis_chat"

// Payloads of pgChannel besides sequence numbers.
const (
	pgSaved = "saved"
	pgFree  = "free"
	pgLeft  = "left " // + the instance's id
)

// PostgresConfig configures OpenPostgres.
type PostgresConfig struct {
	// ClaimPoll is how often an instance that is not the outbox's publisher tries to become it, and how often
	// it tries to reach the database again after failing to: the longest the messages wait after the
	// publisher's process dies (its connection closes, so PostgreSQL releases its lock at once; a publisher whose
	// machine vanishes holds it until PostgreSQL's TCP keepalive gives up on the connection). A publisher that
	// stops on purpose lets the outbox go and says so, and another instance takes it within milliseconds.
	// Default 1 s.
	ClaimPoll time.Duration
	// Timeout bounds each operation on the database (a save, a read, a connection): past it the operation
	// fails as unavailable (ErrDatabaseUnavailable), so that a database that stopped answering gets 503s
	// rather than requests that hang. Default 10 s.
	Timeout time.Duration
}

// pgStore is a PostgreSQL database shared by several instances.
//
// Every instance saves messages; one instance at a time publishes them: the one holding the outbox's advisory
// lock (pg_try_advisory_lock) on a connection of its own, which it also reads and marks the messages through, so
// that an instance that lost its connection (and so the lock) cannot mark anything more. Inserts are serialized
// by a transaction-scoped advisory lock, so sequence numbers become visible in order: a publisher that has seen
// message n has seen every message before it.
type pgStore struct {
	url       string
	pool      *pgxpool.Pool
	claimPoll time.Duration
	timeout   time.Duration
	id        string        // this instance's, in "left" notifications
	retry     chan struct{} // capacity 1: a reason for claim to try again now (see wake)
	failing   atomic.Bool   // claim's last try failed on the database
}

// wake makes a waiting claim try again at once: the publisher let the outbox go, or the database answered again.
func (s *pgStore) wake() {
	select {
	case s.retry <- struct{}{}:
	default:
	}
}

// pgError wraps an error of PostgreSQL: unavailable unless the server answered with an error about the
// statement itself (a constraint, a type, a missing table...). Errors of connection (class 08), of resources
// (53), of an operator's intervention such as a shutdown or a start (57) and of the system (58) are
// unavailable, as are every error of the network and every timeout.
func pgError(err error) error {
	if err == nil {
		return nil
	}
	unavailable := true
	var pe *pgconn.PgError
	if errors.As(err, &pe) && len(pe.Code) == 5 {
		switch pe.Code[:2] {
		case "08", "53", "57", "58":
		default:
			var ce *pgconn.ConnectError
			unavailable = errors.As(err, &ce) // the server refused the connection: its database is gone, or full
		}
	}
	return &storeError{err: err, unavailable: unavailable}
}

// bound returns ctx bounded by the store's Timeout.
func (s *pgStore) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// OpenPostgres connects to the PostgreSQL database at url (postgres://user:password@host:port/db?sslmode=…, or
// any form pgx accepts) and creates or migrates the schema (table chat_messages). Any number of processes may
// open the same database: each saves messages, and one at a time publishes them (see Store).
func OpenPostgres(ctx context.Context, url string, cfg PostgresConfig) (*Store, error) {
	if cfg.ClaimPoll <= 0 {
		cfg.ClaimPoll = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("chat: PostgreSQL URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("chat: PostgreSQL: %w", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	s := &pgStore{url: url, pool: pool, claimPoll: cfg.ClaimPoll, timeout: cfg.Timeout, id: hex.EncodeToString(id[:]),
		retry: make(chan struct{}, 1)}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("chat: PostgreSQL schema: %w", err)
	}
	return &Store{b: s}, nil
}

// migrate applies the migrations the database lacks, under an advisory lock: instances starting together
// migrate once.
func (s *pgStore) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgLockMigrate)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS chat_schema (version INTEGER NOT NULL)`); err != nil {
			return err
		}
		var version int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM chat_schema`).Scan(&version); err != nil {
			return err
		}
		if version >= len(pgMigrations) {
			return nil
		}
		for v := version + 1; v < len(pgMigrations); v++ {
			if _, err := tx.Exec(ctx, pgMigrations[v]); err != nil {
				return fmt.Errorf("version %d: %w", v, err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM chat_schema`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO chat_schema (version) VALUES ($1)`, len(pgMigrations)-1)
		return err
	})
}

func (s *pgStore) close() error {
	s.pool.Close()
	return nil
}

const pgColumns = "seq, id, room, author, body, created_at"

func scanPgMessages(rows pgx.Rows) ([]Message, error) {
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

func (s *pgStore) commitAdds(ctx context.Context, batch []*addRequest) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One inserting transaction at a time in the whole database: sequence numbers are drawn and committed in
		// order, so the publisher never sees message n+1 before message n.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgLockInsert)); err != nil {
			return err
		}
		for _, r := range batch {
			var idem any
			if r.key != "" {
				idem = r.key
			}
			m := r.m
			err := tx.QueryRow(ctx, `INSERT INTO chat_messages (id, room, author, body, created_at, idem_key) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (idem_key) DO NOTHING RETURNING seq`, m.ID, m.Room, m.Author, m.Body, m.CreatedAt, idem).Scan(&m.Seq)
			switch {
			case err == nil:
				r.saved, r.created = m, true
			case errors.Is(err, pgx.ErrNoRows) && r.key != "":
				rows, err := tx.Query(ctx, `SELECT `+pgColumns+` FROM chat_messages WHERE idem_key = $1`, r.key)
				if err != nil {
					return err
				}
				found, err := scanPgMessages(rows)
				if err != nil {
					return err
				}
				if err := r.existing(found); err != nil {
					return err
				}
			default:
				return err
			}
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, pgChannel, pgSaved) // delivered at commit
		return err
	})
	if err != nil {
		for _, r := range batch {
			r.saved, r.created, r.err = Message{}, false, pgError(err)
		}
	}
}

func (s *pgStore) history(ctx context.Context, room string, before int64, limit int) ([]Message, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+pgColumns+` FROM (SELECT `+pgColumns+` FROM chat_messages
		WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3) AS newest ORDER BY seq`, room, before, limit)
	if err != nil {
		return nil, pgError(err)
	}
	msgs, err := scanPgMessages(rows)
	if err != nil {
		return nil, pgError(err)
	}
	return msgs, nil
}

func (s *pgStore) state(ctx context.Context, seq int64) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var st int
	if err := s.pool.QueryRow(ctx, `SELECT state FROM chat_messages WHERE seq = $1`, seq).Scan(&st); err != nil {
		return 0, pgError(err)
	}
	return st, nil
}

func (s *pgStore) count(ctx context.Context) (total, pending int, err error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err = s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 0) FROM chat_messages`).Scan(&total, &pending)
	if err != nil {
		return 0, 0, pgError(err)
	}
	return total, pending, nil
}

// ping also wakes a claim that failed on the database when it answers again (a readiness probe), so that the
// relay's failure clears at once rather than at its next ClaimPoll.
func (s *pgStore) ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.pool.Ping(ctx)
	if err == nil && s.failing.Load() {
		s.wake()
	}
	return pgError(err)
}

func (s *pgStore) shared() bool { return true }

// claim takes the outbox's advisory lock on a connection of its own, trying again every ClaimPoll, or at once
// when the publisher says it let the outbox go or the database answers a ping again, while another instance
// holds it or the database fails.
func (s *pgStore) claim(ctx context.Context, answered func(error)) (outbox, error) {
	if answered == nil {
		answered = func(error) {}
	}
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for {
		err := func() error {
			ctx, cancel := s.bound(ctx)
			defer cancel()
			if conn == nil {
				c, err := pgx.Connect(ctx, s.url)
				if err != nil {
					return err
				}
				conn = c
			}
			var ok bool
			if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(pgLockOutbox)).Scan(&ok); err != nil {
				conn.Close(context.Background())
				conn = nil
				return err
			}
			if ok {
				return nil
			}
			return errHeld
		}()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.failing.Store(err != nil && !errors.Is(err, errHeld))
		switch {
		case err == nil:
			answered(nil)
			ob := &pgOutbox{conn: conn, timeout: s.timeout}
			conn = nil
			return ob, nil
		case errors.Is(err, errHeld):
			answered(nil)
		default:
			answered(pgError(err))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.retry:
		case <-time.After(s.claimPoll):
		}
	}
}

// errHeld: another instance holds the outbox.
var errHeld = errors.New("chat: the outbox is held by another instance")

// leave tells the other instances that this one stops.
func (s *pgStore) leave(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, pgChannel, pgLeft+s.id)
	return pgError(err)
}

// pgOutbox is the connection holding the outbox's lock. The relay's goroutine only.
type pgOutbox struct {
	conn    *pgx.Conn
	timeout time.Duration
}

// pending reads the pending messages. The end of ctx does not cut the query short: pgx would close the
// connection, and release could not let the outbox go and say so; the store's Timeout bounds it.
func (o *pgOutbox) pending(ctx context.Context, limit int) ([]Message, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.timeout)
	defer cancel()
	rows, err := o.conn.Query(ctx, `SELECT `+pgColumns+` FROM chat_messages WHERE state = 0 ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, pgError(err)
	}
	msgs, err := scanPgMessages(rows)
	if err != nil {
		return nil, pgError(err)
	}
	return msgs, nil
}

// setState marks the messages and tells the other instances how far the publisher got, in one transaction on
// the lock's connection.
func (o *pgOutbox) setState(ctx context.Context, state int, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, o.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE chat_messages SET state = $1 WHERE seq = ANY($2)`, state, seqs); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, pgChannel, strconv.FormatInt(slicesMax(seqs), 10))
		return err
	})
	return pgError(err)
}

func slicesMax(s []int64) int64 {
	m := s[0]
	for _, v := range s[1:] {
		m = max(m, v)
	}
	return m
}

// release lets the lock go and says so ("free", which the other instances wait for to claim it at once), then
// closes the connection; PostgreSQL releases the lock with the session anyway, if the connection is broken.
func (o *pgOutbox) release() {
	ctx, cancel := context.WithTimeout(context.Background(), min(o.timeout, 5*time.Second))
	defer cancel()
	// One statement: the lock is free when the notification is delivered (at the statement's commit).
	_, _ = o.conn.Exec(ctx, `SELECT pg_advisory_unlock($1), pg_notify($2, $3)`, int64(pgLockOutbox), pgChannel, pgFree)
	_ = o.conn.Close(ctx)
}

// listen holds a LISTEN connection until ctx ends or the connection fails.
func (s *pgStore) listen(ctx context.Context, on notifications) error {
	var handled int64
	conn, err := func() (*pgx.Conn, error) {
		ctx, cancel := s.bound(ctx)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.url)
		if err != nil {
			return nil, err
		}
		if _, err := conn.Exec(ctx, `LISTEN `+pgChannel); err != nil {
			conn.Close(context.Background())
			return nil, err
		}
		// What was handled while this instance was not listening (its start, an outage): every message before
		// the oldest pending one, or every message when none is pending.
		if err := conn.QueryRow(ctx, `SELECT coalesce((SELECT min(seq) FROM chat_messages WHERE state = 0) - 1,
			(SELECT max(seq) FROM chat_messages), 0)`).Scan(&handled); err != nil {
			conn.Close(context.Background())
			return nil, err
		}
		return conn, nil
	}()
	if err != nil {
		return pgError(err)
	}
	defer conn.Close(context.Background())
	on.published(handled)
	on.saved() // messages may have been saved while this instance was not listening
	for {
		n, err := conn.WaitForNotification(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return pgError(err)
		}
		switch p := n.Payload; {
		case p == pgSaved:
			on.saved()
		case p == pgFree:
			s.wake()
		case strings.HasPrefix(p, pgLeft):
			if id := p[len(pgLeft):]; id != s.id && on.left != nil {
				on.left(id)
			}
		default:
			if seq, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64); err == nil {
				on.published(seq)
			}
		}
	}
}
