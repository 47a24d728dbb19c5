package fifo

import "testing"

func TestQueue(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pushes  int // values pushed before each pop
		rounds  int
		maxCap  int // the array may not grow past this
		wantLen int
	}{
		{"filled then emptied", 5, 1, 8, 5},
		{"one in, one out, never empty", 1, 10000, 4, 1},
		{"two in, one out", 2, 100, 256, 101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q Queue[int]
			next, want := 0, 0
			q.Push(next)
			next++
			for range tc.rounds {
				for range tc.pushes {
					q.Push(next)
					next++
				}
				if got := q.Pop(); got != want {
					t.Fatalf("Pop = %d, want %d (first in, first out)", got, want)
				}
				want++
				if q.Cap() > tc.maxCap {
					t.Fatalf("the array grew to %d with %d values queued", q.Cap(), q.Len())
				}
			}
			if q.Len() != tc.wantLen {
				t.Errorf("Len = %d, want %d", q.Len(), tc.wantLen)
			}
			for q.Len() > 0 {
				if got := q.Pop(); got != want {
					t.Fatalf("Pop = %d, want %d", got, want)
				}
				want++
			}
			if want != next {
				t.Errorf("%d values came out of %d pushed", want, next)
			}
		})
	}
}

func TestPopClearsAndTrim(t *testing.T) {
	var q Queue[*int]
	for range 10 {
		q.Push(new(int))
	}
	q.Pop()
	if q.items[0] != nil {
		t.Error("a popped slot still refers to its value")
	}
	for q.Len() > 0 {
		q.Pop()
	}
	c := q.Cap()
	q.Trim(c)
	if q.Cap() != c {
		t.Errorf("Trim(%d) let an array of %d go", c, c)
	}
	q.Trim(c - 1)
	if q.Cap() != 0 {
		t.Errorf("Trim(%d) kept an array of %d", c-1, q.Cap())
	}
	q.Push(new(int))
	q.Trim(0)
	if q.Len() != 1 {
		t.Error("Trim emptied a queue that holds a value")
	}
}
