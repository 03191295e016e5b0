package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

// TestForConcurrentAndNested runs loops from many goroutines at once, some
// nesting a loop in each chunk: every index is still visited once and no
// caller waits on another's work.
func TestForConcurrentAndNested(t *testing.T) {
	old := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(old)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 50 + g
			seen := make([]atomic.Int32, n*n)
			For(n, 3, MinWork, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					For(n, 5, MinWork, func(lo2, hi2 int) {
						for j := lo2; j < hi2; j++ {
							seen[i*n+j].Add(1)
						}
					})
				}
			})
			for i := range seen {
				if v := seen[i].Load(); v != 1 {
					t.Errorf("goroutine %d: index %d visited %d times", g, i, v)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestHelpersExit checks that the helpers a loop starts are gone soon
// after the last loop: none outlives its spin time by much.
func TestHelpersExit(t *testing.T) {
	old := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(old)
	before := runtime.NumGoroutine()
	var helped atomic.Bool
	For(100, 1, MinWork, func(lo, hi int) {
		time.Sleep(50 * time.Microsecond)
		helped.Store(helped.Load() || alive.Load() > 0)
	})
	if !helped.Load() {
		t.Fatal("no helper started for a parallel loop")
	}
	deadline := time.Now().Add(2 * time.Second)
	for alive.Load() > 0 || runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d helpers and %d goroutines (%d before) still running", alive.Load(), runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestForAllocs checks that a parallel loop allocates nothing once its
// job is recycled: For is called per layer, many times per image.
func TestForAllocs(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	var sum atomic.Int64
	fn := func(lo, hi int) { sum.Add(int64(hi - lo)) }
	allocs := testing.AllocsPerRun(200, func() { For(64, 1, MinWork, fn) })
	if allocs != 0 {
		t.Errorf("For allocates %v objects per loop, want 0", allocs)
	}
	if got := sum.Load(); got != 201*64 {
		t.Errorf("loops covered %d indices, want %d", got, 201*64)
	}
}

// TestForRecycledJobs runs many short loops back to back from several
// goroutines, so jobs are recycled while helpers may still hold them from
// an earlier loop: a stale helper must never run a chunk twice or skip one.
func TestForRecycledJobs(t *testing.T) {
	old := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(old)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range 2000 {
				n := 1 + (it*7+g)%13
				seen := make([]atomic.Int32, n)
				For(n, 1, MinWork, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
				})
				for i := range seen {
					if v := seen[i].Load(); v != 1 {
						t.Errorf("goroutine %d loop %d: index %d of %d visited %d times", g, it, i, n, v)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// sumBody adds its chunks' lengths to total: a Loops body.
type sumBody struct{ total *atomic.Int64 }

func (b *sumBody) Run(lo, hi int) { b.total.Add(int64(hi - lo)) }

var sumLoops Loops[sumBody, *sumBody]

// TestLoopsAllocs checks that Loops runs each call's body, every index
// once, and allocates nothing in steady state, where a closure per call
// would allocate per call.
func TestLoopsAllocs(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	var a, b atomic.Int64
	sumLoops.Run(64, 1, MinWork, sumBody{&a})
	sumLoops.Run(32, 3, MinWork, sumBody{&b})
	if a.Load() != 64 || b.Load() != 32 {
		t.Fatalf("bodies covered %d and %d indices, want 64 and 32", a.Load(), b.Load())
	}
	allocs := testing.AllocsPerRun(200, func() { sumLoops.Run(64, 1, MinWork, sumBody{&a}) })
	if allocs != 0 {
		t.Errorf("Loops.Run allocates %v objects per loop, want 0", allocs)
	}
}
