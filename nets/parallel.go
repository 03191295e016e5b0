package nets

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelWork is the work (multiply-adds) below which a loop runs on one
// goroutine: splitting smaller ones costs more than it saves.
const parallelWork = 1 << 20

// parallelFor calls fn on consecutive chunks [lo, hi) of [0, n), each at
// most chunk long, from up to GOMAXPROCS goroutines when the loop's total
// work is large enough. Chunks are independent, so the result is the same
// however they are scheduled.
func parallelFor(n, chunk, work int, fn func(lo, hi int)) {
	chunks := (n + chunk - 1) / chunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers < 2 || work < parallelWork {
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

// bufPool recycles scratch buffers by power-of-two capacity class.
var bufPool [40]sync.Pool

func getBuf(n int) []float32 {
	if n == 0 {
		return nil
	}
	class := bitsLen(n - 1)
	if p, ok := bufPool[class].Get().(*[]float32); ok {
		return (*p)[:n]
	}
	return make([]float32, n, 1<<class)
}

func putBuf(b []float32) {
	if cap(b) == 0 || cap(b)&(cap(b)-1) != 0 {
		return
	}
	class := bitsLen(cap(b) - 1)
	b = b[:0]
	bufPool[class].Put(&b)
}

func bitsLen(n int) int { return bits.Len(uint(n)) }
