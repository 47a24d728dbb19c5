package chat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

func openTestPostgres(t *testing.T, url string, cfg PostgresConfig) *Store {
	t.Helper()
	s, err := OpenPostgres(context.Background(), url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPostgresStore: the PostgreSQL store keeps the SQLite store's API: sequence numbers in order, idempotency
// keys bound to their message, history, states; three instances opening a fresh database at once create the
// schema once.
func TestPostgresStore(t *testing.T) {
	pg := testenv.StartPostgres(t)
	ctx := context.Background()
	stores := make([]*Store, 3)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = OpenPostgres(ctx, pg.URL(), PostgresConfig{}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	s := stores[0]
	var all []Message
	for i, st := range stores {
		m, created, err := st.Add(ctx, msg("r", string(rune('a'+i))), "")
		if err != nil || !created {
			t.Fatalf("Add: %v %v", created, err)
		}
		if len(all) > 0 && m.Seq <= all[len(all)-1].Seq {
			t.Fatalf("seq %d after %d", m.Seq, all[len(all)-1].Seq)
		}
		all = append(all, m)
	}
	first, created, err := stores[1].Add(ctx, msg("r", "keyed"), "k1")
	if err != nil || !created {
		t.Fatal(created, err)
	}
	again, created, err := stores[2].Add(ctx, msg("r", "keyed"), "k1")
	if err != nil || created || again != first {
		t.Fatalf("same key again: %+v %v %v, want %+v", again, created, err, first)
	}
	if _, _, err := s.Add(ctx, msg("r", "other body"), "k1"); !errors.Is(err, ErrKeyReused) {
		t.Fatalf("key reused for another body: %v", err)
	}
	got, err := stores[2].History(ctx, "r", 0, 10)
	if err != nil || bodies(got) != "a b c keyed " {
		t.Fatalf("History: %q %v", bodies(got), err)
	}
	if got, _ := s.History(ctx, "r", first.Seq, 2); bodies(got) != "b c " {
		t.Fatalf("History before %d: %q", first.Seq, bodies(got))
	}
	if err := s.setState(ctx, statePublished, []int64{all[0].Seq, all[2].Seq}); err != nil {
		t.Fatal(err)
	}
	if err := s.setState(ctx, stateRejected, []int64{first.Seq}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Pending(ctx, 10); bodies(got) != "b " {
		t.Fatalf("Pending = %q", bodies(got))
	}
	if total, pending := count(t, stores[1]); total != 4 || pending != 1 {
		t.Fatalf("%d messages, %d pending; want 4, 1", total, pending)
	}
	if st, err := stores[2].state(ctx, first.Seq); err != nil || st != stateRejected {
		t.Fatalf("state %d %v", st, err)
	}
	// A restart finds the schema at its version and everything in it.
	again2 := openTestPostgres(t, pg.URL(), PostgresConfig{})
	if total, _ := count(t, again2); total != 4 {
		t.Fatalf("after reopen: %d messages", total)
	}
	if _, err := OpenPostgres(ctx, "postgres://nobody@127.0.0.1:1/x?connect_timeout=2", PostgresConfig{}); err == nil {
		t.Fatal("OpenPostgres on a closed port succeeded")
	}
	if _, err := OpenPostgres(ctx, "postgres://%zz", PostgresConfig{}); err == nil {
		t.Fatal("a bad URL accepted")
	}
}

// TestPostgresOutboxClaim: one instance at a time holds the outbox; when it lets go (or its connection dies with
// its process), another takes over within ClaimPoll.
func TestPostgresOutboxClaim(t *testing.T) {
	pg := testenv.StartPostgres(t)
	a := openTestPostgres(t, pg.URL(), PostgresConfig{ClaimPoll: 50 * time.Millisecond})
	b := openTestPostgres(t, pg.URL(), PostgresConfig{ClaimPoll: 50 * time.Millisecond})
	ctx := context.Background()
	held, err := a.b.claim(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if ob, err := b.b.claim(short, nil); err == nil {
		ob.release()
		t.Fatal("a second instance claimed the outbox while the first held it")
	}
	got := make(chan outbox, 1)
	go func() {
		ob, err := b.b.claim(ctx, nil)
		if err != nil {
			t.Error(err)
		}
		got <- ob
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("claimed before the holder let go")
	default:
	}
	held.release()
	select {
	case ob := <-got:
		if ob != nil {
			ob.release()
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the outbox was not taken over after its holder let go")
	}
}

// TestPostgresListenCatchesUp: an instance that starts listening (at its start, after an outage) first learns
// how far the publisher got, which no notification will tell it again: a POST saved just before it listened is
// not left waiting for a notification it missed.
func TestPostgresListenCatchesUp(t *testing.T) {
	pg := testenv.StartPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := openTestPostgres(t, pg.URL(), PostgresConfig{})
	var seqs []int64
	for _, body := range []string{"one", "two", "three"} {
		m, _, err := a.Add(ctx, msg("r", body), "")
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	if err := a.setState(ctx, statePublished, seqs[:2]); err != nil {
		t.Fatal(err)
	}
	b := openTestPostgres(t, pg.URL(), PostgresConfig{})
	got := make(chan int64, 10)
	done := make(chan error, 1)
	go func() {
		done <- b.b.listen(ctx, notifications{published: func(seq int64) { got <- seq }, saved: func() {}})
	}()
	select {
	case seq := <-got:
		if seq != seqs[1] {
			t.Fatalf("learned that messages up to %d are handled, want %d (the third is pending)", seq, seqs[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a new listener learned nothing of what was published before it listened")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSQLiteOneProcess: a second open of a SQLite file in use is refused with ErrLocked, whatever path names
// the file (itself, a symbolic link, a hard link); once the first is closed, the file opens again.
func TestSQLiteOneProcess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chat.db")
	ctx := context.Background()
	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	symlink, hardlink := filepath.Join(dir, "symlink.db"), filepath.Join(dir, "sub", "hardlink.db")
	if err := os.Symlink(path, symlink); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Dir(hardlink), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(path, hardlink); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, symlink, hardlink} {
		if other, err := OpenStore(ctx, p); !errors.Is(err, ErrLocked) {
			if err == nil {
				other.Close()
			}
			t.Errorf("second open by %s: %v, want ErrLocked", filepath.Base(p), err)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("(pid %d)", os.Getpid())) {
			t.Errorf("the refusal does not name the holder: %v", err)
		}
	}
	s.Close()
	s, err = OpenStore(ctx, hardlink)
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	s.Close()
}
