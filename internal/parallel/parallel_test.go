package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		old := runtime.GOMAXPROCS(procs)
		for _, tc := range []struct{ n, chunk, work int }{
			{0, 3, MinWork}, {1, 3, MinWork}, {10, 3, MinWork}, {10, 3, 0}, {1000, 7, MinWork}, {5, 0, MinWork},
		} {
			seen := make([]atomic.Int32, tc.n)
			For(tc.n, tc.chunk, tc.work, func(lo, hi int) {
				if hi-lo > max(tc.chunk, 1) || lo >= hi {
					t.Errorf("chunk [%d, %d) for chunk size %d", lo, hi, tc.chunk)
				}
				for i := lo; i < hi; i++ {
					seen[i].Add(1)
				}
			})
			for i := range seen {
				if seen[i].Load() != 1 {
					t.Fatalf("procs %d %+v: index %d visited %d times", procs, tc, i, seen[i].Load())
				}
			}
		}
		runtime.GOMAXPROCS(old)
	}
}
