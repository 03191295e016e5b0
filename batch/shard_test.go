package batch

import (
	"errors"
	"fmt"
	"testing"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"0/3", Shard{0, 3}, true},
		{"2/3", Shard{2, 3}, true},
		{"0/1", Shard{0, 1}, true},
		{" 1 / 4 ", Shard{1, 4}, true},
		{"3/3", Shard{}, false},
		{"-1/3", Shard{}, false},
		{"1/0", Shard{}, false},
		{"0/0", Shard{}, false},
		{"x", Shard{}, false},
		{"1/x", Shard{}, false},
		{"", Shard{}, false},
		{"1/2/3", Shard{}, false},
	} {
		got, err := ParseShard(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrShard) {
			t.Errorf("ParseShard(%q): error %v does not wrap ErrShard", tc.in, err)
		}
	}
}

// TestShardsCover checks that shards 0/n..n-1/n hold every item exactly
// once, and the same one whatever the order or the other items.
func TestShardsCover(t *testing.T) {
	var items []Item
	for i := range 1000 {
		items = append(items, Item{Rel: fmt.Sprintf("folder%d/IMG_%04d.jpg", i%7, i)})
	}
	for _, n := range []int{1, 2, 3, 8} {
		count := map[string]int{}
		sizes := make([]int, n)
		for i := range n {
			sh := Shard{Index: i, Count: n}
			for _, it := range sh.Filter(items) {
				count[it.Rel]++
				sizes[i]++
			}
		}
		for _, it := range items {
			if count[it.Rel] != 1 {
				t.Fatalf("n=%d: %s in %d shards", n, it.Rel, count[it.Rel])
			}
		}
		for i, s := range sizes {
			if n > 1 && (s < 1000/n/2 || s > 2*1000/n) {
				t.Errorf("n=%d: shard %d holds %d of 1000: unbalanced", n, i, s)
			}
		}
	}
	// Zero value: everything.
	if got := (Shard{}).Filter(items); len(got) != len(items) {
		t.Errorf("zero Shard kept %d of %d", len(got), len(items))
	}
}
