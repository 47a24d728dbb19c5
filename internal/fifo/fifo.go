// Package fifo is a first-in, first-out queue kept in one slice whose array is reused: the slots of the values
// taken out are cleared and used again, so a queue that is filled and emptied in turns allocates nothing after
// its first values.
package fifo

// Queue is a first-in, first-out queue of T. The zero value is an empty queue. It is not safe for concurrent
// use: its owner's lock guards it.
type Queue[T any] struct {
	items []T // items[head:] are queued; the slots before head are cleared
	head  int
}

// Len returns the number of values queued.
func (q *Queue[T]) Len() int { return len(q.items) - q.head }

// Cap returns the number of values the queue's array holds.
func (q *Queue[T]) Cap() int { return cap(q.items) }

// Push queues v. When the array is full and at least half of it has been taken out, the queued values move
// down to its start rather than into a larger array, so a queue that never empties stays the size of what it
// holds.
func (q *Queue[T]) Push(v T) {
	if len(q.items) == cap(q.items) && q.head > 0 && q.head >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, v)
}

// Pop takes out the oldest value. The queue must not be empty.
func (q *Queue[T]) Pop() T {
	v := q.items[q.head]
	var zero T
	q.items[q.head] = zero
	if q.head++; q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return v
}

// Trim lets the array go when the queue is empty and the array holds more than maxCap values, so that a burst
// does not leave a large array behind.
func (q *Queue[T]) Trim(maxCap int) {
	if q.Len() == 0 && cap(q.items) > maxCap {
		q.items, q.head = nil, 0
	}
}
