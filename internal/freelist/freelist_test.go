package freelist

import (
	"sync"
	"testing"
)

func TestList(t *testing.T) {
	for _, tc := range []struct{ max, put, keep int }{
		{0, 3, 3}, {0, DefaultMax + 5, DefaultMax}, {2, 5, 2}, {1, 0, 0},
	} {
		l := List[int]{Max: tc.max}
		vals := make([]int, tc.put)
		for i := range vals {
			l.Put(&vals[i])
		}
		seen := map[*int]bool{}
		for {
			p := l.Get()
			if p == nil {
				break
			}
			if seen[p] {
				t.Fatalf("max %d: %p returned twice", tc.max, p)
			}
			seen[p] = true
		}
		if len(seen) != tc.keep {
			t.Errorf("max %d, %d put: %d kept, want %d", tc.max, tc.put, len(seen), tc.keep)
		}
	}
}

// TestListAllocs checks that recycling through a grown List allocates
// nothing.
func TestListAllocs(t *testing.T) {
	var l List[[64]byte]
	l.Put(new([64]byte))
	if a := testing.AllocsPerRun(100, func() { l.Put(l.Get()) }); a != 0 {
		t.Errorf("Get and Put allocate %v times", a)
	}
}

func TestListConcurrent(t *testing.T) {
	var l List[int]
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				p := l.Get()
				if p == nil {
					p = new(int)
				}
				*p = g*1000 + i
				l.Put(p)
			}
		}()
	}
	wg.Wait()
}
