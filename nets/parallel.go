package nets

import (
	"math/bits"
	"sync"

	"github.com/mtcnn-go/mtcnn/internal/parallel"
)

// parallelFor runs fn over the chunks of [0, n); see parallel.For.
func parallelFor(n, chunk, work int, fn func(lo, hi int)) { parallel.For(n, chunk, work, fn) }

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
