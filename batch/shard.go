package batch

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard selects one of Count disjoint parts of a collection. The zero value
// (Count 0) selects everything.
type Shard struct {
	// Index is this part, in [0, Count).
	Index int
	// Count is the number of parts; 0 or 1 means one part holding all.
	Count int
}

// ErrShard reports a malformed shard specification.
var ErrShard = errors.New("batch: invalid shard")

// ParseShard parses "i/n" (0 <= i < n), as in -shard 2/8.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("%w %q: want i/n, e.g. 0/4", ErrShard, s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("%w %q: want i/n with integers, e.g. 0/4", ErrShard, s)
	}
	sh := Shard{Index: i, Count: n}
	if n < 1 {
		return Shard{}, fmt.Errorf("%w %q: n must be at least 1", ErrShard, s)
	}
	if err := sh.Validate(); err != nil {
		return Shard{}, err
	}
	return sh, nil
}

// Validate reports whether the shard is usable.
func (s Shard) Validate() error {
	if s.Count == 0 && s.Index == 0 {
		return nil
	}
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("%w %d/%d: want 0 <= i < n (shards of %d are numbered 0 to %d)", ErrShard, s.Index, s.Count, s.Count, s.Count-1)
	}
	return nil
}

// String returns "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Has reports whether the image with relative path rel belongs to the
// shard: FNV-1a (64 bit) of rel, modulo Count, equals Index. It depends on
// rel alone, so any machine computes the same partition, and every rel
// belongs to exactly one of the shards 0/n ... n-1/n.
func (s Shard) Has(rel string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(rel))
	return h.Sum64()%uint64(s.Count) == uint64(s.Index)
}

// Filter returns the items of the shard, in their order.
func (s Shard) Filter(items []Item) []Item {
	if s.Count <= 1 {
		return items
	}
	var out []Item
	for _, it := range items {
		if s.Has(it.Rel) {
			out = append(out, it)
		}
	}
	return out
}
