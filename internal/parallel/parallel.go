// Package parallel runs loops over independent chunks on all CPUs.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// MinWork is the work (in multiply-adds or comparable units) below which a
// loop runs on one goroutine: splitting smaller ones costs more than it
// saves.
const MinWork = 1 << 20

// For calls fn on consecutive chunks [lo, hi) of [0, n), each at most chunk
// long, from up to GOMAXPROCS goroutines when work (the loop's total cost)
// is at least MinWork, else in order on the calling goroutine. The chunks
// must be independent; fn must be safe to call concurrently.
func For(n, chunk, work int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunk = max(chunk, 1)
	chunks := (n + chunk - 1) / chunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers < 2 || work < MinWork {
		for lo := 0; lo < n; lo += chunk {
			fn(lo, min(lo+chunk, n))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1)) - 1
				if c >= chunks {
					return
				}
				lo := c * chunk
				fn(lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
}
