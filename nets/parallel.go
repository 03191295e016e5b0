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

// getBuf returns a buffer of n floats, not cleared, as a pointer that
// putBuf takes back (pooling the pointer, not the slice, saves an
// allocation per round trip).
func getBuf(n int) *[]float32 {
	class := bitsLen(max(n, 1) - 1)
	if p, ok := bufPool[class].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n, 1<<class)
	return &b
}

func putBuf(p *[]float32) {
	c := cap(*p)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	bufPool[bitsLen(c-1)].Put(p)
}

func bitsLen(n int) int { return bits.Len(uint(n)) }
