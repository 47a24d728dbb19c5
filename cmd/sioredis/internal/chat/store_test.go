package chat

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func msg(room, body string) Message {
	m, err := newMessage(Post{Room: room, Author: "t", Body: body}, DefaultMaxBodyLen, testTime)
	if err != nil {
		panic(err)
	}
	return m
}

func bodies(ms []Message) string {
	s := ""
	for _, m := range ms {
		s += m.Body + " "
	}
	return s
}

func TestStoreHistory(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	var seqs []int64
	for i := 1; i <= 5; i++ {
		for _, room := range []string{"a", "b"} {
			m, created, err := s.Add(ctx, msg(room, fmt.Sprintf("%s%d", room, i)), "")
			if err != nil || !created {
				t.Fatalf("Add: %v, created %v", err, created)
			}
			if room == "a" {
				seqs = append(seqs, m.Seq)
			}
		}
	}
	tests := []struct {
		before int64
		limit  int
		want   string
	}{
		{0, 100, "a1 a2 a3 a4 a5 "},
		{0, 2, "a4 a5 "},             // the newest ones, oldest first
		{seqs[3], 2, "a2 a3 "},       // the page before a4
		{seqs[0], 10, ""},            // nothing before the first
		{seqs[4] + 1, 1, "a5 "},      // before a seq that is b's
		{1 << 62, 3, "a3 a4 a5 "},    // far in the future
		{-1, 100, "a1 a2 a3 a4 a5 "}, // negative means all
	}
	for _, tt := range tests {
		got, err := s.History(ctx, "a", tt.before, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if bodies(got) != tt.want {
			t.Errorf("History(a, %d, %d) = %q, want %q", tt.before, tt.limit, bodies(got), tt.want)
		}
	}
}

func TestStoreIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	first, created, err := s.Add(ctx, msg("r", "one"), "key-1")
	if err != nil || !created {
		t.Fatalf("first Add: %v, created %v", err, created)
	}
	again, created, err := s.Add(ctx, msg("r", "one"), "key-1") // a retry: a new id and time, the same content
	if err != nil || created {
		t.Fatalf("second Add: %v, created %v", err, created)
	}
	if again != first {
		t.Fatalf("second Add returned %+v, want the first message %+v", again, first)
	}
	// The key with another message is refused, and does not fail the other messages of its group commit.
	var wg sync.WaitGroup
	var reusedErr, otherErr error
	wg.Go(func() { _, _, reusedErr = s.Add(ctx, msg("r", "one, changed"), "key-1") })
	wg.Go(func() { _, _, otherErr = s.Add(ctx, msg("r", "unrelated"), "") })
	wg.Wait()
	if !errors.Is(reusedErr, ErrKeyReused) || otherErr != nil {
		t.Fatalf("key reused for another body: %v; another message meanwhile: %v", reusedErr, otherErr)
	}
	if _, created, err := s.Add(ctx, msg("r", "two"), "key-2"); err != nil || !created {
		t.Fatalf("another key: %v, created %v", err, created)
	}
	for range 2 { // no key: never a repeat
		if _, created, err := s.Add(ctx, msg("r", "keyless"), ""); err != nil || !created {
			t.Fatalf("no key: %v, created %v", err, created)
		}
	}
	if total, _ := count(t, s); total != 5 {
		t.Fatalf("%d messages stored, want 5", total)
	}
}

// Concurrent posts of one request with one key store one message, and every caller gets it.
func TestStoreIdempotencyKeyConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	created := make([]bool, 8)
	for i := range ids {
		wg.Go(func() {
			m, c, err := s.Add(ctx, msg("r", "one body"), "same") // retries of one request
			if err != nil {
				t.Error(err)
			}
			ids[i], created[i] = m.ID, c
		})
	}
	wg.Wait()
	n := 0
	for i := range ids {
		if created[i] {
			n++
		}
		if ids[i] != ids[0] {
			t.Errorf("caller %d got message %s, caller 0 got %s", i, ids[i], ids[0])
		}
	}
	if total, _ := count(t, s); n != 1 || total != 1 {
		t.Fatalf("%d callers created, %d stored; want 1 and 1", n, total)
	}
}

func TestStorePendingAndStates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var all []Message
	for i := range 5 {
		m, _, err := s.Add(ctx, msg("r", fmt.Sprint(i)), "")
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m)
	}
	if err := s.setState(ctx, statePublished, []int64{all[0].Seq, all[2].Seq}); err != nil {
		t.Fatal(err)
	}
	if err := s.setState(ctx, stateRejected, []int64{all[3].Seq}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Pending(ctx, 10); bodies(got) != "1 4 " {
		t.Fatalf("Pending = %q, want %q", bodies(got), "1 4 ")
	}
	if got, _ := s.Pending(ctx, 1); bodies(got) != "1 " {
		t.Fatalf("Pending(1) = %q", bodies(got))
	}
	// Everything survives a reopen: messages, states, sequence numbers.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if total, pending := count(t, s); total != 5 || pending != 2 {
		t.Fatalf("after reopen: %d messages, %d pending; want 5, 2", total, pending)
	}
	for i, want := range []int{statePublished, statePending, statePublished, stateRejected, statePending} {
		if st, err := s.state(ctx, all[i].Seq); err != nil || st != want {
			t.Errorf("state of message %d = %d (%v), want %d", i, st, err, want)
		}
	}
	next, _, err := s.Add(ctx, msg("r", "5"), "")
	if err != nil || next.Seq <= all[4].Seq {
		t.Fatalf("after reopen, new seq %d (%v), want > %d", next.Seq, err, all[4].Seq)
	}
	got, err := s.History(ctx, "r", 0, 10)
	if err != nil || len(got) != 6 || got[2] != all[2] {
		t.Fatalf("History after reopen: %+v, %v", got, err)
	}
}

func TestOpenStoreErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := OpenStore(ctx, ""); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := OpenStore(ctx, filepath.Join(t.TempDir(), "missing-dir", "chat.db")); err == nil {
		t.Error("a path in a missing directory accepted")
	}
}

// Concurrent Adds (committed together in batches) each get their own message and sequence number, and a
// failed batch fails every Add in it without saving anything.
func TestStoreGroupCommit(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	const n = 300 // more than one batch
	seqs := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m, created, err := s.Add(ctx, msg("r", fmt.Sprint(i)), "")
			if err != nil || !created {
				t.Errorf("Add %d: %v, created %v", i, err, created)
			}
			if m.Body != fmt.Sprint(i) {
				t.Errorf("Add %d returned message %q", i, m.Body)
			}
			seqs[i] = m.Seq
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, q := range seqs {
		if q <= 0 || seen[q] {
			t.Fatalf("sequence numbers %v: %d repeated or missing", seqs, q)
		}
		seen[q] = true
	}
	pending, err := s.Pending(ctx, 2*n)
	if err != nil || len(pending) != n {
		t.Fatalf("Pending: %d, %v", len(pending), err)
	}

	// Two messages with the same id in one batch: the second insert fails, so neither is saved.
	dup := msg("r", "dup")
	var errs [2]error
	s.mu.Lock() // hold the queue so that both Adds land in one batch
	s.leading = true
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = s.Add(ctx, dup, "") })
	}
	for {
		if len(s.queue) == 2 {
			break
		}
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
	s.queue[0].turn <- true
	s.mu.Unlock()
	wg.Wait()
	if errs[0] == nil || errs[1] == nil {
		t.Fatalf("errors %v; want both Adds of one failed batch to fail", errs)
	}
	if total, _ := count(t, s); total != n {
		t.Fatalf("%d messages after a failed batch, want %d", total, n)
	}
}
