// Package freelist keeps values for reuse. Unlike a sync.Pool, which the
// garbage collector empties (and the race detector drops items from at
// random), a List keeps what it holds, so a steady state that recycles
// through it allocates nothing, collections or not.
package freelist

import "sync"

// DefaultMax is how many values a List with Max 0 keeps.
const DefaultMax = 64

// List is a bounded stack of values to reuse. The zero value is ready to
// use; a List is safe for concurrent use.
type List[T any] struct {
	// Max bounds the values the list keeps (DefaultMax when 0); Put drops
	// what would exceed it.
	Max int

	mu    sync.Mutex
	items []*T
}

// Get returns a value that Put kept, or nil when there is none.
func (l *List[T]) Get() *T {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.items)
	if n == 0 {
		return nil
	}
	t := l.items[n-1]
	l.items[n-1] = nil
	l.items = l.items[:n-1]
	return t
}

// Put keeps t for a later Get unless the list is full. Nothing may use t
// afterwards.
func (l *List[T]) Put(t *T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	max := l.Max
	if max == 0 {
		max = DefaultMax
	}
	if len(l.items) < max {
		l.items = append(l.items, t)
	}
}
