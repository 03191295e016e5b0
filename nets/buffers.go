package nets

import (
	"math/bits"
	"sync"

	"gorgonia.org/tensor"
)

// buffer is a recycled float32 buffer of power-of-two capacity, with the
// tensors ops last returned over it: an op whose output has the shape of
// one of them reuses it, so a steady-state run allocates no tensor headers
// either. A buffer keeps a few, because consecutive passes often differ in
// shape (a batch's last chunk, P-Net's bands and pyramid levels).
type buffer struct {
	f    []float32
	ts   [16]*tensor.Dense // over the start of f, or nil
	next int               // the slot the next new tensor replaces
}

// tensorOf returns a tensor of shape s over the start of b, reusing one of
// b's when it has that shape.
func (b *buffer) tensorOf(s shape4) *tensor.Dense {
	if i := b.find(s); i >= 0 {
		return b.ts[i]
	}
	t := newTensor(s, b.f[:s.size()])
	b.ts[b.next] = t
	b.next = (b.next + 1) % len(b.ts)
	return t
}

// find returns the slot of b's tensor of shape s, or -1.
func (b *buffer) find(s shape4) int {
	for i, t := range b.ts {
		if t != nil && s.of(t) {
			return i
		}
	}
	return -1
}

// newTensor returns a tensor of shape s over data.
func newTensor(s shape4, data []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(s.n, s.h, s.w, s.c), tensor.WithBacking(data))
}

// of reports whether t has shape s.
func (s shape4) of(t *tensor.Dense) bool {
	sh := t.Shape()
	return len(sh) == 4 && sh[0] == s.n && sh[1] == s.h && sh[2] == s.w && sh[3] == s.c
}

// bufs recycles the ops' output and scratch buffers by power-of-two
// capacity class. Unlike a sync.Pool, which the garbage collector empties,
// it keeps what it holds, so steady-state runs allocate no buffers; it
// holds at most maxCachedBytes and drops what would exceed that.
var bufs struct {
	mu    sync.Mutex
	free  [40][]*buffer
	bytes int
}

// maxCachedBytes bounds the memory bufs keeps between runs: enough for
// the largest buffers of a few concurrent passes (P-Net's first level of
// a 1080p image needs about 20 MiB).
const maxCachedBytes = 128 << 20

// getBuf returns a buffer of n floats, not cleared, which putBuf takes
// back.
func getBuf(n int) *buffer { return getBufFor(n, shape4{}) }

// getBufFor is getBuf preferring, among the free buffers of n's class, one
// whose tensor has shape s.
func getBufFor(n int, s shape4) *buffer {
	class := bitsLen(max(n, 1) - 1)
	bufs.mu.Lock()
	if l := bufs.free[class]; len(l) > 0 {
		i := len(l) - 1
		if s.n > 0 {
			for k := i; k >= 0; k-- {
				if l[k].find(s) >= 0 {
					i = k
					break
				}
			}
		}
		b := l[i]
		l[i] = l[len(l)-1]
		l[len(l)-1] = nil
		bufs.free[class] = l[:len(l)-1]
		bufs.bytes -= 4 * cap(b.f)
		bufs.mu.Unlock()
		b.f = b.f[:n]
		return b
	}
	bufs.mu.Unlock()
	return &buffer{f: make([]float32, n, 1<<class)}
}

// putBuf takes back a buffer from getBuf. Nothing may use it afterwards.
func putBuf(b *buffer) {
	c := cap(b.f)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	bufs.mu.Lock()
	if bufs.bytes+4*c <= maxCachedBytes {
		bufs.free[bitsLen(c-1)] = append(bufs.free[bitsLen(c-1)], b)
		bufs.bytes += 4 * c
	}
	bufs.mu.Unlock()
}

func bitsLen(n int) int { return bits.Len(uint(n)) }
