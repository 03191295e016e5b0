package nets

import (
	"math/bits"
	"sync"

	"github.com/mtcnn-go/mtcnn/internal/parallel"
)

// parallelFor runs fn over the chunks of [0, n); see parallel.For.
func parallelFor(n, chunk, work int, fn func(lo, hi int)) { parallel.For(n, chunk, work, fn) }

// bufs recycles the ops' output and scratch buffers by power-of-two
// capacity class. Unlike a sync.Pool, which the garbage collector empties,
// it keeps what it holds, so steady-state runs allocate no buffers; it
// holds at most maxCachedBytes and drops what would exceed that.
var bufs struct {
	mu    sync.Mutex
	free  [40][]*[]float32
	bytes int
}

// maxCachedBytes bounds the memory bufs keeps between runs: enough for
// the largest buffers of a few concurrent passes (P-Net's first level of
// a 1080p image needs about 20 MiB).
const maxCachedBytes = 128 << 20

// getBuf returns a buffer of n floats, not cleared, as a pointer that
// putBuf takes back.
func getBuf(n int) *[]float32 {
	class := bitsLen(max(n, 1) - 1)
	bufs.mu.Lock()
	if l := bufs.free[class]; len(l) > 0 {
		p := l[len(l)-1]
		l[len(l)-1] = nil
		bufs.free[class] = l[:len(l)-1]
		bufs.bytes -= 4 * cap(*p)
		bufs.mu.Unlock()
		*p = (*p)[:n]
		return p
	}
	bufs.mu.Unlock()
	b := make([]float32, n, 1<<class)
	return &b
}

// putBuf takes back a buffer from getBuf. Nothing may use it afterwards.
func putBuf(p *[]float32) {
	c := cap(*p)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	bufs.mu.Lock()
	if bufs.bytes+4*c <= maxCachedBytes {
		bufs.free[bitsLen(c-1)] = append(bufs.free[bitsLen(c-1)], p)
		bufs.bytes += 4 * c
	}
	bufs.mu.Unlock()
}

func bitsLen(n int) int { return bits.Len(uint(n)) }
